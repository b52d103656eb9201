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
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// eventEnv is `lightdash-sync run` on a real embedded JetStream and the
// fake Lightdash, with a publisher.
type eventEnv struct {
	*checkEnv
	js     jetstream.JetStream
	emails map[string]string // Lightdash uuid → email
	n      int
	addr   string // the admin listener
}

func newEventEnv(t *testing.T, extraConfig string) *eventEnv {
	t.Helper()
	e := &eventEnv{checkEnv: newCheckEnv(t), emails: map[string]string{}}
	for _, name := range []string{"ada", "bob", "cy"} {
		u := e.ld.AddUser(name+"@example.com", lightdash.RoleViewer)
		e.emails[u.UserUUID] = name
	}
	cfgPath := e.config(t, e.ld.AdminToken())
	b, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(b), "      create_stream: true\n", "      create_stream: true\n      backoff: [200ms]\n", 1) +
		"schedule: {debounce: 10ms, max_delay: 100ms}\n" + extraConfig
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	e.addr = runUntilTestEnds(t, cfgPath, daemonOpts{}).addr
	nc, err := natsgo.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.js, _ = jetstream.New(nc)
	return e
}

func (e *eventEnv) publish(t *testing.T, typ, subject, data string) {
	t.Helper()
	e.n++
	id := fmt.Sprintf("evt-%d", e.n)
	msg := natsgo.NewMsg(subject)
	msg.Header.Set("Nats-Msg-Id", id)
	msg.Data = []byte(fmt.Sprintf(`{"specversion":"1.0","id":"%s","source":"/test","type":"io.lightdash-sync.%s","time":"%s","data":%s}`,
		id, typ, time.Now().UTC().Format(time.RFC3339Nano), data))
	if _, err := e.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// members is the named Lightdash group's members, or "<none>".
func (e *eventEnv) members(name string) string {
	if ms, ok := e.ld.GroupMembers(name, e.emails); ok {
		return strings.Join(ms, ",")
	}
	return "<none>"
}

func (e *eventEnv) reconcileNow(t *testing.T) {
	t.Helper()
	if code := httpPost("http://"+e.addr+"/reconcile", "admin-secret-value-42"); code != 202 {
		t.Fatalf("POST /reconcile = %d", code)
	}
}

// TestEachEventTypeEndToEnd publishes every event type through the real
// daemon into the fake Lightdash.
func TestEachEventTypeEndToEnd(t *testing.T) {
	e := newEventEnv(t, "sync: {safety: {delete_grace_period: 0s, delete_after_reads: 1, max_group_deletes_percent: 100, max_member_removals_percent: 100}}\n")
	steps := []struct {
		typ, subject, data string
		group, want        string
	}{
		{"group.upserted", "directory.groups", `{"id":"g1","name":"analysts","members":[{"id":"u-ada","email":"ada@example.com"},{"id":"u-bob","email":"bob@example.com"}]}`, "analysts", "ada,bob"},
		{"group.members_added", "directory.groups", `{"id":"g1","members":[{"id":"u-cy","email":"cy@example.com"}]}`, "analysts", "ada,bob,cy"},
		{"group.members_removed", "directory.groups", `{"id":"g1","members":[{"id":"u-ada"}]}`, "analysts", "bob,cy"},
		{"user.upserted", "directory.users", `{"id":"u-bob","email":"bob@example.com","enabled":false}`, "analysts", "cy"},
		{"user.upserted", "directory.users", `{"id":"u-bob","email":"bob@example.com","enabled":true}`, "analysts", "bob,cy"},
		{"user.deleted", "directory.users", `{"id":"u-cy"}`, "analysts", "bob"},
		{"group.upserted", "directory.groups", `{"id":"g1","name":"data-analysts","members":[{"id":"u-bob"}]}`, "data-analysts", "bob"},
	}
	for _, s := range steps {
		e.publish(t, s.typ, s.subject, s.data)
		deadline := time.Now().Add(15 * time.Second)
		for e.members(s.group) != s.want {
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: %s = %s, want %s", s.typ, s.data, s.group, e.members(s.group), s.want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if got := e.members("analysts"); got != "<none>" {
		t.Errorf("after the rename, a group called analysts still exists (%s): not renamed in place", got)
	}

	// group.deleted: the event alone deletes nothing; the next full
	// reconciliation (here with no grace) does.
	e.publish(t, "group.deleted", "directory.groups", `{"id":"g1"}`)
	time.Sleep(300 * time.Millisecond) // let the event be applied; nothing must happen
	if got := e.members("data-analysts"); got != "bob" {
		t.Fatalf("a group.deleted event changed the group by itself (%s)", got)
	}
	e.reconcileNow(t)
	testutil.Eventually(t, "the full reconciliation to delete the group", func() bool { return e.members("data-analysts") == "<none>" })
}

// TestLightdashDownEventsWaitAndDeadLetter: while Lightdash fails, events
// are naked and redelivered, and applied once it is back; an event that
// fails max_deliver times lands on the dead-letter subject.
func TestLightdashDownEventsWaitAndDeadLetter(t *testing.T) {
	e := newEventEnv(t, "")
	e.publish(t, "group.upserted", "directory.groups", `{"id":"g1","name":"analysts","members":[{"email":"ada@example.com"}]}`)
	testutil.Eventually(t, "analysts", func() bool { return e.members("analysts") == "ada" })

	e.ld.SetFailureRate(1, lightdashtest.Fault{Status: 503})
	e.publish(t, "group.members_added", "directory.groups", `{"id":"g1","members":[{"email":"bob@example.com"}]}`)
	testutil.Eventually(t, "failed attempts", func() bool {
		n := 0
		for _, r := range e.ld.Requests() {
			if r.Fault != "" {
				n++
			}
		}
		return n >= 3
	})
	if got := e.members("analysts"); got != "ada" {
		t.Fatalf("analysts = %s while Lightdash is down", got)
	}
	e.ld.ClearFaults()
	testutil.Eventually(t, "the event applied once Lightdash is back", func() bool { return e.members("analysts") == "ada,bob" })
}

func TestEventsDeadLetterAfterMaxDeliver(t *testing.T) {
	e := newEventEnv(t, "")
	dl, err := e.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "DEADLETTERS", Subjects: []string{"lightdash-sync.dead-letter"}})
	if err != nil {
		t.Fatal(err)
	}
	e.ld.SetFailureRate(1, lightdashtest.Fault{Status: 503})
	e.publish(t, "group.upserted", "directory.groups", `{"id":"g9","name":"doomed","members":[{"email":"ada@example.com"}]}`)
	testutil.Eventually(t, "the event on the dead-letter subject", func() bool {
		info, err := dl.Info(context.Background())
		return err == nil && info.State.Msgs >= 1
	})
}
