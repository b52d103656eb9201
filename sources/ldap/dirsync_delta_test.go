package ldap

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// recordedSource is an Active Directory source (adUsers, adGroups) whose DirSync answers come
// from rec.
func recordedSource(t *testing.T, rec *recordedDirSync) *Source {
	t.Helper()
	s, err := New(Config{
		Name: "corp", URLs: []string{"ldap://dc.invalid"}, Anonymous: true, Schema: PresetActiveDirectory,
		GroupBaseDN: adGroups, UserBaseDN: adUsers, Watch: WatchDirSync,
		PollInterval: time.Millisecond, ReconnectMin: time.Millisecond, ReconnectMax: 2 * time.Millisecond,
	}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.dirSyncOpen = func() dirSyncer { return rec }
	return s
}

func adUser(name string, guid byte) *goldap.Entry {
	return adEntry("CN="+name+","+adUsers, guid, map[string][]string{"objectClass": {"top", "person", "user"},
		"mail": {name + "@corp.example"}, "userAccountControl": {"512"}})
}

func userDN(name string) string { return "CN=" + name + "," + adUsers }

// TestDirSyncRecordedDeltas replays answers shaped like Samba's with
// LDAP_DIRSYNC_INCREMENTAL_VALUES (recorded with TestDirSyncDeltasLive):
// the first round lists present members as range=1-1 and earlier
// removals as range=0-0; later rounds send only the values that changed.
// Each change names exactly the users who joined or left, so the group's
// member set is exact after every step.
func TestDirSyncRecordedDeltas(t *testing.T) {
	engGroupDN := "CN=Eng," + adGroups
	eng := func(attrs map[string][]string) *goldap.Entry { return adEntry(engGroupDN, 10, attrs) }
	rec := &recordedDirSync{rounds: []dirSyncRound{
		{entries: []*goldap.Entry{adUser("Alice", 1), adUser("Bob", 2), adUser("Carl", 3), eng(map[string][]string{
			"objectClass": {"top", "group"}, "name": {"Eng"},
			"member;range=1-1": {userDN("Alice")}, "member;range=0-0": {userDN("Bob")}})}, cookie: "c1"},
		{entries: []*goldap.Entry{eng(map[string][]string{"member;range=1-1": {userDN("Bob")}})}, cookie: "c2"},
		// A removal of a member the watcher never knew (added and removed
		// between two polls) changes nothing else.
		{entries: []*goldap.Entry{eng(map[string][]string{"member;range=0-0": {"cn=ALICE," + adUsers, userDN("Ghost")}})}, cookie: "c3"},
		// A range that is not a delta: some of the values; all are read.
		{entries: []*goldap.Entry{eng(map[string][]string{"member;range=0-0": {userDN("Bob")}, "member;range=0-1": {userDN("Carl")}})}, cookie: "c4"},
		// A rename sends name only: the members stay.
		{entries: []*goldap.Entry{adEntry("CN=Eng2,"+adGroups, 10, map[string][]string{"name": {"Eng2"}})}, cookie: "c5"},
		// A refused cookie: the round asked without one lists every member.
		{err: goldap.NewError(goldap.LDAPResultUnwillingToPerform, context.Canceled)},
		{entries: []*goldap.Entry{adEntry("CN=Eng2,"+adGroups, 10, map[string][]string{
			"objectClass": {"top", "group"}, "name": {"Eng2"}, "member;range=1-1": {userDN("Alice")}})}, cookie: "c6"},
	}, entries: map[string]*goldap.Entry{
		engGroupDN: adEntry(engGroupDN, 10, map[string][]string{"member": {userDN("Bob"), userDN("Carl")}}),
	}}
	s := recordedSource(t, rec)
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan sources.Change)
	done := make(chan error)
	go func() { done <- s.Watch(ctx, changes) }()
	defer func() { cancel(); <-done }()

	for i, want := range [][]string{
		{guidOf(2)},                       // Bob joined
		{guidOf(1)},                       // Alice left; Ghost is nobody
		{guidOf(3)},                       // Carl joined (read), Bob stays (read), not removed by the delta
		nil,                               // renamed: nobody joined or left
		{guidOf(1), guidOf(2), guidOf(3)}, // fresh list: Alice joined, Bob and Carl left
	} {
		select {
		case c := <-changes:
			if !slices.Equal(c.GroupIDs, []string{guidOf(10)}) || !slices.Equal(c.UserIDs, want) {
				t.Fatalf("change %d: got groups %v users %v, want [%s] %v", i, c.GroupIDs, c.UserIDs, guidOf(10), want)
			}
		case <-time.After(eventTimeout):
			t.Fatalf("change %d: none within %v", i, eventTimeout)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, f := range rec.flags {
		if f != goldap.DirSyncObjectSecurity|goldap.DirSyncIncrementalValues {
			t.Fatalf("DirSync flags sent: got %#x, want object security and incremental values", f)
		}
	}
}

// TestDirSyncFlagsEncoding: the flags go out as a 4-byte INTEGER,
// 0x80000001, which Active Directory reads as unsigned; a minimal
// signed encoding would be five bytes.
func TestDirSyncFlagsEncoding(t *testing.T) {
	p := goldap.NewRequestControlDirSync(dirSyncFlags, 0, nil).Encode()
	value := ber.DecodePacket(p.Children[2].Data.Bytes())
	flags := value.Children[0].Data.Bytes()
	if len(flags) != 4 || binary.BigEndian.Uint32(flags) != 0x80000001 {
		t.Fatalf("flags encoded as % x, want 80 00 00 01", flags)
	}
}

func TestMemberDeltaApply(t *testing.T) {
	for _, c := range []struct {
		name    string
		members []string
		d       memberDelta
		want    []string
	}{
		{"add", []string{"a"}, memberDelta{added: []string{"b"}}, []string{"a", "b"}},
		{"add present", []string{"a"}, memberDelta{added: []string{"a"}}, []string{"a"}},
		{"remove", []string{"a", "b"}, memberDelta{removed: []string{"a"}}, []string{"b"}},
		{"remove unknown", []string{"a"}, memberDelta{removed: []string{"z"}}, []string{"a"}},
		{"both", []string{"a", "b"}, memberDelta{added: []string{"c"}, removed: []string{"b"}}, []string{"a", "c"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := slices.Clone(c.members)
			if got := c.d.apply(c.members); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
			if !slices.Equal(c.members, before) {
				t.Errorf("apply changed its argument: %v", c.members)
			}
		})
	}
}

// TestDirSyncFallsBackToWholeMemberLists: a server that refuses the
// incremental-values flag (unavailableCriticalExtension on a round
// without a cookie) is asked again without it, and its whole member lists
// are taken as they come.
func TestDirSyncFallsBackToWholeMemberLists(t *testing.T) {
	eng := adEntry("CN=Eng,"+adGroups, 10, map[string][]string{"objectClass": {"top", "group"}, "member": {userDN("Alice")}})
	rec := &recordedDirSync{rounds: []dirSyncRound{
		{err: goldap.NewError(goldap.LDAPResultUnavailableCriticalExtension, context.Canceled)},
		{entries: []*goldap.Entry{adUser("Alice", 1), adUser("Bob", 2), eng}, cookie: "c1"},
		{entries: []*goldap.Entry{adEntry("CN=Eng,"+adGroups, 10, map[string][]string{"member": {userDN("Bob")}})}, cookie: "c2"},
	}}
	s := recordedSource(t, rec)
	w := startWatch(t, s)
	c := w.waitChange(t, "Bob replaced Alice", "", guidOf(10))
	if !slices.Equal(c.UserIDs, []string{guidOf(1), guidOf(2)}) {
		t.Fatalf("users named: got %v, want Alice and Bob", c.UserIDs)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []int64{dirSyncFlags, plainDirSyncFlags, plainDirSyncFlags}; !slices.Equal(rec.flags[:3], want) {
		t.Fatalf("flags sent: got %#x, want %#x", rec.flags[:3], want)
	}
}

// TestDirSyncDoubtfulEntryIsNotVouched: once a poll skipped an entry it
// could not decode, the DirSync watcher no longer serves Snapshot from
// its state; before, it does.
func TestDirSyncDoubtfulEntryIsNotVouched(t *testing.T) {
	first := dirSyncRound{entries: []*goldap.Entry{adUser("Alice", 1), adEntry("CN=Eng,"+adGroups, 10, map[string][]string{
		"objectClass": {"top", "group"}, "name": {"Eng"}, "member;range=1-1": {userDN("Alice")}})}, cookie: "c1"}
	for _, c := range []struct {
		name   string
		rounds []dirSyncRound
		vouch  bool
	}{
		{"clean", []dirSyncRound{first}, true},
		// An entry the watcher never saw, without objectClass.
		{"undecodable", []dirSyncRound{first, {entries: []*goldap.Entry{adEntry("CN=X,"+adUsers, 9, map[string][]string{"name": {"X"}})}, cookie: "c2"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := recordedSource(t, &recordedDirSync{rounds: c.rounds})
			s.cfg.PollInterval = time.Hour
			w := startWatch(t, s)
			w.waitReady(t)
			if len(c.rounds) > 1 {
				if err := askPoll(t, s); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.snapshotFromWatcher(t.Context()) != nil; got != c.vouch {
				t.Fatalf("snapshot served from the watcher: got %v, want %v", got, c.vouch)
			}
		})
	}
}

// TestDirSyncTombstoneOutsideTheBases: a deleted entry the watcher never
// knew whose last parent is outside the bases names no group; one whose
// last parent is inside names every group, since any may have held it.
func TestDirSyncTombstoneOutsideTheBases(t *testing.T) {
	tomb := func(guid byte, parent string) *goldap.Entry {
		return adEntry("CN=X\\0ADEL:1,CN=Deleted Objects,DC=corp,DC=example", guid, map[string][]string{
			"isDeleted": {"TRUE"}, "lastKnownParent": {"<GUID=0b1c>;" + parent}})
	}
	rec := &recordedDirSync{rounds: []dirSyncRound{
		{entries: []*goldap.Entry{adUser("Alice", 1), adEntry("CN=Eng,"+adGroups, 10, map[string][]string{
			"objectClass": {"top", "group"}, "name": {"Eng"}, "member;range=1-1": {userDN("Alice")}})}, cookie: "c1"},
		{entries: []*goldap.Entry{tomb(20, "OU=Elsewhere,DC=corp,DC=example")}, cookie: "c2"},
		{entries: []*goldap.Entry{adEntry(userDN("Alice"), 1, map[string][]string{"userAccountControl": {"514"}})}, cookie: "c3"},
		{entries: []*goldap.Entry{tomb(21, adUsers)}, cookie: "c4"},
	}}
	w := startWatch(t, recordedSource(t, rec))
	for _, want := range []string{"dirsync change", "dirsync delete (unknown entry)"} {
		select {
		case c := <-w.changes:
			if c.Reason != want || !slices.Equal(c.GroupIDs, []string{guidOf(10)}) {
				t.Fatalf("got %+v, want %q naming Eng", c, want)
			}
		case <-time.After(eventTimeout):
			t.Fatalf("no change %q", want)
		}
	}
}
