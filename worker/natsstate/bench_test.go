package natsstate

import (
	"context"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// BenchmarkSaveLarge and BenchmarkLoadLarge show what one save and one
// load of 10,000 groups × 50 members cost against a local server.
func BenchmarkSaveLarge(b *testing.B) {
	st, state := benchStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := st.Save(ctx, state); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadLarge(b *testing.B) {
	st, state := benchStore(b)
	ctx := context.Background()
	if err := st.Save(ctx, state); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := st.Load(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStore(b *testing.B) (*Store, *worker.State) {
	b.Helper()
	s := natstest.RunServer(b)
	_, js := natstest.Connect(b, s)
	st, err := New(context.Background(), js, "state", "prod")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st, bigState(10_000, 50)
}
