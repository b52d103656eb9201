package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestGetManyReadsInBatches: getMany gives what reading each key gives
// (entries, unknown keys, deleted and purged keys, an entry rewritten),
// over more keys than a batch holds, with a request per batch rather than
// per key; and gives the same key by key when the bucket cannot be read
// in batches.
func TestGetManyReadsInBatches(t *testing.T) {
	srv := runServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := openView(ctx, js, "VIEWGET", 1<<30, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if v.batch == nil {
		t.Fatal("a bucket made by openView cannot be read in batches")
	}
	var keys []string
	want := map[string]*record{}
	for i := range 2*multiGetChunk + 50 {
		k := kvKey(kindUser, fmt.Sprintf("u-%d", i))
		keys = append(keys, k)
		if i%3 == 0 {
			continue // never written
		}
		r := &record{Kind: kindUser, ID: fmt.Sprintf("u-%d", i), Email: fmt.Sprintf("u%d@example.com", i), EventID: "e"}
		put(ctx, t, v, k, r)
		switch i % 9 {
		case 1:
			if err := v.kv.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			continue
		case 2:
			if err := v.kv.Purge(ctx, k); err != nil {
				t.Fatal(err)
			}
			continue
		case 4:
			r = &record{Kind: kindUser, ID: r.ID, Email: "again@example.com", EventID: "e2"}
			put(ctx, t, v, k, r)
		}
		want[k] = r
	}
	before := nc.Stats().OutMsgs
	got, err := v.getMany(ctx, keys)
	if err != nil {
		t.Fatalf("getMany: %v", err)
	}
	if sent := nc.Stats().OutMsgs - before; sent > 3 {
		t.Errorf("getMany of %d keys sent %d messages, want one request per %d keys", len(keys), sent, multiGetChunk)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("getMany read %d entries, want %d:\n%v\nwant\n%v", len(got), len(want), got, want)
	}
	before = nc.Stats().OutMsgs
	if got, err := v.getMany(ctx, []string{kvKey(kindUser, "nobody"), kvKey(kindUser, "u-0")}); err != nil || len(got) != 0 {
		t.Errorf("getMany of unknown keys: %v, %v; want nothing", got, err)
	}
	if sent := nc.Stats().OutMsgs - before; sent != 1 {
		t.Errorf("getMany of unknown keys sent %d messages, want 1", sent)
	}
	v.batch = nil
	if got, err = v.getMany(ctx, keys); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("getMany key by key: %d entries, %v; want %d", len(got), err, len(want))
	}
}

func put(ctx context.Context, t *testing.T, v *view, key string, r *record) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.kv.Put(ctx, key, b); err != nil {
		t.Fatal(err)
	}
}
