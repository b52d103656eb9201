package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// replica is one `lightdash-sync run` in this process.
type replica struct {
	name   string
	user   lightdash.OrgMember // its token's user: the fake's log tells replicas apart
	addr   string
	cancel context.CancelFunc
	config string
	exited chan struct{} // closed when Main returned
	code   int
	stderr *syncBuffer
}

func (r *replica) isLeader(t *testing.T) bool {
	code, body := httpGet("http://" + r.addr + "/status.json")
	if code != 200 {
		return false
	}
	var st struct {
		Leader struct{ IsLeader bool } `json:"leader"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st.Leader.IsLeader
}

// TestTwoReplicasOnlyTheLeaderWrites runs two daemons with leader election
// on one NATS: only the leader writes to Lightdash; when it stops, the
// standby takes over and applies the next event.
func TestTwoReplicasOnlyTheLeaderWrites(t *testing.T) {
	e := newCheckEnv(t)
	ada := e.ld.AddUser("ada@example.com", lightdash.RoleViewer)
	start := func(name string) *replica {
		r := &replica{name: name, user: e.ld.AddUser(name+"@ops.example.com", lightdash.RoleAdmin), exited: make(chan struct{}), stderr: &syncBuffer{}}
		dir := filepath.Join(e.dir, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		token := filepath.Join(dir, "token")
		os.WriteFile(token, []byte(e.ld.AddToken(r.user.UserUUID)), 0o600)
		cfg := `
log: {level: info}
lightdash: {url: "` + e.ld.URL() + `", token_file: "` + token + `"}
sources:
  - name: events
    type: nats
    nats: {urls: ["` + e.nats.ClientURL() + `"], create_stream: true}
mapping: {rules: [{name: all}]}
state: {type: nats, source: events}
ha: {enabled: true, source: events, lease_ttl: 3s}
schedule: {debounce: 10ms, max_delay: 100ms}
admin: {listen: "127.0.0.1:0"}
`
		path := filepath.Join(dir, "lightdash-sync.yaml")
		os.WriteFile(path, []byte(cfg), 0o600)
		r.config = path
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		go func() {
			r.code = Main(ctx, []string{"run", "--config", path}, &syncBuffer{}, r.stderr)
			close(r.exited)
		}()
		t.Cleanup(func() { cancel(); <-r.exited })
		r.addr = adminAddr(t, r.stderr)
		return r
	}
	writesBy := func(r *replica) int {
		n := 0
		for _, req := range e.ld.Requests() {
			if req.IsWrite() && req.UserUUID == r.user.UserUUID {
				n++
			}
		}
		return n
	}
	nc, err := natsgo.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	publish := func(id, group string) {
		msg := natsgo.NewMsg("directory.groups")
		msg.Header.Set("Nats-Msg-Id", id)
		msg.Data = []byte(`{"specversion":"1.0","id":"` + id + `","source":"/test","type":"io.lightdash-sync.group.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"` + group + `","name":"` + group + `","members":[{"email":"ada@example.com"}]}}`)
		if _, err := js.PublishMsg(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	hasGroup := func(name string) bool {
		for _, g := range e.ld.Groups() {
			if g.Name == name && len(g.MemberUUIDs) == 1 && g.MemberUUIDs[0] == ada.UserUUID {
				return true
			}
		}
		return false
	}

	a := start("a")
	testutil.Eventually(t, "a to lead", func() bool { return a.isLeader(t) })
	b := start("b")
	testutil.Eventually(t, "b to serve its status", func() bool { code, _ := httpGet("http://" + b.addr + "/healthz"); return code == 200 })
	testutil.Eventually(t, "b to be ready as a standby", func() bool { code, _ := httpGet("http://" + b.addr + "/readyz"); return code == 200 })
	if b.isLeader(t) {
		t.Fatal("both replicas lead")
	}

	publish("evt-1", "first")
	testutil.Eventually(t, "the first event's group", func() bool { return hasGroup("first") })
	if n := writesBy(b); n != 0 {
		t.Fatalf("the standby made %d writes", n)
	}

	stopped := time.Now()
	a.cancel()
	<-a.exited
	if a.code != exitOK {
		t.Errorf("the old leader exited %d, want 0:\n%s", a.code, a.stderr.String())
	}
	aWrites := writesBy(a)
	testutil.Eventually(t, "b to take over", func() bool { return b.isLeader(t) })
	t.Logf("takeover after a graceful stop took %s", time.Since(stopped).Round(time.Millisecond))

	publish("evt-2", "second")
	testutil.Eventually(t, "the second event's group", func() bool { return hasGroup("second") })
	if n := writesBy(a); n != aWrites {
		t.Errorf("a made %d writes after it stopped", n-aWrites)
	}
	if writesBy(b) == 0 {
		t.Error("the new leader made no writes")
	}
	for _, g := range e.ld.Groups() {
		if strings.Count(g.Name, "first") > 0 && g.Name != "first" {
			t.Errorf("unexpected group %q", g.Name)
		}
	}
	if n := len(e.ld.Groups()); n != 2 {
		t.Errorf("%d groups in Lightdash, want 2 (no duplicates after the handover)", n)
	}

	// A scheduled reconcile takes the same lease: it refuses to write
	// beside the running leader, and runs once the leader is gone.
	writes := e.ld.WriteCount()
	code, _, errOut := runMain(t, "reconcile", "--config", b.config)
	if code != exitFailure || !strings.Contains(errOut, "holds the lease") {
		t.Errorf("reconcile beside a running leader: exit %d %q, want 1 and a refusal", code, errOut)
	}
	if n := e.ld.WriteCount(); n != writes {
		t.Errorf("the refused reconcile made %d writes", n-writes)
	}
	b.cancel()
	<-b.exited
	if code, out, errOut := runMain(t, "reconcile", "--config", b.config); code != exitOK {
		t.Errorf("reconcile with no daemon running: exit %d\n%s\n%s", code, out, errOut)
	}
}
