package ldap

import (
	"context"
	"reflect"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// groupReads is how many ReadGroups src answered from.
func groupReads(src *Source, from string) float64 {
	return value(src.metrics.groupReads.WithLabelValues(src.cfg.Name, from))
}

// groupSearches is how many searches for groups src made.
func groupSearches(src *Source) float64 {
	return value(src.metrics.searches.WithLabelValues(src.cfg.Name, "groups", "ok"))
}

// readGroupsSets are the id sets the equality tests read: nesting, a
// cycle, several at once, a group that is gone, an id in capitals, a
// user's id, an unknown id and hostile names.
func readGroupsSets(srv *ldaptest.Server) map[string][]string {
	gid := func(cn string) string { return srv.EntryUUID("cn=" + cn + "," + groups) }
	return map[string][]string{
		"nested":       {gid("engineering")},
		"cycle":        {gid("cycle-a")},
		"several":      {gid("sales"), gid("cycle-b"), gid("platform"), gid("engineering"), gid("outsiders")},
		"capitals":     {strings.ToUpper(gid("platform"))},
		"user id":      {srv.EntryUUID("uid=alice," + people)},
		"unknown":      {"00000000-0000-0000-0000-000000000000"},
		"hostile name": {gid("ops*)(cn=\\2a"), ")(objectClass=*"},
		"none":         {},
	}
}

// sameGroupsRead checks that watched answers every set from where from
// says (with no search for groups when from the watcher) exactly as a read
// of the directory by an unwatched source does.
func sameGroupsRead(t *testing.T, watched *Source, cfg Config, from string, sets map[string][]string) {
	t.Helper()
	direct := newSource(t, cfg)
	for name, ids := range sets {
		before, searched := groupReads(watched, from), groupSearches(watched)
		got, err := watched.ReadGroups(context.Background(), ids)
		if err != nil {
			t.Fatalf("%s: ReadGroups: %v", name, err)
		}
		if n := groupReads(watched, from) - before; n != 1 {
			t.Errorf("%s: reads from the %s counted %v, want 1", name, from, n)
		}
		if n := groupSearches(watched) - searched; (n == 0) != (from == groupsFromWatcher) {
			t.Errorf("%s: read from the %s with %v searches for groups", name, from, n)
		}
		want, err := direct.ReadGroups(context.Background(), ids)
		if err != nil {
			t.Fatalf("%s: ReadGroups from the directory: %v", name, err)
		}
		if got.Complete != want.Complete || !reflect.DeepEqual(got.Users, want.Users) || !reflect.DeepEqual(got.Groups, want.Groups) {
			t.Errorf("%s: the answer differs from the directory's:\n got  %+v\n want %+v", name, *got, *want)
		}
	}
}

// TestReadGroupsFromTheWatcher: while the syncrepl watcher vouches for its
// state, ReadGroups answers from it without searching, exactly as the
// directory would, also after the watcher applied live changes (renames
// of listed entries: TestWatcherReadsTheDirectoryWhenRefIntMayHaveActed).
func TestReadGroupsFromTheWatcher(t *testing.T) {
	srv := startDirectory(t)
	srv.Add(elsewhere, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"elsewhere"}})
	cfg := watchSnapConfig(srv)
	src, w := startWatched(t, cfg)
	sets := readGroupsSets(srv)
	sameGroupsRead(t, src, cfg, groupsFromWatcher, sets)

	srv.Replace("cn=engineering,"+groups, map[string][]string{"member": {
		"uid=alice," + people, "cn=platform," + groups, "uid=dave," + people}}) // bob removed, dave added
	srv.Replace("uid=alice,"+people, map[string][]string{"mail": {"alice@new.example.com"}})
	srv.Delete("cn=cycle-b," + groups)
	srv.Rename("uid=bob,"+people, "uid=bob", elsewhere) // out of the user base, in no group now
	srv.Add("uid=erin,"+people, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"erin"}, "cn": {"Erin E"},
		"sn": {"E"}, "mail": {"erin@example.com"}})
	srv.Replace("cn=outsiders,"+groups, map[string][]string{"member": {"uid=erin," + people, "cn=cycle-a," + groups}})
	settle(t, srv, w, 1)
	sets["outsiders"] = []string{srv.EntryUUID("cn=outsiders," + groups)}
	sameGroupsRead(t, src, cfg, groupsFromWatcher, sets)
}

// TestReadGroupsAfterARenameUnderRefInt: with OpenLDAP's refint overlay a
// renamed nested group stays nested, though syncrepl does not send the
// groups refint rewrote: ReadGroups reads those from the directory.
func TestReadGroupsAfterARenameUnderRefInt(t *testing.T) {
	srv := startDirectory(t, func(c *ldaptest.Config) { c.RefInt = true })
	cfg := watchSnapConfig(srv)
	src, w := startWatched(t, cfg)
	srv.Rename("cn=platform,"+groups, "cn=platform2", "")
	settle(t, srv, w, 1)
	eng := []string{srv.EntryUUID("cn=engineering," + groups)}
	sameGroupsRead(t, src, cfg, groupsFromDirectory, map[string][]string{"engineering": eng})
	snap, err := src.ReadGroups(context.Background(), eng)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 2 {
		t.Errorf("engineering read %d groups, want 2 (it nests platform2): %+v", len(snap.Groups), snap.Groups)
	}
}

// TestReadGroupsFromTheWatcherMemberUID is TestReadGroupsFromTheWatcher
// with memberUid values, which name users only, by name.
func TestReadGroupsFromTheWatcherMemberUID(t *testing.T) {
	srv := startDirectory(t)
	cfg := watchSnapConfig(srv)
	cfg.Schema = PresetRFC2307
	src, w := startWatched(t, cfg)
	sets := map[string][]string{"posix": {srv.EntryUUID("cn=posix-devs," + groups)}}
	sameGroupsRead(t, src, cfg, groupsFromWatcher, sets)

	srv.Replace("cn=posix-devs,"+groups, map[string][]string{"memberUid": {"alice", "bob", "Dave", "*"}})
	srv.Rename("uid=bob,"+people, "uid=robert", "")
	marker := "cn=posix-marker," + groups // syncrepl sends changes in order
	srv.Add(marker, map[string][]string{"objectClass": {"posixGroup"}, "cn": {"posix-marker"}, "gidNumber": {"5001"}, "memberUid": {"alice"}})
	w.waitChange(t, "marker", "", srv.EntryUUID(marker))
	sameGroupsRead(t, src, cfg, groupsFromWatcher, sets)
}

// TestReadGroupsFallsBackToTheDirectory: when the watcher cannot vouch for
// its state (after a reconnect, or a doubtful entry) or the configuration
// does not let it serve reads (a one-level group scope), ReadGroups
// searches the directory.
func TestReadGroupsFallsBackToTheDirectory(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func(*Config)
		gap  func(*ldaptest.Server, *Source, *watching)
	}{
		{"reconnect", func(*Config) {}, func(srv *ldaptest.Server, _ *Source, w *watching) { srv.Restart(); w.waitReady(t) }},
		{"doubt", func(*Config) {}, func(_ *ldaptest.Server, src *Source, _ *watching) { src.ws.doubt() }},
		{"one-level scope", func(c *Config) { c.GroupScope = "one" }, func(*ldaptest.Server, *Source, *watching) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startDirectory(t)
			cfg := watchSnapConfig(srv)
			c.cfg(&cfg)
			src, w := startWatched(t, cfg)
			c.gap(srv, src, w)
			searched := groupSearches(src)
			snap, err := src.ReadGroups(context.Background(), []string{srv.EntryUUID("cn=engineering," + groups)})
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Groups) != 2 {
				t.Errorf("groups read: got %d, want 2 (engineering, platform)", len(snap.Groups))
			}
			if n := groupReads(src, groupsFromDirectory); n != 1 {
				t.Errorf("reads from the directory counted %v, want 1", n)
			}
			if n := groupReads(src, groupsFromWatcher); n != 0 {
				t.Errorf("reads from the watcher counted %v, want 0", n)
			}
			if n := groupSearches(src) - searched; n == 0 {
				t.Error("ReadGroups made no search for groups")
			}
		})
	}
}

// TestDirSyncReadGroupsFromTheWatcher: while the DirSync watcher vouches
// for its state, ReadGroups polls first and answers from that state,
// exactly as the directory would, after members were added and removed,
// nesting with a cycle made, a member renamed and a group deleted.
func TestDirSyncReadGroupsFromTheWatcher(t *testing.T) {
	d := newADDir(t)
	s := seedAD(t, d)
	ops := d.addGroup("ops", []string{s.cat}, []string{s.sales})
	cfg := d.config()
	src, _, _ := startADWatched(t, d, cfg, nil)

	d.mod(s.eng, func(r *goldap.ModifyRequest) { r.Add("member", []string{d.dnOf(s.bob), d.dnOf(s.sales)}) })
	d.mod(s.sales, func(r *goldap.ModifyRequest) {
		r.Delete("member", []string{d.dnOf(s.cat)})
		r.Add("member", []string{d.dnOf(s.all)}) // all → eng → sales → all
	})
	if err := d.conn.ModifyDN(goldap.NewModifyDNRequest(d.dnOf(s.bob), "CN=robert", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteGroup(t.Context(), ops); err != nil {
		t.Fatal(err)
	}
	polls := dirSyncs(src)
	sameGroupsRead(t, src, cfg, groupsFromWatcher, map[string][]string{
		"nested":   {s.all},
		"several":  {s.eng, s.sales, ops},
		"capitals": {strings.ToUpper(s.sales)},
		"user id":  {s.ann},
		"unknown":  {"00000000-0000-0000-0000-000000000000"},
	})
	if dirSyncs(src) == polls {
		t.Error("ReadGroups did not poll the DirSync watcher first")
	}
	if _, err := src.ReadGroups(t.Context(), []string{"not-a-guid"}); err == nil {
		t.Error("ReadGroups took an id that is no GUID")
	}
}
