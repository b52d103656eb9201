package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// BenchmarkConsume measures the source's throughput against a real
// embedded nats-server: N members_added events over G groups are in the
// stream before Watch starts, and the clock runs until every event has
// been turned into a change, acknowledged, and the view holds every
// member. The daemon is stood in for by a goroutine that drains the
// changes channel as fast as it can, either acknowledging each change at
// once (ack=now) or holding them and acknowledging all it holds every
// 200ms (ack=held), which is how the daemon's debounce and group
// reconciliation hold events in flight. No Lightdash is involved.
//
//	go test -run '^$' -bench BenchmarkConsume -benchtime 1x -count 3 ./sources/nats/
func BenchmarkConsume(b *testing.B) {
	for _, bc := range []struct {
		events, groups int
		hold           time.Duration
	}{
		{5000, 100, 0},
		{5000, 100, 200 * time.Millisecond},
		{50000, 100, 200 * time.Millisecond},
	} {
		mode := "now"
		if bc.hold > 0 {
			mode = "held"
		}
		b.Run(fmt.Sprintf("events=%d/groups=%d/ack=%s", bc.events, bc.groups, mode), func(b *testing.B) {
			var total, cpu time.Duration
			for i := 0; i < b.N; i++ {
				wall, used := consumeOnce(b, bc.events, bc.groups, bc.hold)
				total += wall
				cpu += used
			}
			b.ReportMetric(float64(bc.events*b.N)/total.Seconds(), "events/s")
			// CPU per event (this process: the source and the embedded
			// server) is steadier than events/s on a shared machine.
			b.ReportMetric(float64(cpu.Microseconds())/float64(bc.events*b.N), "cpu-µs/event")
		})
	}
}

// consumeOnce runs one measured consumption on a fresh server and returns
// the wall and CPU time it took.
func consumeOnce(b *testing.B, events, groups int, hold time.Duration) (wall, cpu time.Duration) {
	b.StopTimer()
	srv := natstest.RunServer(b)
	defer natstest.Shutdown(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := Config{
		Name: "bench", URLs: []string{srv.ClientURL()}, Stream: testStream, Subjects: []string{"directory.>"},
		CreateStream: true, DuplicateWindow: time.Second,
	}
	// Warnings go to stderr: a slow run shows why (redeliveries, missed deliveries).
	src, err := New(ctx, cfg, zap.Must(zap.NewDevelopment(zap.IncreaseLevel(zap.WarnLevel))), nil)
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	defer src.Close()
	publishBurst(ctx, b, srv.ClientURL(), events, groups)

	b.StartTimer()
	began, cpuBefore := time.Now(), cpuTime(b)
	changes := make(chan sources.Change)
	wctx, stop := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() { watched <- src.Watch(wctx, changes) }()
	drain(ctx, b, changes, events, hold)
	// The view must hold every member: a change is only sent once its
	// event is in the view, so this checks rather than waits. Snapshot
	// reads the bucket in one pass; ReadGroups would add a read per member.
	snap, err := src.Snapshot(ctx)
	if err != nil {
		b.Fatalf("Snapshot: %v", err)
	}
	members := 0
	for _, g := range snap.Groups {
		members += len(g.MemberUsers)
	}
	if len(snap.Groups) != groups || members != events {
		b.Fatalf("view holds %d groups with %d members, want %d with %d", len(snap.Groups), members, groups, events)
	}
	wall, cpu = time.Since(began), cpuTime(b)-cpuBefore
	b.StopTimer()
	stop()
	if err := <-watched; err != nil {
		b.Fatalf("Watch: %v", err)
	}
	return wall, cpu
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drain receives want changes and acknowledges them, at once (hold 0) or
// every hold.
func drain(ctx context.Context, b *testing.B, changes <-chan sources.Change, want int, hold time.Duration) {
	var held []sources.Change
	release := func() {
		for _, c := range held {
			c.Done(nil)
		}
		held = held[:0]
	}
	var tick <-chan time.Time
	if hold > 0 {
		t := time.NewTicker(hold)
		defer t.Stop()
		tick = t.C
	}
	for got := 0; got < want; {
		select {
		case c := <-changes:
			got++
			held = append(held, c)
			if hold == 0 {
				release()
			}
		case <-tick:
			release()
		case <-ctx.Done():
			b.Fatalf("%d of %d changes after %v", got, want, ctx.Err())
		}
	}
	release()
}

// publishBurst puts events members_added events into the stream, spread
// round-robin over groups groups, each adding one user; the sequence
// grows per group, as a real producer's would.
func publishBurst(ctx context.Context, b *testing.B, url string, events, groups int) {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatalf("producer: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range events {
		sq := uint64(i/groups + 1)
		e := &Event{
			SpecVersion: SpecVersion, ID: fmt.Sprintf("evt-%d", i), Source: "/bench", Type: TypeMembersAdded,
			Time: now, Sequence: &sq, DataContentType: ContentType,
			Data: Data{ID: fmt.Sprintf("g-%d", i%groups), Members: []Member{{ID: fmt.Sprintf("u-%d", i)}}},
		}
		raw, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		msg := nats.NewMsg(testSubject)
		msg.Data = raw
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		if _, err := js.PublishMsgAsync(msg); err != nil {
			b.Fatalf("publish: %v", err)
		}
		if (i+1)%2048 == 0 { // below the 4,096 outstanding at which publishing fails
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				b.Fatal("publishing did not complete")
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("publishing did not complete")
	}
	st, err := js.Stream(ctx, testStream)
	if err != nil {
		b.Fatal(err)
	}
	if info, err := st.Info(ctx); err != nil || info.State.Msgs != uint64(events) {
		b.Fatalf("stream holds %v events (%v), want %d", info, err, events)
	}
}

// BenchmarkReadGroups: what the daemon reads after a burst, 100 groups of
// 200 members, half of them described by a user.upserted (each such member
// is a key-value read).
//
//	go test -run '^$' -bench BenchmarkReadGroups -count 3 ./sources/nats/
func BenchmarkReadGroups(b *testing.B) {
	srv := natstest.RunServer(b)
	ctx := context.Background()
	src, err := New(ctx, Config{Name: "bench", URLs: []string{srv.ClientURL()}, Stream: testStream,
		Subjects: []string{"directory.>"}, CreateStream: true}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var events []*Event
	ids := make([]string, 100)
	for g := range ids {
		ids[g] = fmt.Sprintf("g-%d", g)
		up := &Event{ID: "up-" + ids[g], Type: TypeGroupUpserted, Time: time.Now(), Data: Data{ID: ids[g], Name: ids[g]}}
		for m := range 200 {
			up.Data.Members = append(up.Data.Members, Member{ID: fmt.Sprintf("u-%d", g*200+m)})
		}
		events = append(events, up)
	}
	for u := 0; u < 100*200; u += 2 {
		id := fmt.Sprintf("u-%d", u)
		events = append(events, &Event{ID: "up-" + id, Type: TypeUserUpserted, Time: time.Now(),
			Data: Data{ID: id, Email: id + "@example.com"}})
	}
	for i := 0; i < len(events); i += 256 {
		for _, o := range src.view.applyAll(ctx, events[i:min(i+256, len(events))]) {
			if o.err != nil {
				b.Fatal(o.err)
			}
		}
	}
	for b.Loop() {
		snap, err := src.ReadGroups(ctx, ids)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Groups) != 100 || len(snap.Users) != 100*200 {
			b.Fatalf("%d groups, %d users", len(snap.Groups), len(snap.Users))
		}
	}
}
