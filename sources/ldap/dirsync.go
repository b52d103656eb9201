package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// dirSyncer is the part of *ldap.Conn DirSync needs. slapd has no DirSync,
// so tests replay recorded Active Directory responses through it.
type dirSyncer interface {
	searcher // reads the members of a group sent in part (rereadMembers)
	DirSync(req *goldap.SearchRequest, flags, maxAttrCount int64, cookie []byte) (*goldap.SearchResult, error)
	Close() error
}

// dirSyncFlags asks for object security semantics (readable by a
// non-admin bind with "Replicating Directory Changes") and incremental
// values: a change to a big group sends the member values that changed,
// not the whole list (memberDelta). go-ldap encodes the flags as a 4-byte
// INTEGER, which AD and Samba read as unsigned.
const dirSyncFlags = goldap.DirSyncObjectSecurity | goldap.DirSyncIncrementalValues

// plainDirSyncFlags are asked for instead when a server refuses
// incremental values (some do, with unavailableCriticalExtension).
const plainDirSyncFlags = goldap.DirSyncObjectSecurity

// dirSyncAttrs are asked for besides the decoder's. AD reports a rename
// or a move only as a change of "name" (the RDN value; it never returns
// cn in a delta), so without it a renamed group, or a user moved out of
// the user base, is not reported until the next full read.
// A deleted entry's tombstone keeps objectClass and lastKnownParent but
// loses objectCategory, which the preset's user filter asks for:
// dirSyncFilter selects tombstones by class apart.
var dirSyncAttrs = []string{"isDeleted", "objectGUID", "name", "lastKnownParent"}

// dirSyncFilter is the watch filter plus the tombstones of users and
// groups, which no longer match it.
func (s *Source) dirSyncFilter() string {
	classes := classFilter(slices.Concat(s.cfg.UserObjectClasses, s.cfg.GroupObjectClasses))
	return "(|" + s.watchFilter() + "(&(isDeleted=TRUE)" + classes + "))"
}

// maxDirSyncRounds bounds the "more data" loop of one poll.
const maxDirSyncRounds = 1000

func (w *dirSyncWatcher) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
		w.s.metrics.connected.WithLabelValues(w.s.cfg.Name).Set(0)
	}
}

func (w *dirSyncWatcher) open(ctx context.Context) error {
	if w.conn != nil {
		return nil
	}
	if w.s.dirSyncOpen != nil {
		w.conn = w.s.dirSyncOpen()
	} else {
		c, err := w.s.dial(ctx, true)
		if err != nil {
			return err
		}
		w.conn = c
	}
	w.s.metrics.connected.WithLabelValues(w.s.cfg.Name).Set(1)
	return nil
}

// poll asks for changes until the server says there is no more data.
func (w *dirSyncWatcher) poll(ctx context.Context) error {
	if err := w.open(ctx); err != nil {
		return err
	}
	s := w.s
	initial := w.tr.empty() && w.cookie == nil
	if initial {
		w.fullRead()
	}
	for round := 0; round < maxDirSyncRounds; round++ {
		s.share.alive() // a Snapshot may wait for this poll's full read
		attrs := append(s.dec.attributes(), dirSyncAttrs...)
		req := goldap.NewSearchRequest(s.watchBase(), goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			s.dirSyncFilter(), attrs, nil)
		fresh := w.cookie == nil
		res, err := w.conn.DirSync(req, w.flags, 0, w.cookie)
		s.metrics.searches.WithLabelValues(s.cfg.Name, "dirsync", resultLabel(err)).Inc()
		switch {
		case err == nil:
		case w.cookie != nil && cookieRefusal(err):
			initial = w.cookieRefused(ctx, err)
			continue
		case w.cookie == nil && w.flags != plainDirSyncFlags && goldap.IsErrorWithCode(err, goldap.LDAPResultUnavailableCriticalExtension):
			s.log.Warn("ldap dirsync: the server refuses incremental values; asking for whole member lists", zap.Error(err))
			w.flags = plainDirSyncFlags
			continue
		default:
			return fmt.Errorf("dirsync: %w", err)
		}
		if err := w.entries(ctx, res.Entries, fresh, initial); err != nil {
			return err
		}
		more := false
		if ctl, ok := goldap.FindControl(res.Controls, goldap.ControlTypeDirSync).(*goldap.ControlDirSync); ok {
			if len(ctl.Cookie) > 0 {
				w.cookie = append([]byte(nil), ctl.Cookie...)
				if err := s.cookies.SaveCookie(ctx, s.cfg.CookieKey, w.cookie); err != nil {
					s.log.Warn("ldap dirsync: save cookie", zap.Error(err))
				}
			}
			more = ctl.Flags != 0
		}
		if !more {
			return nil
		}
	}
	return fmt.Errorf("dirsync: server kept reporting more data after %d rounds", maxDirSyncRounds)
}

// cookieRefusal reports whether err refuses the cookie sent: AD answers
// one from another domain controller, or an expired one, with
// unwillingToPerform; Samba answers one it cannot parse with
// unavailableCriticalExtension.
func cookieRefusal(err error) bool {
	return goldap.IsErrorWithCode(err, goldap.LDAPResultUnwillingToPerform) ||
		goldap.IsErrorWithCode(err, goldap.LDAPResultUnavailableCriticalExtension)
}

// cookieRefused starts over without a cookie and reports whether that round
// fills an empty tracker. Into a tracker that is not empty it reports what
// changed, but entries deleted meanwhile are never named: doubtful.
func (w *dirSyncWatcher) cookieRefused(ctx context.Context, err error) (initial bool) {
	s := w.s
	s.log.Warn("ldap dirsync: cookie refused; starting over", zap.Error(err))
	w.cookie = nil
	_ = s.cookies.SaveCookie(ctx, s.cfg.CookieKey, nil)
	if w.tr.empty() {
		w.fullRead()
		return true
	}
	w.doubt()
	return false
}

// entries decodes one round's entries and reports their changes (none in
// the initial round). An entry that cannot be decoded is skipped and makes
// the tracker doubtful.
func (w *dirSyncWatcher) entries(ctx context.Context, es []*goldap.Entry, fresh, initial bool) error {
	s := w.s
	s.metrics.entries.WithLabelValues(s.cfg.Name, "dirsync").Add(float64(len(es)))
	for _, e := range es {
		if name := s.dec.someMembers(e); name != "" {
			s.log.Info("ldap dirsync: the server sent only some member values; reading them all",
				zap.String("dn", e.DN), zap.String("attribute", name))
			var err error
			if e, err = s.rereadMembers(w.conn, e); err != nil {
				return fmt.Errorf("dirsync: %w", err) // asked again from the same cookie
			}
		}
		var ch *sources.Change
		var err error
		s.ws.edit(func() { ch, err = w.decode(e, fresh, initial) })
		if err != nil {
			s.log.Warn("ldap dirsync: skipping entry", zap.String("dn", e.DN), zap.Error(err))
			w.doubt()
			if fresh {
				w.problems = append(w.problems, err.Error())
			}
			continue
		}
		if !initial && !s.send(ctx, w.changes, ch, WatchDirSync) {
			return ctx.Err()
		}
	}
	return nil
}

// decode turns one DirSync entry into a change. Deleted objects carry
// isDeleted=TRUE; other entries carry only changed attributes (plus
// objectGUID), merged here into the last full entry seen, and only the
// changed member values (memberDelta), applied to the group's members. In
// a round asked without a cookie (fresh) the values sent are every member.
// In the initial round (initial) an entry only fills the tracker: nothing
// is reported from it, so no change is worked out.
func (w *dirSyncWatcher) decode(e *goldap.Entry, fresh, initial bool) (*sources.Change, error) {
	id, err := w.s.dec.entryID(e)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE") {
		return w.remove(e, id), nil
	}
	plain, delta := w.s.dec.splitMembers(e)
	old := w.tr.recs[id]
	merged := withCNFromName(plain)
	if old != nil && old.entry != nil {
		merged = mergeEntry(old.entry, merged)
	}
	group, ok := w.s.dec.classify(merged)
	if !ok {
		if old == nil {
			return nil, fmt.Errorf("cannot tell whether %q is a user or a group", e.DN)
		}
		group = old.isGroup
	}
	if !w.s.inScope(merged, group) {
		if old != nil { // moved out of the bases
			return w.tr.remove(id, "dirsync moved out of scope"), nil
		}
		return nil, nil
	}
	rec, err := w.decodeRecord(merged, group, old, delta, fresh)
	if err != nil {
		return nil, err
	}
	if initial {
		w.tr.fill(rec)
		return nil, nil
	}
	return w.tr.apply(rec, w.resumed, "dirsync change"), nil
}

// remove forgets a deleted entry. AD also removes the member values (links)
// naming it, without sending the groups that held them; the tracker does
// the same, or a new entry given the deleted one's DN would join them. An
// entry never known that was deleted outside the bases is none of ours.
func (w *dirSyncWatcher) remove(e *goldap.Entry, id string) *sources.Change {
	old := w.tr.recs[id]
	if old == nil && !w.s.deletedInScope(e) {
		return nil
	}
	ch := w.tr.remove(id, "dirsync delete")
	if old != nil && !w.tr.uidMode {
		w.tr.dropMember(w.tr.key(old))
	}
	return ch
}

// deletedInScope reports whether a tombstone's last parent is under the
// user or group base; true when the server did not say.
func (s *Source) deletedInScope(e *goldap.Entry) bool {
	parent := e.GetAttributeValue("lastKnownParent")
	for strings.HasPrefix(parent, "<") { // extended DN: "<GUID=...>;OU=..."
		_, parent, _ = strings.Cut(parent, ";")
	}
	if parent == "" {
		return true
	}
	n := normDN(parent)
	return underDN(n, normDN(s.cfg.UserBaseDN)) || underDN(n, normDN(s.cfg.GroupBaseDN))
}

// decodeRecord decodes merged. A group's members are the ones the entry
// holds in full, or else old's (which follow renames; fresh: none) with
// the delta applied. The stored entry keeps no member values.
func (w *dirSyncWatcher) decodeRecord(merged *goldap.Entry, group bool, old *record, delta memberDelta, fresh bool) (*record, error) {
	d := w.s.dec
	if !delta.full {
		merged = d.withoutMembers(merged)
	}
	rec, err := d.decode(merged, group)
	if err != nil || !group {
		return rec, err
	}
	rec.entry = d.withoutMembers(merged)
	if !delta.full {
		var base []string
		if old != nil && old.isGroup && !fresh {
			base = old.members
		}
		if rec.members = delta.apply(base); len(rec.members) == 0 {
			rec.members = nil
		}
	}
	return rec, nil
}

// withCNFromName returns delta with cn set from name when it has a name
// but no cn: AD sends a renamed entry's new RDN value only as name, and
// cn (the RDN attribute of users and groups) must not keep the old one.
func withCNFromName(delta *goldap.Entry) *goldap.Entry {
	name := delta.GetAttributeValues("name")
	if len(name) == 0 || len(delta.GetAttributeValues("cn")) > 0 {
		return delta
	}
	out := *delta
	out.Attributes = append(slices.Clone(delta.Attributes), goldap.NewEntryAttribute("cn", name))
	return &out
}

// mergeEntry overlays delta's attributes (and DN) onto base.
func mergeEntry(base, delta *goldap.Entry) *goldap.Entry {
	out := &goldap.Entry{DN: delta.DN}
	if out.DN == "" {
		out.DN = base.DN
	}
	replaced := map[string]bool{}
	for _, a := range delta.Attributes {
		replaced[strings.ToLower(a.Name)] = true
		out.Attributes = append(out.Attributes, a)
	}
	for _, a := range base.Attributes {
		if !replaced[strings.ToLower(a.Name)] {
			out.Attributes = append(out.Attributes, a)
		}
	}
	return out
}
