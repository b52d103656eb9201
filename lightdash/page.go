package lightdash

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// page is the results of a list endpoint: GET /api/v1/org/groups
// (groupPage) or GET /api/v1/org/users (userPage). It is streamed: items
// are decoded one at a time from the body, each checked as it arrives and
// its strings interned, so a list is never held as raw JSON too.
type page[T any, PT item[T]] struct {
	Data *[]T
	// uuidsOnly skips the members of groups (Client.MemberUUIDsOnly).
	uuidsOnly bool
	// noNames skips the names of users (Client.SkipUserNames).
	noNames bool
	// uuids is the ShareUUIDs table of the read's context, or nil.
	uuids *uuidTable
	// bad is the first item of Data that failed its check. It fails the
	// page only at the end, as json.Unmarshal-then-check did: a repeated
	// "data" replaces the list and its verdict.
	bad error
	// pagination is the answer's "pagination", present only when the
	// server paged (API-NOTES §4).
	pagination *pagination
	// asked is the page requested (page and pageSize), nil for the whole
	// list: check then refuses an answer that is only part of it.
	asked *pagination
	// into, when it has room, is the array Data is decoded into (a slot of
	// ListUsers' result); items beyond its capacity move Data elsewhere.
	into []T
}

// pagination is what Lightdash sends with a paged list.
type pagination struct {
	Page           int `json:"page"`
	PageSize       int `json:"pageSize"`
	TotalPageCount int `json:"totalPageCount"`
	TotalResults   int `json:"totalResults"`
}

// item is what a page needs of its element type: decodeItem decodes one
// item from dec and interns its strings; check tells a usable item.
type item[T any] interface {
	*T
	decodeItem(dec *json.Decoder, in *interner) error
	check() error
}

type (
	groupPage = page[GroupWithMembers, *GroupWithMembers]
	userPage  = page[OrgMember, *OrgMember]
)

// reset empties the page for a new attempt, keeping how it decodes.
func (p *page[T, PT]) reset() { p.Data, p.bad, p.pagination = nil, nil, nil }

// check: a list answer without its list is not an empty list, every item
// must be usable (checked while streaming), a list that says it is partial
// is not the whole list, and a page must be the page asked for.
func (p *page[T, PT]) check() error {
	if p.Data == nil {
		return errors.New("no data list")
	}
	pg, n := p.pagination, len(*p.Data)
	switch {
	case pg == nil:
	case p.asked == nil && (pg.TotalPageCount > 1 || pg.TotalResults > n):
		return fmt.Errorf("%w: the server sent page %d of %d (%d items, totalResults %d) for a request of the whole list",
			ErrIncompleteList, pg.Page, pg.TotalPageCount, n, pg.TotalResults)
	case p.asked != nil && (pg.Page != p.asked.Page || pg.PageSize != p.asked.PageSize || n > pg.PageSize ||
		pg.TotalResults < 0 || pg.TotalPageCount != (pg.TotalResults+pg.PageSize-1)/pg.PageSize):
		return fmt.Errorf("page %d of size %d was answered with %d items and pagination %+v",
			p.asked.Page, p.asked.PageSize, n, *pg)
	}
	return p.bad
}

// decodeStream reads {"data":[...], "pagination":{...}}; other members are
// skipped. The last of a repeated key wins, as with json.Unmarshal.
func (p *page[T, PT]) decodeStream(dec *json.Decoder) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return false, fmt.Errorf("json: cannot unmarshal %s into a list page", describe(tok))
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false, err
		}
		switch k, _ := key.(string); {
		case strings.EqualFold(k, "data"):
			if err := p.decodeData(dec); err != nil {
				return false, fmt.Errorf("data: %w", err)
			}
		case strings.EqualFold(k, "pagination"):
			p.pagination = nil
			if err := dec.Decode(&p.pagination); err != nil {
				return false, fmt.Errorf("pagination: %w", err)
			}
		default:
			if err := skipValue(dec); err != nil {
				return false, err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return false, err
	}
	return true, nil
}

func (p *page[T, PT]) decodeData(dec *json.Decoder) error {
	p.Data, p.bad = nil, nil
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // data null: check says "no data list"
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("json: cannot unmarshal %s into a list", describe(tok))
	}
	in := newInterner(p.uuids)
	in.uuidsOnly, in.noNames = p.uuidsOnly, p.noNames
	items := p.into[:0]
	if cap(items) == 0 {
		items = make([]T, 0, 64)
	}
	for i := 0; dec.More(); i++ {
		var zero T
		items = append(items, zero)
		it := PT(&items[i])
		if err := it.decodeItem(dec, in); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		if p.bad == nil {
			p.bad = it.check()
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return err
	}
	p.Data = &items
	return nil
}

func (m *OrgMember) decodeItem(dec *json.Decoder, in *interner) error {
	var v any = m
	if in.noNames {
		in.noNamesUser.OrgMember = m // reused: not one allocation per user
		v = &in.noNamesUser
	}
	err := dec.Decode(v)
	in.noNamesUser.OrgMember = nil
	if err != nil {
		return err
	}
	m.intern(in)
	return nil
}

// orgMemberNoNames decodes into an OrgMember all but its names: its own
// fields of those names take the keys from the embedded ones and skip
// their values.
type orgMemberNoNames struct {
	*OrgMember
	FirstName skipped `json:"firstName"`
	LastName  skipped `json:"lastName"`
}

// skipped is a value json checks but does not decode.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// decodeItem decodes a group's member lists into the interner's scratch
// arrays, then copies them into arrays of their exact length: decoding
// straight into the group would leave each list in an array grown by
// doubling (a quarter or more unused at 50 members) and make 7 garbage
// arrays per list on the way.
func (g *GroupWithMembers) decodeItem(dec *json.Decoder, in *interner) error {
	// json decodes into the elements already in the array, so a field
	// missing from this group must not show the previous group's value.
	// The scratch arrays' lengths are what the last group dirtied (see
	// settle): clearing to their capacity cost every group after one large
	// group that group's size again.
	clear(in.members)
	clear(in.scratch)
	in.members, in.scratch = in.members[:0], in.scratch[:0]
	if in.uuidsOnly {
		s := groupUUIDsOnly{MemberUUIDs: memberUUIDs{in: in}}
		if err := dec.Decode(&s); err != nil {
			return err
		}
		g.Group, g.MemberUUIDs = s.Group, s.MemberUUIDs.list
		g.OrganizationUUID = in.str(g.OrganizationUUID)
		return nil
	}
	g.Members, g.MemberUUIDs = in.members[:0], in.scratch[:0]
	if err := dec.Decode(g); err != nil {
		return err
	}
	g.Members, in.members = settle(g.Members, in.members)
	g.MemberUUIDs, in.scratch = settle(g.MemberUUIDs, in.scratch)
	g.intern(in)
	return nil
}

// settle moves s, decoded into scratch, to an array of its own of exactly
// its length, and returns the array to decode the next item into (json may
// have grown it), at the length this item dirtied. nil, absent and empty
// lists come out as json.Unmarshal would have left them: nil for null or
// absent, empty for [].
func settle[S ~[]E, E any](s, scratch S) (S, S) {
	if len(s) == 0 {
		if s == nil || (cap(s) > 0 && cap(scratch) > 0 && &s[:1][0] == &scratch[:1][0]) {
			// null, or the key was absent and json left the scratch alone.
			return nil, scratch
		}
		return S{}, scratch
	}
	out := make(S, len(s))
	copy(out, s)
	return out, s
}

// groupUUIDsOnly is GroupWithMembers without the member summaries: json
// skips "members" instead of decoding it.
type groupUUIDsOnly struct {
	Group
	MemberUUIDs memberUUIDs `json:"memberUuids"`
}

// memberUUIDs decodes a group's "memberUuids" from its JSON text, looking
// each uuid up in the interner by its bytes: a user already held costs no
// string. list comes out as json.Unmarshal would leave a []string: nil for
// null, exactly its length otherwise, "" for a null item.
type memberUUIDs struct {
	in   *interner
	list []string
}

func (l *memberUUIDs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		l.list = nil
		return nil
	case len(b) == 0 || b[0] != '[':
		return fmt.Errorf("memberUuids is %s, not a list", describeJSON(b))
	}
	t := l.in.uuids
	t.mu.Lock()
	defer t.mu.Unlock()
	out := l.in.scratch[:0]
	for i := skipSpace(b, 1); ; {
		if i < len(b) && b[i] == ']' && len(out) == 0 {
			break
		}
		u, n, err := uuidItem(t, b[i:])
		if err != nil {
			return fmt.Errorf("memberUuids item %d: %w", len(out), err)
		}
		out = append(out, u)
		if i = skipSpace(b, i+n); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i >= len(b) || b[i] != ']' {
			return fmt.Errorf("memberUuids: no ',' or ']' after item %d", len(out)-1)
		}
		break
	}
	l.in.scratch = out // cleared by the next group's decodeItem
	l.list = make([]string, len(out))
	copy(l.list, out)
	return nil
}

// uuidItem reads the array item at the start of b, a string or null, and
// returns it as t's copy and the bytes it took.
func uuidItem(t *uuidTable, b []byte) (string, int, error) {
	if bytes.HasPrefix(b, []byte("null")) {
		return "", 4, nil
	}
	if len(b) == 0 || b[0] != '"' {
		return "", 0, fmt.Errorf("%s, not a uuid string", describeJSON(b))
	}
	escaped := false
	j := 1
	for ; j < len(b) && b[j] != '"'; j++ {
		if b[j] == '\\' {
			escaped = true
			j++
		}
	}
	if j >= len(b) {
		return "", 0, errors.New("unterminated string")
	}
	if !escaped {
		return t.bytesLocked(b[1:j]), j + 1, nil
	}
	var s string // escapes are rare in uuids: let json read them
	if err := json.Unmarshal(b[:j+1], &s); err != nil {
		return "", 0, err
	}
	return t.strLocked(s), j + 1, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// describeJSON names the kind of the JSON value b starts with, as
// describe does for a token.
func describeJSON(b []byte) string {
	tok, err := json.NewDecoder(bytes.NewReader(b)).Token()
	if err != nil {
		return "empty"
	}
	return describe(tok)
}
