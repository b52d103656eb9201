package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestSIGTERMDuringBusyApplyLosesNothing stops the daemon while it is
// working through a backlog of events against a slow Lightdash, starts it
// again, and checks that every event's group arrived exactly once.
func TestSIGTERMDuringBusyApplyLosesNothing(t *testing.T) {
	e := newCheckEnv(t)
	ada := e.ld.AddUser("ada@example.com", lightdash.RoleViewer)
	e.ld.SetLatency(150 * time.Millisecond)
	cfgPath := e.config(t, e.ld.AdminToken())
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(b, []byte("schedule: {debounce: 5ms, max_delay: 50ms}\nsync: {concurrency: 2}\n")...), 0o600)

	var logs *syncBuffer
	start := func() (context.CancelFunc, chan int) {
		ctx, cancel := context.WithCancel(context.Background())
		exited := make(chan int, 1)
		logs = &syncBuffer{}
		go func() { exited <- Main(ctx, []string{"run", "--config", cfgPath}, &syncBuffer{}, logs) }()
		return cancel, exited
	}
	cancel, exited := start()

	nc, err := natsgo.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	// After the start-up reconciliation, so the backlog is worked through
	// as events (a full reconciliation in progress at SIGTERM is given up
	// to the shutdown deadline to finish).
	addr := adminAddr(t, logs)
	testutil.Eventually(t, "/readyz", func() bool { code, _ := httpGet("http://" + addr + "/readyz"); return code == 200 })
	const n = 40
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("evt-%d", i)
		msg := natsgo.NewMsg("directory.groups")
		msg.Header.Set("Nats-Msg-Id", id)
		msg.Data = []byte(fmt.Sprintf(`{"specversion":"1.0","id":"%s","source":"/test","type":"io.lightdash-sync.group.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"g%d","name":"group-%02d","members":[{"email":"ada@example.com"}]}}`, id, i, i))
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "some groups to be created", func() bool { return len(e.ld.Groups()) >= 5 })
	cancel() // SIGTERM in the middle of the backlog
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("run exited %d on SIGTERM, want 0", code)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("run did not stop on SIGTERM")
	}
	if got := len(e.ld.Groups()); got >= n {
		t.Fatalf("all %d groups were already created before the stop (%d); the test proves nothing\n%s", n, got, logs.String())
	}

	cancel, exited = start()
	defer func() { cancel(); <-exited }()
	testutil.Eventually(t, "every event's group", func() bool { return len(e.ld.Groups()) == n })
	seen := map[string]int{}
	for _, g := range e.ld.Groups() {
		seen[g.Name]++
		if len(g.MemberUUIDs) != 1 || g.MemberUUIDs[0] != ada.UserUUID {
			t.Errorf("%s has members %v, want ada", g.Name, g.MemberUUIDs)
		}
	}
	for name, c := range seen {
		if c != 1 || !strings.HasPrefix(name, "group-") {
			t.Errorf("group %q appears %d times", name, c)
		}
	}
}
