package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
	"github.com/lightdash-sync/lightdash-sync/worker/sourcetest"
)

// TestContract runs the source contract suite against an embedded
// JetStream: the Env is an event producer publishing with Publish, and
// the ids are the ones it chooses.
func TestContract(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Env {
		srv := natstest.RunServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		src, err := New(ctx, testConfig(srv), nil, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(src.Close)
		return &natsEnv{
			src: &watchedSource{Source: src}, js: producer(t, srv),
			seqs: map[string]uint64{}, groups: map[string]string{},
		}
	})
}

// watchedSource is the source under test; it records whether the suite
// is watching, so that Settle knows whether someone else consumes.
type watchedSource struct {
	*Source
	mu       sync.Mutex
	watching int
}

func (w *watchedSource) Watch(ctx context.Context, changes chan<- sources.Change) error {
	w.mu.Lock()
	w.watching++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.watching--
		w.mu.Unlock()
	}()
	return w.Source.Watch(ctx, changes)
}

func (w *watchedSource) isWatched() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watching > 0
}

// natsEnv publishes the events an HR system would: full-state upserts
// with a per-entity sequence.
type natsEnv struct {
	src *watchedSource
	js  jetstream.JetStream

	mu      sync.Mutex
	next    int
	seqs    map[string]uint64 // entity → last sequence used
	groups  map[string]string // group id → name
	lastSeq uint64            // stream sequence of the last event
}

var (
	_ sourcetest.Env          = (*natsEnv)(nil)
	_ sourcetest.Settler      = (*natsEnv)(nil)
	_ sourcetest.WatchReadier = (*natsEnv)(nil)
	_ sources.GroupReader     = (*watchedSource)(nil)
	_ sources.Watcher         = (*watchedSource)(nil)
)

func (e *natsEnv) Source() sources.Source { return e.src }

func (e *natsEnv) id(prefix string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	return fmt.Sprintf("%s-%04d", prefix, e.next)
}

func (e *natsEnv) publish(ctx context.Context, t Type, d Data) error {
	e.mu.Lock()
	e.next++
	key := "user:" + d.ID
	if t.IsGroup() {
		key = "group:" + d.ID
	}
	e.seqs[key]++
	seq := e.seqs[key]
	ev := &Event{ID: fmt.Sprintf("evt-%04d", e.next), Source: "/contract", Type: t, Time: time.Now().UTC(), Sequence: &seq, Data: d}
	e.mu.Unlock()
	ack, err := Publish(ctx, e.js, testSubject, ev)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.lastSeq = max(e.lastSeq, ack.Sequence)
	e.mu.Unlock()
	return nil
}

func userData(u sources.DirUser) Data {
	enabled := !u.Disabled
	return Data{ID: u.ID, Email: u.Email, AltEmails: u.AltEmails, DisplayName: u.DisplayName, Enabled: &enabled}
}

func (e *natsEnv) AddUser(ctx context.Context, u sources.DirUser) (string, error) {
	u.ID = e.id("user")
	return u.ID, e.publish(ctx, TypeUserUpserted, userData(u))
}

func (e *natsEnv) UpdateUser(ctx context.Context, u sources.DirUser) error {
	return e.publish(ctx, TypeUserUpserted, userData(u))
}

func groupData(id, name string, users, groups []string) Data {
	d := Data{ID: id, Name: name, Members: []Member{}, MemberGroups: append([]string{}, groups...)} // the full state: [] says none
	for _, u := range users {
		d.Members = append(d.Members, Member{ID: u})
	}
	return d
}

func (e *natsEnv) AddGroup(ctx context.Context, g sources.DirGroup) (string, error) {
	id := e.id("group")
	e.mu.Lock()
	e.groups[id] = g.Name
	e.mu.Unlock()
	return id, e.publish(ctx, TypeGroupUpserted, groupData(id, g.Name, g.MemberUsers, g.MemberGroups))
}

func (e *natsEnv) SetMembers(ctx context.Context, groupID string, users, groups []string) error {
	e.mu.Lock()
	name, ok := e.groups[groupID]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("no group %q was added", groupID)
	}
	return e.publish(ctx, TypeGroupUpserted, groupData(groupID, name, users, groups))
}

func (e *natsEnv) DeleteGroup(ctx context.Context, groupID string) error {
	return e.publish(ctx, TypeGroupDeleted, Data{ID: groupID})
}

// WatchReady returns at once: the consumer is durable, so an event
// published before Watch pulls is still delivered to it.
func (e *natsEnv) WatchReady(context.Context) error { return nil }

// Settle waits until the consumer has acknowledged every event published.
// The view is written by Watch, so when the suite is not watching, Settle
// runs Watch as the daemon would, acknowledging every change, and stops it
// before returning.
func (e *natsEnv) Settle(ctx context.Context) error {
	if !e.src.isWatched() {
		wctx, stop := context.WithCancel(ctx)
		changes := make(chan sources.Change)
		done := make(chan error, 1)
		go func() { done <- e.src.Source.Watch(wctx, changes) }()
		go func() {
			for {
				select {
				case c := <-changes:
					c.Done(nil)
				case <-wctx.Done():
					return
				}
			}
		}()
		defer func() {
			stop()
			<-done
		}()
	}
	e.mu.Lock()
	want := e.lastSeq
	e.mu.Unlock()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		cons, err := e.js.Consumer(ctx, testStream, e.src.cfg.Consumer)
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("settle: %w", err)
		}
		if err == nil {
			info, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("settle: %w", err)
			}
			if info.AckFloor.Stream >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("settle: events up to stream sequence %d not all acknowledged: %w", want, ctx.Err())
		case <-tick.C:
		}
	}
}
