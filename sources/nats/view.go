package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
)

// view is the materialised view: one key-value entry per group and per
// user, the state the applied events add up to. It is what Snapshot and
// ReadGroups read, since NATS has no directory to read in full. It lives
// in JetStream, so it survives restarts of the source and of the server.
type view struct {
	kv    jetstream.KeyValue
	idx   *index
	cache *recordCache // what this process last wrote, to skip the read before a write
	// maxSeqJump is Config.MaxSequenceJump, set by New.
	maxSeqJump uint64
}

func openView(ctx context.Context, js jetstream.JetStream, bucket string) (*view, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: "lightdash-sync: directory groups and users built from NATS events",
			History:     1,
			Storage:     jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // created meanwhile by another instance
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %q: %w", bucket, err)
	}
	v := &view{kv: kv, idx: newIndex(), cache: newRecordCache(recordCacheSize, recordCacheMembers)}
	recs, _, err := v.readAll(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		v.idx.put(r)
	}
	return v, nil
}

// readAll reads every record, tombstones included. Values that do not
// parse are skipped and counted in bad.
func (v *view) readAll(ctx context.Context) (recs []*record, bad int, err error) {
	w, err := v.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, 0, fmt.Errorf("read view: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("read view: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, 0, errors.New("read view: watcher closed before the end of the bucket")
			}
			if e == nil { // the initial values are all delivered
				return recs, bad, nil
			}
			r := &record{}
			if err := json.Unmarshal(e.Value(), r); err != nil || r.ID == "" {
				bad++
				continue
			}
			recs = append(recs, r)
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
	// worker.Change.
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
