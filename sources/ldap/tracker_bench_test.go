package ldap

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// scaleDirectory is a generated directory in the shape of the bench
// harness (cmd/lightdash-sync-bench gen.go): groups of random users, and a
// fraction of groups that also hold one group that is no parent itself.
// Records come users first, then groups, the order slapadd loads them and
// a syncrepl refresh sends them. Every value is a string of its own and
// every record carries its decoded entry, as decoding BER packets gives.
func scaleDirectory(users, groups, memberships int, nested float64, seed uint64) []*record {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	userDN := func(i int) string { return fmt.Sprintf("uid=u%06d,ou=people,dc=example,dc=com", i) }
	groupDN := func(g int) string { return fmt.Sprintf("cn=g%05d,ou=groups,dc=example,dc=com", g) }
	attr := func(name string, values ...string) *goldap.EntryAttribute {
		return &goldap.EntryAttribute{Name: name, Values: values}
	}
	out := make([]*record, 0, users+groups)
	for i := range users {
		id, uid, mail := fmt.Sprintf("u-%06d", i), fmt.Sprintf("u%06d", i), fmt.Sprintf("u%06d@example.com", i)
		e := &goldap.Entry{DN: userDN(i), Attributes: []*goldap.EntryAttribute{attr("objectClass", "inetOrgPerson"),
			attr("uid", uid), attr("cn", "User "+uid), attr("mail", mail), attr("entryUUID", id)}}
		u := &record{id: id, dn: e.DN, ndn: userDN(i), name: uid, entry: e}
		u.setUser(sources.DirUser{ID: id, DN: e.DN, Email: mail})
		out = append(out, u)
	}
	per := memberships / groups
	recs := make([]*record, groups)
	for g := range groups {
		seen := make(map[int]bool, per)
		raw := make([]string, 0, per+1)
		for len(raw) < per {
			if u := r.IntN(users); !seen[u] {
				seen[u] = true
				raw = append(raw, userDN(u))
			}
		}
		if k := groups - 1 - g; g < int(float64(groups)*nested) && g < k {
			raw = append(raw, groupDN(k))
		}
		members := make([]string, len(raw))
		for i, v := range raw {
			members[i] = string([]byte(v)) // normalising makes a new string
		}
		id := fmt.Sprintf("g-%05d", g)
		e := &goldap.Entry{DN: groupDN(g), Attributes: []*goldap.EntryAttribute{attr("objectClass", "groupOfNames"),
			attr("cn", fmt.Sprintf("g%05d", g)), attr("member", raw...), attr("entryUUID", id)}}
		recs[g] = &record{id: id, dn: e.DN, ndn: groupDN(g), isGroup: true, groupName: fmt.Sprintf("g%05d", g),
			members: members, entry: e}
	}
	return append(out, recs...)
}

// scale is the size of issue 9: 100,000 users, 10,000 groups, 500,000
// memberships, 5 % of groups nested.
func scaleRecords() []*record { return scaleDirectory(100_000, 10_000, 500_000, 0.05, 9) }

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkTrackerScale is the watcher's tracker at the size of issue 9:
//
//   - fill: the first refresh of a session (every entry, nothing
//     reported); live-MB is what the tracker then holds, strings included;
//   - fill-keep-users: the same, keeping each user's DirUser for the
//     snapshots built from the watcher's state;
//   - snapshot: a full run's directory built from a tracker that keeps
//     its users (B/op is what one costs);
//   - refresh-snapshot: the same built as a refresh without a cookie
//     does after the first, users streamed in;
//   - fill-apply: every entry through apply, as the first refresh did
//     before it filled silently;
//   - member-change: one member added to a nested group (then removed
//     again), on a filled tracker: one live change;
//   - user-change: one user's mail changed, a user of a nested group, so
//     the change walks up to the parent;
//   - emit-all-entry: one entry forced through apply, what a resumed
//     refresh that reports every entry pays per entry.
//
// go test -run '^$' -bench TrackerScale -benchtime 3x -benchmem ./sources/ldap/
func BenchmarkTrackerScale(b *testing.B) {
	fill := func(keepUsers bool) func(b *testing.B) {
		return func(b *testing.B) {
			var held float64
			for range b.N {
				b.StopTimer()
				base := liveHeap()
				recs := scaleRecords()
				b.StartTimer()
				t := newTracker(false)
				t.keepUsers = keepUsers
				for _, r := range recs {
					t.fill(r)
				}
				b.StopTimer()
				recs = nil
				held = float64(liveHeap()-base) / (1 << 20)
				runtime.KeepAlive(t)
				b.StartTimer()
			}
			b.ReportMetric(held, "live-MB")
		}
	}
	b.Run("fill", fill(false))
	// fill-keep-users: the tracker of a syncrepl watcher that serves
	// snapshots (watchstate.go) keeps every user's DirUser.
	b.Run("fill-keep-users", fill(true))
	recs := scaleRecords()
	b.Run("fill-apply", func(b *testing.B) {
		for b.Loop() {
			t := newTracker(false)
			for _, r := range recs {
				t.apply(r, false, "")
			}
		}
	})
	filled := func() *tracker {
		t := newTracker(false)
		for _, r := range recs {
			t.fill(r)
		}
		return t
	}
	// snapshot: a full run's directory built from a filled tracker that
	// keeps its users (watchstate.go); B/op is the snapshot's size.
	b.Run("snapshot", func(b *testing.B) {
		src := &Source{log: zap.NewNop()}
		src.dec = decoder{cfg: &src.cfg}
		t := newTracker(false)
		t.keepUsers = true
		for _, r := range scaleRecords() {
			t.fill(r)
		}
		for b.Loop() {
			if snap := finishFromTracker(trackerUsers(src, t), t, nil); len(snap.Users) != 100_000 {
				b.Fatalf("%d users", len(snap.Users))
			}
		}
	})
	// refresh-snapshot: a refresh without a cookie after the first (a
	// reseed): the tracker filled and the snapshot built as entries
	// arrive, sized by the last tracker (syncrepl.go refreshBuilder);
	// live-MB is what the tracker and the snapshot then hold together.
	b.Run("refresh-snapshot", func(b *testing.B) {
		src := &Source{log: zap.NewNop()}
		src.dec = decoder{cfg: &src.cfg}
		w := &syncWatcher{s: src}
		var held float64
		for range b.N {
			b.StopTimer()
			w.tr, src.ws.tr, w.users = nil, nil, 100_000
			base := liveHeap()
			recs := scaleRecords()
			b.StartTimer()
			snap := refreshSnapshot(w, recs)
			b.StopTimer()
			if len(snap.Users) != 100_000 {
				b.Fatalf("%d users", len(snap.Users))
			}
			recs = nil
			held = float64(liveHeap()-base) / (1 << 20)
			runtime.KeepAlive(snap)
			b.StartTimer()
		}
		b.ReportMetric(held, "live-MB")
	})
	// The last group is nested in the first, so its changes walk up.
	child := recs[len(recs)-1]
	b.Run("member-change", func(b *testing.B) {
		t := filled()
		added := *child
		added.members = append(slices.Clone(child.members), recs[0].ndn)
		for i := 0; b.Loop(); i++ {
			next := &added
			if i%2 == 1 {
				next = child
			}
			if ch := t.apply(next, false, "bench"); ch == nil || len(ch.GroupIDs) != 2 || len(ch.UserIDs) != 1 {
				b.Fatalf("member change: got %+v, want the group and its parent, and the user", ch)
			}
		}
	})
	b.Run("user-change", func(b *testing.B) {
		t := filled()
		u := userByNDN(recs, child.members[0])
		changed := *u
		changed.setUser(sources.DirUser{ID: u.id, DN: u.dn, Email: "changed@example.com"})
		for i := 0; b.Loop(); i++ {
			next := &changed
			if i%2 == 1 {
				next = u
			}
			if ch := t.apply(next, false, "bench"); ch == nil || len(ch.GroupIDs) < 2 {
				b.Fatalf("user change: got %+v, want its groups and the parent", ch)
			}
		}
	})
	b.Run("emit-all-entry", func(b *testing.B) {
		t := filled()
		for i := 0; b.Loop(); i++ {
			if ch := t.apply(recs[(i*7919)%len(recs)], true, "bench"); ch == nil {
				b.Fatal("forced apply reported nothing")
			}
		}
	})
}

func userByNDN(recs []*record, ndn string) *record {
	for _, r := range recs {
		if !r.isGroup && r.ndn == ndn {
			return r
		}
	}
	return nil
}
