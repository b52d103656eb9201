package ldap

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// recordingDirSync passes DirSync to a real connection and keeps the
// attribute names and value counts of every entry it answered.
type recordingDirSync struct {
	*goldap.Conn
	mu   sync.Mutex
	seen map[string][]string // normalised DN -> "name=count" of each attribute
}

func (r *recordingDirSync) DirSync(req *goldap.SearchRequest, flags, maxAttr int64, cookie []byte) (*goldap.SearchResult, error) {
	res, err := r.Conn.DirSync(req, flags, maxAttr, cookie)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range res.Entries {
		for _, a := range e.Attributes {
			if strings.HasPrefix(strings.ToLower(a.Name), "member") {
				r.seen[normDN(e.DN)] = append(r.seen[normDN(e.DN)], fmt.Sprintf("%s=%d", a.Name, len(a.Values)))
			}
		}
	}
	return res, nil
}

// take returns and forgets what was seen of dn's member attributes.
func (r *recordingDirSync) take(dn string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.seen[normDN(dn)]
	delete(r.seen, normDN(dn))
	return got
}

// recordDirSync makes src's DirSync watcher use a recorded connection.
func recordDirSync(t *testing.T, d *adDir, src *Source) *recordingDirSync {
	t.Helper()
	c, err := d.srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rec := &recordingDirSync{Conn: c, seen: map[string][]string{}}
	src.dirSyncOpen = func() dirSyncer { return rec }
	return rec
}

// bigGroup adds n users and a group "big" holding them all.
func bigGroup(d *adDir, n int) (users []string, group string) {
	d.t.Helper()
	for i := range n {
		users = append(users, d.addUser(fmt.Sprintf("u%02d", i), fmt.Sprintf("u%02d@example.com", i), false))
	}
	return users, d.addGroup("big", users, nil)
}

// pollOnce runs one poll of w as the watch loop does.
func pollOnce(t *testing.T, w *dirSyncWatcher) {
	t.Helper()
	if err := w.poll(context.Background()); err != nil {
		t.Fatalf("poll: %v", err)
	}
	w.resumed = false
}

// trackedGroups is each group's members as the tracker holds them.
func trackedGroups(tr *tracker) map[string][]string {
	out := map[string][]string{}
	for id := range tr.groupIDs {
		out[id] = slices.Sorted(slices.Values(tr.recs[id].members))
	}
	return out
}

// readGroups is each group's members as a read of the directory returns them.
func readGroups(t *testing.T, src *Source) map[string][]string {
	t.Helper()
	_, groups, err := src.readRecords(context.Background(), readOpts{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, g := range groups {
		out[g.id] = slices.Sorted(slices.Values(g.members))
	}
	return out
}

func sameGroups(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%s: the tracker's groups differ from a read:\n got  %v\n want %v", what, got, want)
	}
}

// TestDirSyncDeltasLive: with incremental values Samba answers a member
// added to or removed from a big group with that one value, which the
// watcher applies to the members it knows: the change names exactly that
// user and the tracker's groups equal a read of the directory, also after
// a member was renamed.
func TestDirSyncDeltasLive(t *testing.T) {
	d := newADDir(t)
	users, big := bigGroup(d, 30)
	extra := d.addUser("extra", "extra@example.com", false)
	src := newSource(t, d.config())
	rec := recordDirSync(t, d, src)
	changes := make(chan sources.Change, 100)
	w := src.newDirSyncWatcher(changes)
	pollOnce(t, w)
	if got := rec.take(d.dnOf(big)); !slices.Equal(got, []string{"member;range=1-1=30"}) {
		t.Fatalf("first round sent big's members as %v, want member;range=1-1=30", got)
	}

	for _, step := range []struct {
		what   string
		modify func(*goldap.ModifyRequest)
		user   string
		sent   string
	}{
		{"extra added", func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(extra)}) }, extra, "member;range=1-1=1"},
		{"u07 removed", func(r *goldap.ModifyRequest) { r.Delete("member", []string{d.dnOf(users[7])}) }, users[7], "member;range=0-0=1"},
	} {
		d.mod(big, step.modify)
		pollOnce(t, w)
		if got := rec.take(d.dnOf(big)); !slices.Equal(got, []string{step.sent}) {
			t.Fatalf("%s: the server sent %v, want %s", step.what, got, step.sent)
		}
		select {
		case c := <-changes:
			if !slices.Equal(c.GroupIDs, []string{big}) || !slices.Equal(c.UserIDs, []string{step.user}) {
				t.Fatalf("%s: got groups %v users %v, want [%s] [%s]", step.what, c.GroupIDs, c.UserIDs, big, step.user)
			}
		default:
			t.Fatalf("%s: no change reported", step.what)
		}
		sameGroups(t, step.what, trackedGroups(w.tr), readGroups(t, src))
	}
	// A removal names a renamed member by its new DN, which the tracker
	// followed: the old DN must not linger.
	if err := d.conn.ModifyDN(goldap.NewModifyDNRequest(d.dnOf(users[3]), "CN=u03b", true, "")); err != nil {
		t.Fatal(err)
	}
	d.setDN(users[3], "CN=u03b,"+d.users)
	pollOnce(t, w)
	d.mod(big, func(r *goldap.ModifyRequest) { r.Delete("member", []string{d.dnOf(users[3])}) })
	pollOnce(t, w)
	sameGroups(t, "renamed u03 removed", trackedGroups(w.tr), readGroups(t, src))
}

// TestDirSyncDeltasResumeLive: after a sequence of adds and removes (some
// undone before the next poll, a whole list replaced, a group emptied), the
// polled tracker and one resumed from the saved cookie after more changes
// both equal a read of the directory.
func TestDirSyncDeltasResumeLive(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	users, big := bigGroup(d, 12)
	cookies := NewMemoryCookieStore()
	src := newSource(t, d.config())
	src.cookies = cookies
	recordDirSync(t, d, src)
	w := src.newDirSyncWatcher(make(chan sources.Change, 100))
	pollOnce(t, w)

	dn := d.dnOf
	d.mod(big, func(r *goldap.ModifyRequest) { r.Add("member", []string{dn(s.ann)}) })
	d.mod(big, func(r *goldap.ModifyRequest) { r.Delete("member", []string{dn(s.ann), dn(users[0])}) })
	d.mod(s.sales, func(r *goldap.ModifyRequest) { r.Replace("member", []string{dn(s.ann), dn(users[3])}) })
	pollOnce(t, w)
	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Delete("member", nil) })
	d.mod(big, func(r *goldap.ModifyRequest) { r.Add("member", []string{dn(users[0]), dn(s.cat)}) })
	pollOnce(t, w)
	want := readGroups(t, src)
	sameGroups(t, "polled", trackedGroups(w.tr), want)
	if len(want[s.eng]) != 0 || len(want[big]) != 13 {
		t.Fatalf("the directory was not changed as the test meant: %v", want)
	}
	w.close()

	d.mod(big, func(r *goldap.ModifyRequest) { r.Delete("member", []string{dn(users[5]), dn(s.cat)}) })
	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{dn(s.bob), dn(users[5])}) })
	src = newSource(t, d.config())
	src.cookies = cookies
	recordDirSync(t, d, src)
	w = src.newDirSyncWatcher(make(chan sources.Change, 100))
	if err := w.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.mod(s.sales, func(r *goldap.ModifyRequest) { r.Delete("member", []string{dn(s.ann)}) })
	pollOnce(t, w)
	sameGroups(t, "resumed", trackedGroups(w.tr), readGroups(t, src))
}
