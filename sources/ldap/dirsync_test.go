package ldap

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// recordedDirSync replays DirSync rounds shaped like Active Directory's:
// each round answers one expected cookie with entries and a new cookie.
type recordedDirSync struct {
	mu      sync.Mutex
	rounds  []dirSyncRound
	cookies [][]byte
	flags   []int64
	closed  int
	// entries answer base searches by DN (rereadMembers).
	entries map[string]*goldap.Entry
}

type dirSyncRound struct {
	entries []*goldap.Entry
	cookie  string
	more    bool
	err     error
}

func (r *recordedDirSync) DirSync(req *goldap.SearchRequest, flags, maxAttr int64, cookie []byte) (*goldap.SearchResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cookies = append(r.cookies, append([]byte(nil), cookie...))
	r.flags = append(r.flags, flags)
	if len(r.rounds) == 0 {
		return &goldap.SearchResult{Controls: []goldap.Control{&goldap.ControlDirSync{Cookie: cookie}}}, nil
	}
	round := r.rounds[0]
	r.rounds = r.rounds[1:]
	if round.err != nil {
		return nil, round.err
	}
	var fl int64
	if round.more {
		fl = 1
	}
	return &goldap.SearchResult{Entries: round.entries, Controls: []goldap.Control{&goldap.ControlDirSync{Flags: fl, Cookie: []byte(round.cookie)}}}, nil
}

func (r *recordedDirSync) Search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[req.BaseDN]
	if !ok || req.Scope != goldap.ScopeBaseObject {
		return nil, goldap.NewError(goldap.LDAPResultNoSuchObject, fmt.Errorf("no recorded entry %q", req.BaseDN))
	}
	return &goldap.SearchResult{Entries: []*goldap.Entry{e}}, nil
}

func (r *recordedDirSync) Close() error { r.mu.Lock(); r.closed++; r.mu.Unlock(); return nil }

func (r *recordedDirSync) seenCookies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.cookies {
		out = append(out, string(c))
	}
	return out
}

func guidRaw(last byte) []byte {
	return []byte{1, 0, 0, 0, 2, 0, 3, 0, 4, 5, 6, 7, 8, 9, 10, last}
}

func adEntry(dn string, guid byte, attrs map[string][]string) *goldap.Entry {
	e := &goldap.Entry{DN: dn, Attributes: []*goldap.EntryAttribute{{Name: "objectGUID", Values: []string{string(guidRaw(guid))}, ByteValues: [][]byte{guidRaw(guid)}}}}
	for k, v := range attrs {
		e.Attributes = append(e.Attributes, &goldap.EntryAttribute{Name: k, Values: v})
	}
	return e
}

func guidOf(last byte) string { s, _ := guidString(guidRaw(last)); return s }

func TestDirSyncRecordedResponses(t *testing.T) {
	const (
		users  = "OU=Users,DC=corp,DC=example"
		groups = "OU=Groups,DC=corp,DC=example"
	)
	alice := adEntry("CN=Alice,"+users, 1, map[string][]string{"objectClass": {"top", "person", "user"}, "mail": {"alice@corp.example"}, "userAccountControl": {"512"}})
	bob := adEntry("CN=Bob,"+users, 2, map[string][]string{"objectClass": {"top", "person", "user"}, "mail": {"bob@corp.example"}, "userAccountControl": {"512"}})
	eng := adEntry("CN=Eng,"+groups, 10, map[string][]string{"objectClass": {"top", "group"}, "cn": {"Eng"}, "member": {"CN=Alice," + users}})
	all := adEntry("CN=All,"+groups, 11, map[string][]string{"objectClass": {"top", "group"}, "cn": {"All"}, "member": {"CN=Eng," + groups}})
	rec := &recordedDirSync{rounds: []dirSyncRound{
		// First poll: the whole directory, in two batches ("more data").
		{entries: []*goldap.Entry{alice, bob}, cookie: "c1", more: true},
		{entries: []*goldap.Entry{eng, all}, cookie: "c2"},
		// Second poll: Bob joins Eng (the changed attribute comes in full, no objectClass).
		{entries: []*goldap.Entry{adEntry("CN=Eng,"+groups, 10, map[string][]string{"member": {"CN=Alice," + users, "CN=Bob," + users}})}, cookie: "c3"},
		// Third: Alice is disabled (userAccountControl bit 2).
		{entries: []*goldap.Entry{adEntry("CN=Alice,"+users, 1, map[string][]string{"userAccountControl": {"514"}})}, cookie: "c4"},
		// Fourth: a transient failure, then Bob is deleted (tombstone DN, isDeleted).
		{err: goldap.NewError(goldap.ErrorNetwork, context.DeadlineExceeded)},
		{entries: []*goldap.Entry{adEntry("CN=Bob\\0ADEL:0000,CN=Deleted Objects,DC=corp,DC=example", 2, map[string][]string{"isDeleted": {"TRUE"}})}, cookie: "c5"},
	}}
	cookies := NewMemoryCookieStore()
	s, err := New(Config{
		Name: "corp", URLs: []string{"ldap://dc.invalid"}, Anonymous: true, Schema: PresetActiveDirectory,
		GroupBaseDN: groups, UserBaseDN: users, Watch: WatchDirSync,
		PollInterval: time.Millisecond, ReconnectMin: time.Millisecond, ReconnectMax: 2 * time.Millisecond,
	}, cookies, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.dirSyncOpen = func() dirSyncer { return rec }
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan sources.Change)
	done := make(chan error)
	go func() { done <- s.Watch(ctx, changes) }()
	defer func() { cancel(); <-done }()

	want := []struct {
		groups []string
		user   string
	}{
		{[]string{guidOf(10), guidOf(11)}, ""},        // Eng changed, All contains Eng
		{[]string{guidOf(10), guidOf(11)}, guidOf(1)}, // Alice disabled: her groups
		{[]string{guidOf(10), guidOf(11)}, guidOf(2)}, // Bob deleted: his groups
	}
	for i, w := range want {
		select {
		case c := <-changes:
			if !slices.Equal(c.GroupIDs, w.groups) || (w.user != "" && !slices.Equal(c.UserIDs, []string{w.user})) {
				t.Fatalf("change %d: got groups %v users %v, want %v %s", i, c.GroupIDs, c.UserIDs, w.groups, w.user)
			}
		case <-time.After(eventTimeout):
			t.Fatalf("change %d: none within %v", i, eventTimeout)
		}
	}
	got := rec.seenCookies()
	if !slices.Equal(got[:6], []string{"", "c1", "c2", "c3", "c4", "c4"}) {
		t.Fatalf("cookies sent: got %q", got)
	}
	// The cookie is saved only after the change was taken, so the watcher
	// may still be saving it.
	for deadline := time.Now().Add(eventTimeout); ; time.Sleep(time.Millisecond) {
		saved, _ := cookies.LoadCookie(context.Background(), s.cfg.CookieKey)
		if string(saved) == "c5" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("saved cookie: got %q, want c5", saved)
		}
	}
	rec.mu.Lock()
	closed := rec.closed
	rec.mu.Unlock()
	if closed == 0 {
		t.Fatal("the failed connection was not closed before retrying")
	}
}
