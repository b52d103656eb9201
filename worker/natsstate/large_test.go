package natsstate

import (
	"reflect"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestLargeState saves 10,000 groups of 50 members, far more than one NATS
// message holds, and reads it back.
func TestLargeState(t *testing.T) {
	if testing.Short() {
		t.Skip("large state: skipped with -short")
	}
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	st := newStore(t, js)
	mustLoad(t, st)
	want := bigState(10_000, 50)
	mustSave(t, st, want)

	kv, err := js.KeyValue(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, kv)
	t.Logf("state: %d bytes of JSON, %d compressed, %d chunks", m.RawSize, m.Size, m.Chunks)
	if max := int(js.Conn().MaxPayload()); m.Size <= max || m.Chunks < 2 {
		t.Fatalf("compressed state of %d bytes in %d chunks: not over the %d-byte message limit, the test proves nothing", m.Size, m.Chunks, max)
	}
	got := mustLoad(t, newStore(t, js))
	if !reflect.DeepEqual(got, want) {
		t.Fatal("large state read back differs")
	}

}

// TestManySmallChunks exercises chunking without a large state.
func TestManySmallChunks(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	st := newStore(t, js)
	st.ChunkSize = 1000
	mustLoad(t, st)
	want := bigState(100, 10)
	mustSave(t, st, want)
	kv, err := js.KeyValue(ctxT(t), "state")
	if err != nil {
		t.Fatal(err)
	}
	if m := readManifest(t, kv); m.Chunks < 10 {
		t.Fatalf("%d chunks, want many", m.Chunks)
	}
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, want) {
		t.Error("chunked state read back differs")
	}
	// A second save replaces the chunks: only its own set is left.
	delete(want.Groups, "ldap:cn=group-00000,ou=groups,dc=example,dc=com")
	mustSave(t, st, want)
	sets := chunkSets(t, kv)
	m := readManifest(t, kv)
	if len(sets) != 1 || sets[m.Set] != m.Chunks {
		t.Errorf("chunk sets after the second save = %v, want only %s with %d chunks", sets, m.Set, m.Chunks)
	}
	if got := mustLoad(t, newStore(t, js)); !reflect.DeepEqual(got, want) {
		t.Error("second save read back differs")
	}
}

// TestLoadCollectsLeftovers: chunks of a crashed save that started from an
// older revision are removed by Load; chunks of a save that may still be
// in progress (started from the current revision) are kept.
func TestLoadCollectsLeftovers(t *testing.T) {
	js := connect(t, natstest.RunServer(t))
	ctx := ctxT(t)
	st := newStore(t, js)
	mustLoad(t, st)
	mustSave(t, st, worker.NewState())
	kv, err := js.KeyValue(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	rev := e.Revision()
	crashed := "0-00000000000000aa"
	inProgress := itoa(rev) + "-00000000000000bb"
	for _, k := range []string{crashed + ".0", crashed + ".1", inProgress + ".0"} {
		if _, err := kv.Put(ctx, "prod.chunks."+k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	mustLoad(t, newStore(t, js))
	sets := chunkSets(t, kv)
	if _, ok := sets[crashed]; ok {
		t.Errorf("crashed save's chunks survived Load: %v", sets)
	}
	if _, ok := sets[inProgress]; !ok {
		t.Errorf("in-progress save's chunks were removed: %v", sets)
	}
	if _, ok := sets[readManifest(t, kv).Set]; !ok {
		t.Errorf("committed chunks were removed: %v", sets)
	}
}

func readManifest(t *testing.T, kv jetstream.KeyValue) manifest {
	t.Helper()
	e, err := kv.Get(ctxT(t), "prod")
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifest(e.Value(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return m
}
