package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// view is the materialised view: one key-value entry per group and per
// user, the state the applied events add up to. It is what Snapshot and
// ReadGroups read, since NATS has no directory to read in full. It lives
// in JetStream, so it survives restarts of the source and of the server.
type view struct {
	kv    jetstream.KeyValue
	batch *batchGet // nil when the bucket cannot be read in batches
	idx   *index
	cache *recordCache // what this process last wrote, to skip the read before a write
	// maxSeqJump is Config.MaxSequenceJump, set by New.
	maxSeqJump uint64
	floor      floor // see expire
	now        func() time.Time
}

// openView opens the bucket, creating it or setting its size limit
// (maxBytes) as needed, and rebuilds the index from it.
func openView(ctx context.Context, js jetstream.JetStream, bucket string, maxBytes int64, now func() time.Time) (*view, error) {
	kv, cfg, err := openBucket(ctx, js, bucket, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %q: %w", bucket, err)
	}
	v := &view{kv: kv, batch: newBatchGet(js.Conn(), cfg, bucket), idx: newIndex(),
		cache: newRecordCache(recordCacheSize, recordCacheMembers), now: now}
	if _, _, err := v.loadFloor(ctx); err != nil {
		return nil, err
	}
	recs, _, err := v.readAll(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		v.idx.put(r)
	}
	return v, nil
}

// openBucket opens or creates the bucket with the size limit maxBytes: a
// flood of events for new ids then fails its writes (naked, then
// dead-lettered, counted as view errors) instead of filling the server.
// It returns the configuration of the bucket's stream too.
func openBucket(ctx context.Context, js jetstream.JetStream, bucket string, maxBytes int64) (jetstream.KeyValue, jetstream.StreamConfig, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: "lightdash-sync: directory groups and users built from NATS events",
			History:     1,
			Storage:     jetstream.FileStorage,
			MaxBytes:    maxBytes,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // created meanwhile by another instance
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, jetstream.StreamConfig{}, err
	}
	// A bucket made earlier, or by an operator, gets the limit too; only
	// the limit changes, so replicas and placement stay as they were.
	stream, err := js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, jetstream.StreamConfig{}, err
	}
	if cfg := stream.CachedInfo().Config; cfg.MaxBytes != maxBytes {
		cfg.MaxBytes = maxBytes
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return nil, cfg, fmt.Errorf("set view_max_bytes to %d: %w", maxBytes, err)
		}
	}
	return kv, stream.CachedInfo().Config, nil
}

// readAll reads every record, tombstones included. Values that do not
// parse are skipped and counted in bad.
func (v *view) readAll(ctx context.Context) (recs []*record, bad int, err error) {
	bad, err = v.scan(ctx, func(_ string, _ uint64, r *record) { recs = append(recs, r) })
	if err != nil {
		return nil, 0, err
	}
	return recs, bad, nil
}

// scan calls fn for every record with its key and revision, and counts
// the values that do not parse.
func (v *view) scan(ctx context.Context, fn func(key string, rev uint64, r *record)) (bad int, err error) {
	w, err := v.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return 0, fmt.Errorf("read view: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("read view: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return 0, errors.New("read view: watcher closed before the end of the bucket")
			}
			if e == nil { // the initial values are all delivered
				return bad, nil
			}
			if e.Key() == floorKey {
				continue
			}
			r := &record{}
			if err := json.Unmarshal(e.Value(), r); err != nil || r.ID == "" {
				bad++
				continue
			}
			fn(e.Key(), e.Revision(), r)
		}
	}
}

// get returns the record under key, nil if there is none, with its revision.
func (v *view) get(ctx context.Context, key string) (*record, uint64, error) {
	e, err := v.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read view entry: %w", err)
	}
	r := &record{}
	if err := json.Unmarshal(e.Value(), r); err != nil {
		return nil, e.Revision(), fmt.Errorf("view entry %s is not a record: %w", key, err)
	}
	return r, e.Revision(), nil
}

// applied is what applying one event did.
type applied struct {
	// Stale: the view already holds a newer state; nothing was written.
	Stale bool
	// GroupIDs and UserIDs name what the event may have changed, for the
	// sources.Change.
	GroupIDs []string
	UserIDs  []string
}

// affected lists what an event may have changed, from the index: the
// group and every group it is nested in, or every group the user is (or
// was, under oldEmail) a member of.
func (v *view) affected(e *Event, n *record, oldEmail string) applied {
	if n.Kind == kindGroup {
		var users []string // the members a delta changed
		if e.Type == TypeMembersAdded || e.Type == TypeMembersRemoved {
			for _, m := range e.Data.Members {
				users = append(users, cmpOr(m.ID, ident.EmailKey(m.Email)))
			}
		}
		return applied{GroupIDs: v.idx.groupsContaining([]string{n.ID}, nil), UserIDs: users}
	}
	keys := v.idx.userKeys(n.ID, oldEmail, n.Email)
	return applied{GroupIDs: v.idx.groupsContaining(nil, keys), UserIDs: []string{n.ID}}
}
