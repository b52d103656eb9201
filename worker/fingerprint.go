package worker

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Fingerprints are the sha256 of a canonical JSON form of a plan's inputs.
// The JSON is streamed into the hash rather than marshalled whole (a
// large document per run at directory scale), and it is byte for byte what encoding/json made of the structures
// below, so fingerprints of plans saved by earlier builds still match:
//
//	directory: [{"Source","Complete","Groups":[{"ID","DN","Name","Users","Groups"}],
//	             "Users":[{"ID","Email","Alt","Disabled"}]}]   (sources by name, groups and users by id)
//	lightdash: {"Users":[{"UUID","Email","Active","Pending"}],"Groups":[{"UUID","Name","Members"}]}
//
// Member lists are sorted; empty lists are null, as encoding/json writes
// nil slices. Emails are hashed as ident.EmailKey has them, so a change
// that Unicode case folding would hide (K to U+212A KELVIN SIGN) is seen.

// fingerprintSnapshots hashes the directory content a plan depends on, in
// a canonical order: sources give groups, users and members in no
// particular order, and the hash must not change with it.
func fingerprintSnapshots(snaps []*sources.Snapshot) string {
	var live []*sources.Snapshot
	for _, s := range snaps {
		if s != nil {
			live = append(live, s)
		}
	}
	slices.SortStableFunc(live, func(a, b *sources.Snapshot) int { return strings.Compare(a.Source, b.Source) })
	j := newJSONHash()
	if live == nil {
		j.raw("null")
		return j.sum()
	}
	var scratch []string
	j.raw("[")
	for si, s := range live {
		if si > 0 {
			j.raw(",")
		}
		j.raw(`{"Source":`)
		j.str(s.Source)
		j.raw(`,"Complete":`)
		j.bool(s.Complete)
		j.raw(`,"Groups":`)
		j.array(len(s.Groups), func(i int) string { return s.Groups[i].ID }, func(i int) {
			g := &s.Groups[i]
			j.raw(`{"ID":`)
			j.str(g.ID)
			j.raw(`,"DN":`)
			j.str(g.DN)
			j.raw(`,"Name":`)
			j.str(g.Name)
			j.raw(`,"Users":`)
			scratch = j.sortedList(scratch, g.MemberUsers)
			j.raw(`,"Groups":`)
			scratch = j.sortedList(scratch, g.MemberGroups)
			j.raw("}")
		})
		j.raw(`,"Users":`)
		j.array(len(s.Users), func(i int) string { return s.Users[i].ID }, func(i int) {
			u := &s.Users[i]
			j.raw(`{"ID":`)
			j.str(u.ID)
			j.raw(`,"Email":`)
			j.str(ident.EmailKey(u.Email))
			j.raw(`,"Alt":`)
			j.str(altEmailKeys(u.AltEmails))
			j.raw(`,"Disabled":`)
			j.bool(u.Disabled)
			j.raw("}")
		})
		j.raw("}")
	}
	j.raw("]")
	return j.sum()
}

// fingerprintLightdash hashes the Lightdash users and groups a plan depends on.
func fingerprintLightdash(cur Current) string {
	j := newJSONHash()
	j.raw(`{"Users":`)
	j.array(len(cur.Users), func(i int) string { return cur.Users[i].UserUUID }, func(i int) {
		u := &cur.Users[i]
		j.raw(`{"UUID":`)
		j.str(u.UserUUID)
		j.raw(`,"Email":`)
		j.str(ident.EmailKey(u.Email))
		j.raw(`,"Active":`)
		j.bool(u.IsActive)
		j.raw(`,"Pending":`)
		j.bool(u.IsPending)
		j.raw("}")
	})
	j.raw(`,"Groups":`)
	var scratch []string
	j.array(len(cur.Groups), func(i int) string { return cur.Groups[i].UUID }, func(i int) {
		g := &cur.Groups[i]
		j.raw(`{"UUID":`)
		j.str(g.UUID)
		j.raw(`,"Name":`)
		j.str(g.Name)
		j.raw(`,"Members":`)
		scratch = j.sortedList(scratch, g.MemberUUIDs)
		j.raw("}")
	})
	if cur.Access != nil { // only then: plans without access keep their fingerprints
		j.raw(`,"Access":`)
		var grants []string
		for group, refs := range cur.Access.byGroup() {
			for ref, role := range refs {
				grants = append(grants, group+" "+ref+" "+role)
			}
		}
		j.sortedList(scratch, grants)
	}
	j.raw("}")
	return j.sum()
}

// byKey returns the indexes 0..n-1 ordered by key (stable), or nil when n is 0.
func byKey(n int, key func(i int) string) []int {
	if n == 0 {
		return nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(key(a), key(b)) })
	return idx
}

// jsonHash writes JSON into a sha256 through a buffer.
type jsonHash struct {
	h hash.Hash
	w *bufio.Writer
}

func newJSONHash() *jsonHash {
	h := sha256.New()
	return &jsonHash{h: h, w: bufio.NewWriterSize(h, 64<<10)}
}

func (j *jsonHash) raw(s string) { _, _ = j.w.WriteString(s) }

func (j *jsonHash) bool(b bool) { j.raw(strconv.FormatBool(b)) }

func (j *jsonHash) str(s string) {
	_, _ = j.w.Write(appendJSONString(j.w.AvailableBuffer(), s))
}

// array writes the n items as a JSON array ordered by key (stable), each
// written by item; null when n is 0, as encoding/json writes a nil slice.
func (j *jsonHash) array(n int, key func(i int) string, item func(i int)) {
	idx := byKey(n, key)
	if idx == nil {
		j.raw("null")
		return
	}
	j.raw("[")
	for k, i := range idx {
		if k > 0 {
			j.raw(",")
		}
		item(i)
	}
	j.raw("]")
}

// sortedList writes l sorted (null when empty), sorting in scratch, which
// it returns for reuse. Lists that come sorted (Lightdash's usually do)
// are written as they are.
func (j *jsonHash) sortedList(scratch, l []string) []string {
	if len(l) == 0 {
		j.raw("null")
		return scratch
	}
	out := l
	if !slices.IsSorted(l) {
		scratch = append(scratch[:0], l...)
		slices.Sort(scratch)
		out = scratch
	}
	j.raw("[")
	for i, s := range out {
		if i > 0 {
			j.raw(",")
		}
		j.str(s)
	}
	j.raw("]")
	return scratch
}

func (j *jsonHash) sum() string {
	_ = j.w.Flush() // a hash's Write never fails
	return "sha256:" + hex.EncodeToString(j.h.Sum(nil))
}

// appendJSONString appends s as encoding/json.Marshal writes a string:
// HTML-safe (<, > and & escaped), invalid UTF-8 replaced by U+FFFD, and
// U+2028 and U+2029 escaped. TestAppendJSONStringMatchesEncodingJSON
// holds it to the standard library.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// altEmailKeys joins the addresses' ident.EmailKey, so the fingerprint
// changes exactly when how they match changes.
func altEmailKeys(alt []string) string {
	if len(alt) == 0 {
		return ""
	}
	keys := make([]string, len(alt))
	for i, a := range alt {
		keys[i] = ident.EmailKey(a)
	}
	return strings.Join(keys, ",")
}
