package natsstate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

func connect(t *testing.T, s *server.Server) jetstream.JetStream {
	t.Helper()
	_, js := natstest.Connect(t, s)
	return js
}

func ctxT(t *testing.T) context.Context {
	// A bound against hangs, not a speed check: TestLargeState's save took
	// over 30 s under -race on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newStore(t *testing.T, js jetstream.JetStream) *Store {
	t.Helper()
	st, err := New(ctxT(t), js, "state", "prod")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return st
}

func sampleState() *worker.State {
	absent := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	s := worker.NewState()
	s.Groups["ldap:eng"] = &worker.OwnedGroup{UUID: "u-1", Name: "ad-eng", AddedMembers: []string{"m1", "m2"}}
	s.Groups["ldap:ops"] = &worker.OwnedGroup{Name: "ad-ops"} // create in flight
	s.Groups["ldap:old"] = &worker.OwnedGroup{UUID: "u-3", Name: "ad-old", AbsentSince: &absent, AbsentReads: 2}
	s.Cookies["corp-ldap"] = []byte{0, 1, 2, 0xff}
	s.Spent = []worker.Spend{{At: absent, Deleted: 1, Removed: 7}}
	return s
}

func mustLoad(t *testing.T, st *Store) *worker.State {
	t.Helper()
	got, err := st.Load(ctxT(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}

func mustSave(t *testing.T, st *Store, s *worker.State) {
	t.Helper()
	if err := st.Save(ctxT(t), s); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func TestLoadNothingSavedIsEmpty(t *testing.T) {
	st := newStore(t, connect(t, natstest.RunServer(t)))
	got := mustLoad(t, st)
	if !reflect.DeepEqual(got, worker.NewState()) {
		t.Errorf("Load = %+v, want an empty state", got)
	}
}

func TestRoundTrip(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	a := newStore(t, js)
	mustLoad(t, a)
	want := sampleState()
	mustSave(t, a, want)
	got := mustLoad(t, newStore(t, js))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant %+v", got, want)
	}
	// Saving again (same store, no Load in between) is not a conflict.
	want.Groups["ldap:ops"].UUID = "u-2"
	mustSave(t, a, want)
	if got := mustLoad(t, newStore(t, js)); got.Groups["ldap:ops"].UUID != "u-2" {
		t.Errorf("second save not read back: %+v", got.Groups["ldap:ops"])
	}
}

func TestSurvivesServerRestart(t *testing.T) {
	s := natstest.RunServer(t)
	js := connect(t, s)
	st := newStore(t, js)
	mustLoad(t, st)
	want := sampleState()
	mustSave(t, st, want)
	natstest.Restart(t, s, nil)
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, want) {
		t.Errorf("after restart Load = %+v\nwant %+v", got, want)
	}
	// The store that saved before the restart can still save.
	want.Groups["ldap:new"] = &worker.OwnedGroup{UUID: "u-9", Name: "ad-new"}
	mustSave(t, st, want)
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, want) {
		t.Errorf("save after restart: Load = %+v\nwant %+v", got, want)
	}
}

func TestConflictBetweenTwoStores(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	a, b := newStore(t, js), newStore(t, js)
	mustLoad(t, a)
	mustLoad(t, b)
	sa := sampleState()
	mustSave(t, a, sa)

	sb := worker.NewState()
	sb.Groups["b"] = &worker.OwnedGroup{UUID: "b", Name: "b"}
	if err := b.Save(ctx, sb); !errors.Is(err, ErrConflict) {
		t.Fatalf("b saved over a's state: err = %v, want ErrConflict", err)
	}
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, sa) {
		t.Fatalf("a's state was changed by b's refused save: %+v", got)
	}
	// b recovers by loading; now a is stale.
	sb = mustLoad(t, b)
	sb.Groups["b"] = &worker.OwnedGroup{UUID: "b", Name: "b"}
	mustSave(t, b, sb)
	if err := a.Save(ctx, sa); !errors.Is(err, ErrConflict) {
		t.Errorf("a saved over b's state: err = %v, want ErrConflict", err)
	}
	// A store that never loaded cannot overwrite an existing state.
	if err := newStore(t, js).Save(ctx, worker.NewState()); !errors.Is(err, ErrConflict) {
		t.Errorf("save without load over an existing state: err = %v, want ErrConflict", err)
	}
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, sb) {
		t.Errorf("final state = %+v, want b's %+v", got, sb)
	}
}

// TestConflictDuringSave covers the race the early check cannot see: the
// manifest moves after the check, while the chunks are being written.
// b's whole save runs between a's chunk writes and a's commit.
func TestConflictDuringSave(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	a, b := newStore(t, js), newStore(t, js)
	mustLoad(t, a)
	mustLoad(t, b)
	a.ChunkSize = 1024
	var berr error
	a.beforeCommit = func() { berr = b.Save(ctx, sampleState()) }
	err := a.Save(ctx, bigState(200, 20))
	if berr != nil {
		t.Fatalf("b's save: %v", berr)
	}
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("a's save after b committed = %v, want ErrConflict", err)
	}
	kv, err := js.KeyValue(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, sampleState()) {
		t.Errorf("state after the race is not b's")
	}
	// a's refused chunks were removed; only b's set remains.
	if sets := chunkSets(t, kv); len(sets) != 1 {
		t.Errorf("chunk sets after the conflict = %v, want only the committed one", sets)
	}
}

func TestRefusesNewerVersion(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	st := newStore(t, js)
	mustLoad(t, st)
	mustSave(t, st, sampleState())
	kv, err := js.KeyValue(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	good := string(e.Value())
	tests := []struct {
		name     string
		manifest string
		want     error
	}{
		{"newer state version", strings.Replace(good, fmt.Sprintf(`"version":%d`, worker.StateVersion), fmt.Sprintf(`"version":%d`, worker.StateVersion+1), 1), worker.ErrStateTooNew},
		{"newer layout", strings.Replace(good, `"format":1`, `"format":2`, 1), worker.ErrStateTooNew},
		{"not json", "{", worker.ErrStateCorrupt},
		{"no version", `{"format":1}`, worker.ErrStateCorrupt},
		{"unknown encoding", strings.Replace(good, `"gzip"`, `"zstd"`, 1), worker.ErrStateCorrupt},
		{"bad set name", strings.Replace(good, `"set":"`, `"set":"../`, 1), worker.ErrStateCorrupt},
		{"wrong checksum", strings.Replace(good, `"sha256":"`, `"sha256":"00`, 1), worker.ErrStateCorrupt},
		{"missing chunks", strings.Replace(good, `"chunks":1`, `"chunks":3`, 1), worker.ErrStateCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.manifest == good {
				t.Fatal("test case did not change the manifest")
			}
			if _, err := kv.Put(ctx, "prod", []byte(tt.manifest)); err != nil {
				t.Fatal(err)
			}
			_, err := newStore(t, js).Load(ctx)
			if !errors.Is(err, tt.want) {
				t.Errorf("Load = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRefusesNewerContent checks the version inside the state itself, for
// a manifest that does not tell.
func TestRefusesNewerContent(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	st := newStore(t, js)
	mustLoad(t, st)
	s := sampleState()
	s.Version = worker.StateVersion + 1 // Save writes the current version whatever it is given ...
	mustSave(t, st, s)
	if _, err := newStore(t, js).Load(ctxT(t)); err != nil {
		t.Fatalf("Load of a state saved by this build: %v", err)
	}
	// ... so write a newer one by hand, as a newer build would.
	raw := []byte(fmt.Sprintf(`{"version":%d,"groups":{}}`, worker.StateVersion+1))
	if err := writeRaw(ctxT(t), st, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := newStore(t, js).Load(ctxT(t)); !errors.Is(err, worker.ErrStateTooNew) {
		t.Errorf("Load of newer content = %v, want ErrStateTooNew", err)
	}
}

func TestDeletedStateIsEmptyAndCanBeSaved(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	st := newStore(t, js)
	mustLoad(t, st)
	mustSave(t, st, sampleState())
	kv, _ := js.KeyValue(ctx, "state")
	if err := kv.Delete(ctx, "prod"); err != nil {
		t.Fatal(err)
	}
	fresh := newStore(t, js)
	if got := mustLoad(t, fresh); len(got.Groups) != 0 {
		t.Errorf("Load after delete = %+v, want empty", got)
	}
	mustSave(t, fresh, sampleState())
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, sampleState()) {
		t.Errorf("Load = %+v", got)
	}
}

func TestNewErrors(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "expiring", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bucket, key, want string
	}{
		{"bad bucket", "a.b", "k", `bucket "a.b"`},
		{"empty key", "b", "", `key ""`},
		{"bad key", "b", "a b", `key "a b"`},
		{"key ends in dot", "b", "a.", `key "a."`},
		{"bucket with ttl", "expiring", "k", "must not expire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(ctx, js, tt.bucket, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(ctx, nil, "b", "k"); err == nil {
		t.Error("New with nil JetStream: no error")
	}
}

// bigState returns groups groups of members members each, with uuids as
// Lightdash has them (random-looking, so they compress poorly).
func bigState(groups, members int) *worker.State {
	s := worker.NewState()
	for g := range groups {
		og := &worker.OwnedGroup{UUID: uuid(g, 0), Name: fmt.Sprintf("ad-group-%05d", g)}
		for m := range members {
			og.AddedMembers = append(og.AddedMembers, uuid(g, m+1))
		}
		s.Groups[fmt.Sprintf("ldap:cn=group-%05d,ou=groups,dc=example,dc=com", g)] = og
	}
	return s
}

func uuid(g, m int) string {
	x := uint64(g)*1_000_003 + uint64(m)*7_919
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	y := x * 0x9e3779b97f4a7c15
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(y>>32), uint16(y>>16), uint16(y)&0xfff, uint16(x)&0xfff, x&0xffffffffffff)
}

// chunkSets lists the chunk sets present in the bucket.
func chunkSets(t *testing.T, kv jetstream.KeyValue) map[string]int {
	t.Helper()
	lister, err := kv.ListKeysFiltered(ctxT(t), "prod.chunks.>")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string]int{}
	for k := range lister.Keys() {
		set, _, _ := strings.Cut(strings.TrimPrefix(k, "prod.chunks."), ".")
		sets[set]++
	}
	return sets
}

func TestSaveNilIsEmptyState(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	st := newStore(t, js)
	mustLoad(t, st)
	mustSave(t, st, nil)
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, worker.NewState()) {
		t.Errorf("Load after saving nil = %+v, want empty", got)
	}
}
