package ldap

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// record is one directory entry reduced to what the source needs. Users
// and groups share it so the watcher can keep one map keyed by id.
type record struct {
	id      string
	dn      string
	ndn     string // normalised DN, for matching member values
	isGroup bool
	// chained is set in in_chain mode once chainUsers holds every user
	// below the group (normalised DNs); members still hold the direct
	// values, which the watcher's tracker needs to name parent groups.
	// (Next to isGroup: the two bools share a word; a record is 176
	// bytes, for each of a tracker's 110,000 entries.)
	chained bool
	// users
	name string // UserNameAttribute (memberUid matching)
	// user is what a snapshot lists. The tracker lets it go (sum is all
	// it needs to tell a change) unless it keeps users, which then point
	// into the last snapshot's array (tracker.shareUsers).
	// (A pointer: held in the record, it made every record, groups too,
	// 80 bytes larger.)
	user *sources.DirUser
	sum  userSum
	// groups
	groupName  string
	members    []string // raw member values: normalised DNs or user names
	chainUsers []string // see chained
	// entry is the decoded entry, kept so a DirSync delta (changed
	// attributes only) can be merged into it. Full reads drop it.
	entry *goldap.Entry
	// stamp is the later of modifyTimestamp and createTimestamp, when
	// read: the poller's high-water mark.
	stamp string
}

// decoder turns entries into records according to the configuration.
type decoder struct{ cfg *Config }

func (d decoder) attributes() []string {
	c := d.cfg
	attrs := []string{"objectClass", "modifyTimestamp", "createTimestamp", c.IDAttribute, c.UserNameAttribute, c.DisplayNameAttribute, c.GroupNameAttribute}
	attrs = append(attrs, c.EmailAttributes...)
	attrs = append(attrs, c.MemberAttributes...)
	switch c.Disabled {
	case DisabledAD:
		attrs = append(attrs, "userAccountControl")
	case DisabledAttribute:
		attrs = append(attrs, c.DisabledAttribute)
	}
	return attrs
}

func hasAnyFold(values, want []string) bool {
	for _, v := range values {
		for _, w := range want {
			if strings.EqualFold(v, w) {
				return true
			}
		}
	}
	return false
}

// isGroup classifies by objectClass; entries without objectClass (a
// DirSync delta) return ok false.
func (d decoder) classify(e *goldap.Entry) (group, ok bool) {
	oc := attrValues(e, "objectClass")
	if len(oc) == 0 {
		return false, false
	}
	if hasAnyFold(oc, d.cfg.GroupObjectClasses) {
		return true, true
	}
	if hasAnyFold(oc, d.cfg.UserObjectClasses) {
		return false, true
	}
	return false, false
}

// entryID reads the stable id; objectGUID is binary and becomes the
// canonical GUID string.
func (d decoder) entryID(e *goldap.Entry) (string, error) {
	if strings.EqualFold(d.cfg.IDAttribute, "objectGUID") {
		raw := e.GetRawAttributeValue(d.cfg.IDAttribute)
		if len(raw) == 0 {
			return "", fmt.Errorf("entry %q has no objectGUID", e.DN)
		}
		return guidString(raw)
	}
	id := attrValue(e, d.cfg.IDAttribute)
	if id == "" {
		return "", fmt.Errorf("entry %q has no %s (is it readable by the bind DN?)", e.DN, d.cfg.IDAttribute)
	}
	return strings.ToLower(id), nil
}

// guidString formats a 16-byte Microsoft GUID (first three fields little
// endian) as the canonical 8-4-4-4-12 string AD tools show.
func guidString(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16]), nil
}

// guidBytes is the inverse of guidString, for filters on objectGUID.
func guidBytes(s string) ([]byte, error) {
	hex := strings.ReplaceAll(s, "-", "")
	if len(hex) != 32 {
		return nil, fmt.Errorf("%q is not a GUID", s)
	}
	raw := make([]byte, 16)
	for i := range raw {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%q is not a GUID", s)
		}
		raw[i] = byte(v)
	}
	le := func(b []byte) {
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
	}
	le(raw[0:4])
	le(raw[4:6])
	le(raw[6:8])
	return raw, nil
}

// idFilter is an escaped equality filter on the id attribute.
func (d decoder) idFilter(id string) (string, error) {
	if strings.EqualFold(d.cfg.IDAttribute, "objectGUID") {
		raw, err := guidBytes(id)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, c := range raw {
			fmt.Fprintf(&b, "\\%02x", c)
		}
		return "(" + d.cfg.IDAttribute + "=" + b.String() + ")", nil
	}
	return "(" + d.cfg.IDAttribute + "=" + goldap.EscapeFilter(id) + ")", nil
}

// normDN makes DNs comparable; see sources.NormalizeDN.
func normDN(dn string) string { return sources.NormalizeDN(dn) }

// underDN reports whether the normalised DN n is nbase or below it.
func underDN(n, nbase string) bool { return sources.WithinDN(n, nbase) }

// decode builds a record; members come from attrs (which may hold the
// merged result of range retrieval).
func (d decoder) decode(e *goldap.Entry, group bool) (*record, error) {
	id, err := d.entryID(e)
	if err != nil {
		return nil, err
	}
	r := &record{id: id, dn: e.DN, ndn: normDN(e.DN), isGroup: group, entry: e, stamp: timestamp(e)}
	if group {
		r.groupName = attrValue(e, d.cfg.GroupNameAttribute)
		if r.groupName == "" {
			r.groupName = e.DN
		}
		n := 0
		for _, a := range e.Attributes {
			for _, m := range d.cfg.MemberAttributes {
				if strings.EqualFold(a.Name, m) {
					n += len(a.Values)
				}
			}
		}
		if n > 0 {
			r.members = make([]string, 0, n) // exact: a tracker keeps 500,000 of them
		}
		for _, a := range d.cfg.MemberAttributes {
			for _, v := range attrValues(e, a) {
				r.members = append(r.members, d.memberKey(v))
			}
		}
		return r, nil
	}
	r.name = ident.ASCIIKey(attrValue(e, d.cfg.UserNameAttribute))
	u := sources.DirUser{ID: id, DN: e.DN, DisplayName: attrValue(e, d.cfg.DisplayNameAttribute)}
	for _, a := range d.cfg.EmailAttributes {
		for _, v := range attrValues(e, a) {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if u.Email == "" {
				u.Email = v
			} else if !ident.SameEmail(v, u.Email) {
				u.AltEmails = append(u.AltEmails, v)
			}
		}
	}
	u.Disabled, err = d.disabled(e)
	if err != nil {
		return nil, err
	}
	r.setUser(u)
	return r, nil
}

// setUser sets the record's user and its sum.
func (r *record) setUser(u sources.DirUser) {
	r.user, r.sum = &u, sumUser(&u)
}

// userSum stands for a user's fields in the tracker, which needs to know
// only whether a user changed, not how: the fields of 100,000 users were
// a fifth of the tracker's memory. Two different users summing the same
// (a 2⁻⁶⁴ chance) would cost one change's trigger, which the next full
// reconciliation makes up for.
type userSum uint64

var userSumSeed = maphash.MakeSeed()

func sumUser(u *sources.DirUser) userSum {
	var h maphash.Hash
	h.SetSeed(userSumSeed)
	field := func(s string) { // length first, so fields cannot run into each other
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.WriteString(s)
	}
	field(u.ID)
	field(u.DN)
	field(u.Email)
	field(u.DisplayName)
	if u.Disabled {
		field("disabled")
	} else {
		field("")
	}
	for _, a := range u.AltEmails {
		field(a)
	}
	return userSum(h.Sum64())
}

// memberKey is how a member value is matched against users and groups.
func (d decoder) memberKey(v string) string {
	if d.cfg.MemberValue == MemberValueUID {
		return ident.ASCIIKey(v)
	}
	return normDN(v)
}

func (d decoder) disabled(e *goldap.Entry) (bool, error) {
	switch d.cfg.Disabled {
	case DisabledAD:
		v := attrValue(e, "userAccountControl")
		if v == "" {
			return false, nil
		}
		uac, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false, fmt.Errorf("entry %q: userAccountControl %q is not a number", e.DN, v)
		}
		return uac&2 != 0, nil
	case DisabledAttribute:
		return hasAnyFold(attrValues(e, d.cfg.DisabledAttribute), d.cfg.DisabledValues), nil
	}
	return false, nil
}

// attrValues collects the values of every attribute named name (case
// insensitive): an entry may list one attribute more than once (slapadd
// keeps non-adjacent LDIF lines apart), and go-ldap's getters only see
// the first.
func attrValues(e *goldap.Entry, name string) []string {
	var out []string
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) {
			out = append(out, a.Values...)
		}
	}
	return out
}

func attrValue(e *goldap.Entry, name string) string {
	if v := attrValues(e, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// timestamp is the later of an entry's modifyTimestamp and createTimestamp
// (GeneralizedTime in one format compares as a string), or "".
func timestamp(e *goldap.Entry) string {
	m, c := e.GetAttributeValue("modifyTimestamp"), e.GetAttributeValue("createTimestamp")
	return max(m, c)
}
