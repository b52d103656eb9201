package ldap

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// A real connection streams full reads entry by entry.
var _ streamer = (*goldap.Conn)(nil)

// pageOnly hides SearchAsync, so pagedSearch takes whole pages.
type pageOnly struct{ searcher }

// TestStreamedReadMatchesPagedRead reads one directory entry by entry and
// page by page, over several pages, and wants the same snapshot.
func TestStreamedReadMatchesPagedRead(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.WithSeed(manyUsers(250)))
	cfg := baseConfig(srv)
	cfg.PageSize = 40
	s := newSource(t, cfg)
	c, err := s.dial(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	streamed, err := (&reader{s: s, conn: c}).snapshot()
	if err != nil {
		t.Fatal(err)
	}
	paged, err := (&reader{s: s, conn: pageOnly{c}}).snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(streamed.Users) != 250 || !streamed.Complete {
		t.Fatalf("streamed: %d users complete=%v (%s), want 250 complete", len(streamed.Users), streamed.Complete, streamed.IncompleteReason)
	}
	if !reflect.DeepEqual(streamed.Users, paged.Users) || !reflect.DeepEqual(streamed.Groups, paged.Groups) {
		t.Fatalf("streamed and paged reads differ:\nstreamed %+v\npaged    %+v", streamed.Groups, paged.Groups)
	}
	// The snapshot built user by user as the read goes equals the one
	// built from every record at the end (the watchers' full read).
	r := &reader{s: s, conn: c}
	users, groups, err := r.readAll()
	if err != nil {
		t.Fatal(err)
	}
	whole := s.build(users, groups, r.reasons)
	if !reflect.DeepEqual(streamed.Users, whole.Users) || !reflect.DeepEqual(streamed.Groups, whole.Groups) || whole.Complete != streamed.Complete {
		t.Fatalf("snapshot built as read and from all records differ:\nas read %+v\nwhole   %+v", streamed.Groups, whole.Groups)
	}
}

// streamedSearcher answers the paged search as a stream of entries and the
// range searches from rec; a range search while the stream is not drained
// would deadlock a real connection, so it fails the test.
type streamedSearcher struct {
	t         *testing.T
	entries   []*goldap.Entry
	rec       *recordedSearcher
	streaming bool
	closing   bool
}

func (s *streamedSearcher) IsClosing() bool { return s.closing }

func (s *streamedSearcher) Search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	if s.streaming {
		s.t.Errorf("search for %v while a streamed search is not drained", req.Attributes)
	}
	return s.rec.Search(req)
}

func (s *streamedSearcher) SearchAsync(_ context.Context, _ *goldap.SearchRequest, _ int) goldap.Response {
	s.streaming = true
	return &fakeResponse{s: s, entries: s.entries}
}

type fakeResponse struct {
	s       *streamedSearcher
	entries []*goldap.Entry
	entry   *goldap.Entry
}

func (r *fakeResponse) Next() bool {
	if len(r.entries) == 0 {
		r.s.streaming = false
		return false
	}
	r.entry, r.entries = r.entries[0], r.entries[1:]
	return true
}
func (r *fakeResponse) Entry() *goldap.Entry       { return r.entry }
func (r *fakeResponse) Referral() string           { return "" }
func (r *fakeResponse) Controls() []goldap.Control { return nil }
func (r *fakeResponse) Err() error                 { return nil }

func TestStreamDefersRangedEntries(t *testing.T) {
	const dn = "CN=Big,OU=Groups,DC=corp,DC=example"
	guid := func(b byte) []byte { return []byte{b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} }
	group := func(dn string, id byte, attrs ...*goldap.EntryAttribute) *goldap.Entry {
		return &goldap.Entry{DN: dn, Attributes: append([]*goldap.EntryAttribute{
			{Name: "objectClass", Values: []string{"group"}},
			{Name: "objectGUID", Values: []string{string(guid(id))}, ByteValues: [][]byte{guid(id)}},
		}, attrs...)}
	}
	rec := &recordedSearcher{responses: map[string]*goldap.SearchResult{
		"member;range=2-*": {Entries: []*goldap.Entry{{DN: dn, Attributes: []*goldap.EntryAttribute{{Name: "member;range=2-*", Values: []string{"CN=c"}}}}}},
	}}
	st := &streamedSearcher{t: t, rec: rec, entries: []*goldap.Entry{
		group("CN=A,OU=Groups,DC=corp,DC=example", 1, &goldap.EntryAttribute{Name: "member", Values: []string{"CN=a"}}),
		group(dn, 2, &goldap.EntryAttribute{Name: "member;range=0-1", Values: []string{"CN=a", "CN=b"}}),
		group("CN=C,OU=Groups,DC=corp,DC=example", 3),
	}}
	s, err := New(Config{URLs: []string{"ldap://x"}, Anonymous: true, GroupBaseDN: "dc=x", UserBaseDN: "dc=x", Schema: PresetActiveDirectory}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{s: s, conn: st}
	recs, err := r.searchRecords("groups", "dc=x", "sub", "(objectClass=group)", true)
	if err != nil || len(r.reasons) > 0 {
		t.Fatalf("read: %v %v", err, r.reasons)
	}
	var dns []string
	for _, g := range recs {
		dns = append(dns, g.dn)
	}
	if want := []string{"CN=A,OU=Groups,DC=corp,DC=example", "CN=C,OU=Groups,DC=corp,DC=example", dn}; !slices.Equal(dns, want) {
		t.Fatalf("groups: got %v, want %v (the ranged one after the stream)", dns, want)
	}
	if got := len(recs[2].members); got != 3 {
		t.Fatalf("Big: got %d members, want 3 (two in the entry, one by range retrieval)", got)
	}
}

// pagingSearcher answers pages as given: each page's entries, then the
// controls its SearchResultDone carried (go-ldap hands a done over only
// when it carries controls). It is closing from page closedFrom on.
type pagingSearcher struct {
	pages      [][]goldap.Control
	page       int
	closedFrom int
}

func (p *pagingSearcher) Search(*goldap.SearchRequest) (*goldap.SearchResult, error) {
	return nil, errors.New("not streamed")
}

func (p *pagingSearcher) IsClosing() bool { return p.closedFrom > 0 && p.page >= p.closedFrom }

func (p *pagingSearcher) SearchAsync(context.Context, *goldap.SearchRequest, int) goldap.Response {
	p.page++
	r := &controlsResponse{}
	if p.page <= len(p.pages) {
		r.controls = p.pages[p.page-1]
	}
	return r
}

type controlsResponse struct {
	controls []goldap.Control
	sent     bool
}

func (r *controlsResponse) Next() bool {
	if r.sent || r.controls == nil {
		return false
	}
	r.sent = true
	return true
}
func (r *controlsResponse) Entry() *goldap.Entry       { return nil }
func (r *controlsResponse) Referral() string           { return "" }
func (r *controlsResponse) Controls() []goldap.Control { return r.controls }
func (r *controlsResponse) Err() error                 { return nil }

// TestPagedSearchWantsProofOfTheEnd: a page that ends with no error but
// no proof the server finished it (a closing connection, or a later page
// without its paging control) fails the search instead of ending it.
func TestPagedSearchWantsProofOfTheEnd(t *testing.T) {
	more := func() []goldap.Control {
		c := goldap.NewControlPaging(2)
		c.SetCookie([]byte("next"))
		return []goldap.Control{c}
	}
	last := func() []goldap.Control { return []goldap.Control{goldap.NewControlPaging(2)} }
	cases := []struct {
		name string
		s    *pagingSearcher
		ok   bool
	}{
		{"every page finished", &pagingSearcher{pages: [][]goldap.Control{more(), more(), last()}}, true},
		{"server ignores paging", &pagingSearcher{pages: [][]goldap.Control{nil}}, true},
		{"closed before the first page", &pagingSearcher{closedFrom: 1}, false},
		{"closed between pages", &pagingSearcher{pages: [][]goldap.Control{more()}, closedFrom: 2}, false},
		{"last page closes after its done", &pagingSearcher{pages: [][]goldap.Control{more(), last()}, closedFrom: 2}, true},
		{"later page without paging control", &pagingSearcher{pages: [][]goldap.Control{more(), {}}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := goldap.NewSearchRequest("dc=x", goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)
			err := pagedSearch(c.s, req, 2, func(*goldap.SearchResult) {})
			if c.ok && err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if !c.ok && !errors.Is(err, errNoResultDone) {
				t.Fatalf("got %v, want errNoResultDone", err)
			}
		})
	}
}
