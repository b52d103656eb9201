package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// TestUnitKeys: a named target appends its name to everything a unit
// writes beside others (state and lease key, LDAP cookie key); the
// unnamed unit keeps the keys it always had.
func TestUnitKeys(t *testing.T) {
	sc := config.Source{Name: "corp", Type: "ldap", LDAP: &config.LDAPSource{GroupBaseDN: "OU=Groups,DC=Example", UserBaseDN: "ou=people,dc=example"}}
	lc := unitLDAPConfig(sc, "")
	if lc.CookieKey != "" {
		t.Errorf("unnamed unit: cookie key %q, want the ldap package's default", lc.CookieKey)
	}
	// The ldap package's default key (ldap.Config.CookieKey), then the name.
	want := "ldap/corp/ou=groups,dc=example|ou=people,dc=example/prod"
	if got := unitLDAPConfig(sc, "prod").CookieKey; got != want {
		t.Errorf("cookie key of target prod: got %q, want %q", got, want)
	}
	single := &config.Config{Lightdash: config.Lightdash{URL: "https://bi.example.com"}}
	prod := &config.Config{Lightdash: config.Lightdash{URL: "https://bi.example.com"}, TargetName: "prod"}
	staging := &config.Config{Lightdash: config.Lightdash{URL: "https://bi.example.com"}, TargetName: "staging"}
	if got := stateKey(single); got != "target-"+shortHash("https://bi.example.com") {
		t.Errorf("unnamed unit: state key %q changed", got)
	}
	if stateKey(prod) == stateKey(staging) || !strings.HasSuffix(stateKey(prod), "-prod") {
		t.Errorf("two organizations on one URL share a key: %q, %q", stateKey(prod), stateKey(staging))
	}
}

// targetsEnv is one NATS and two fake Lightdash instances, x and y.
type targetsEnv struct {
	nats   *server.Server
	ld     map[string]*lightdashtest.Server
	ada    map[string]lightdash.OrgMember
	dir    string
	js     jetstream.JetStream
	tokens map[string]string // "replica/target" → token file
}

func newTargetsEnv(t *testing.T) *targetsEnv {
	e := &targetsEnv{nats: natstest.RunServer(t), ld: map[string]*lightdashtest.Server{}, ada: map[string]lightdash.OrgMember{}, dir: t.TempDir(), tokens: map[string]string{}}
	for _, name := range []string{"x", "y"} {
		s := lightdashtest.NewServer()
		t.Cleanup(s.Close)
		e.ld[name] = s
		e.ada[name] = s.AddUser("ada@example.com", lightdash.RoleViewer)
	}
	nc, err := natsgo.Connect(e.nats.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.js, _ = jetstream.New(nc)
	return e
}

// token gives replica its own admin user on target's fake, so the fake's
// request log tells the replicas' writes apart; it returns the token file.
func (e *targetsEnv) token(t *testing.T, replica, target string) (string, lightdash.OrgMember) {
	u := e.ld[target].AddUser(replica+"@ops.example.com", lightdash.RoleAdmin)
	p := filepath.Join(e.dir, replica+"-"+target+".token")
	if err := os.WriteFile(p, []byte(e.ld[target].AddToken(u.UserUUID)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, u
}

// config writes a two-target configuration; extra is appended as is.
func (e *targetsEnv) config(t *testing.T, name, tokenX, tokenY, extra string) string {
	cfg := `
log: {level: info}
sources:
  - name: events
    type: nats
    nats: {urls: ["` + e.nats.ClientURL() + `"], create_stream: true}
mapping: {rules: [{name: all}]}
schedule: {debounce: 10ms, max_delay: 100ms}
targets:
  - name: x
    lightdash: {url: "` + e.ld["x"].URL() + `", token_file: "` + tokenX + `"}
  - name: y
    lightdash: {url: "` + e.ld["y"].URL() + `", token_file: "` + tokenY + `"}
` + extra
	p := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *targetsEnv) publish(t *testing.T, id, group string) {
	msg := natsgo.NewMsg("directory.groups")
	msg.Header.Set("Nats-Msg-Id", id)
	msg.Data = []byte(`{"specversion":"1.0","id":"` + id + `","source":"/test","type":"io.lightdash-sync.group.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"` + group + `","name":"` + group + `","members":[{"email":"ada@example.com"}]}}`)
	if _, err := e.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// hasGroup reports whether target's Lightdash holds group with ada as its
// only member.
func (e *targetsEnv) hasGroup(target, name string) bool {
	for _, g := range e.ld[target].Groups() {
		if g.Name == name && len(g.MemberUUIDs) == 1 && g.MemberUUIDs[0] == e.ada[target].UserUUID {
			return true
		}
	}
	return false
}

// writers counts target's writes by the user that made them.
func (e *targetsEnv) writers(target string) map[string]int {
	out := map[string]int{}
	for _, r := range e.ld[target].Requests() {
		if r.IsWrite() {
			out[r.UserUUID]++
		}
	}
	return out
}

// targetStatus is what the tests read from /status.json.
type targetStatus struct {
	Targets []struct {
		Target    string
		Lightdash string
		Leader    struct {
			IsLeader bool `json:"isLeader"`
			Identity string
		}
		LastReconcile *struct{ Result string } `json:"lastReconcile"`
	}
}

func readTargetStatus(t *testing.T, addr string) (targetStatus, bool) {
	var st targetStatus
	code, body := httpGet("http://" + addr + "/status.json")
	if code != 200 {
		return st, false
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st, true
}

// TestTwoTargetsOneDaemon: one daemon keeps two Lightdash instances in
// step with one directory, each with its own state, durable consumer,
// metrics label and status entry.
func TestTwoTargetsOneDaemon(t *testing.T) {
	e := newTargetsEnv(t)
	tx, _ := e.token(t, "d", "x")
	ty, _ := e.token(t, "d", "y")
	path := e.config(t, "d", tx, ty, `state: {type: nats, source: events}
admin: {listen: "127.0.0.1:0", token: admin-secret-value-42}
`)
	addr := runUntilTestEnds(t, path, daemonOpts{}).addr

	e.publish(t, "evt-1", "eng")
	testutil.Eventually(t, "the group in both targets", func() bool { return e.hasGroup("x", "eng") && e.hasGroup("y", "eng") })

	st, _ := readTargetStatus(t, addr)
	if len(st.Targets) != 2 || st.Targets[0].Target != "x" || st.Targets[1].Target != "y" || st.Targets[0].Lightdash != e.ld["x"].URL() {
		t.Errorf("status lists %+v, want targets x and y", st.Targets)
	}
	_, metrics := httpGet("http://" + addr + "/metrics")
	for _, want := range []string{`target="x"`, `target="y"`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no series with %s", want)
		}
	}
	// Each target has its own state entry and its own durable consumer.
	kv, err := e.js.KeyValue(context.Background(), "lightdash_sync_state")
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := kv.Keys(context.Background())
	for _, name := range []string{"x", "y"} {
		found := false
		for _, k := range keys {
			if strings.HasSuffix(k, "-"+name) {
				found = true
			}
		}
		if !found {
			t.Errorf("no state key for target %s in %v", name, keys)
		}
		if _, err := e.js.Consumer(context.Background(), "DIRECTORY", "lightdash-sync-"+name); err != nil {
			t.Errorf("durable consumer of target %s: %v", name, err)
		}
	}
	if code := httpPost("http://"+addr+"/reconcile?target=nope", "admin-secret-value-42"); code != 404 {
		t.Errorf("POST /reconcile?target=nope: %d, want 404", code)
	}
	if code := httpPost("http://"+addr+"/reconcile?target=y", "admin-secret-value-42"); code != 202 {
		t.Errorf("POST /reconcile?target=y: %d, want 202", code)
	}
	if code := httpPost("http://"+addr+"/reconcile", "admin-secret-value-42"); code != 202 {
		t.Errorf("POST /reconcile: %d, want 202", code)
	}
	_, page := httpGet("http://" + addr + "/status")
	if !strings.Contains(page, "Target x") || !strings.Contains(page, "Target y") {
		t.Error("/status does not show both targets")
	}
}

// TestTwoReplicasShareTwoTargets: two replicas with leader election and
// two targets. Each target has exactly one leader and exactly one writer;
// both targets converge; when a replica stops, the other takes over its
// targets. Which replica leads which target is reported, not asserted.
func TestTwoReplicasShareTwoTargets(t *testing.T) {
	e := newTargetsEnv(t)
	type rep struct {
		name   string
		addr   string
		users  map[string]string // target → the replica's user uuid there
		cancel context.CancelFunc
		exited chan int
		stderr *syncBuffer
	}
	reps := map[string]*rep{}
	for _, name := range []string{"a", "b"} {
		r := &rep{name: name, users: map[string]string{}, exited: make(chan int, 1), stderr: &syncBuffer{}}
		tx, ux := e.token(t, name, "x")
		ty, uy := e.token(t, name, "y")
		r.users["x"], r.users["y"] = ux.UserUUID, uy.UserUUID
		path := e.config(t, name, tx, ty, `state: {type: nats, source: events}
ha: {enabled: true, source: events, lease_ttl: 3s}
admin: {listen: "127.0.0.1:0"}
`)
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		reps[name] = r
		go func() { r.exited <- Main(ctx, []string{"run", "--config", path}, &syncBuffer{}, r.stderr) }()
		t.Cleanup(func() {
			cancel()
			if code := <-r.exited; code != exitOK {
				t.Errorf("replica %s exited %d:\n%s", r.name, code, r.stderr.String())
			}
			r.exited <- exitOK // for a second reader
		})
		r.addr = adminAddr(t, r.stderr)
	}
	// leaders maps each target to the replicas that say they lead it.
	leaders := func() map[string][]string {
		out := map[string][]string{}
		for _, r := range reps {
			st, ok := readTargetStatus(t, r.addr)
			if !ok {
				continue
			}
			for _, ts := range st.Targets {
				if ts.Leader.IsLeader {
					out[ts.Target] = append(out[ts.Target], r.name)
				}
			}
		}
		return out
	}
	testutil.Eventually(t, "one leader per target", func() bool {
		l := leaders()
		return len(l["x"]) == 1 && len(l["y"]) == 1
	})
	e.publish(t, "evt-1", "eng")
	testutil.Eventually(t, "the group in both targets", func() bool { return e.hasGroup("x", "eng") && e.hasGroup("y", "eng") })
	l := leaders()
	if len(l["x"]) != 1 || len(l["y"]) != 1 {
		t.Fatalf("leaders %v, want exactly one per target", l)
	}
	t.Logf("leadership distribution: x led by %s, y led by %s", l["x"][0], l["y"][0])
	// Exactly one writer per target: the replica leading it.
	for _, target := range []string{"x", "y"} {
		w := e.writers(target)
		leader := reps[l[target][0]]
		for user, n := range w {
			if user != leader.users[target] {
				t.Errorf("target %s: %d writes by user %s, not by its leader %s", target, n, user, leader.name)
			}
		}
		if w[leader.users[target]] == 0 {
			t.Errorf("target %s: its leader %s made no writes", target, leader.name)
		}
	}
	// Stop the replica leading x: the other leads both and applies the
	// next event to both.
	gone := reps[l["x"][0]]
	var other *rep
	for _, r := range reps {
		if r != gone {
			other = r
		}
	}
	gone.cancel()
	if code := <-gone.exited; code != exitOK {
		t.Errorf("replica %s exited %d:\n%s", gone.name, code, gone.stderr.String())
	}
	gone.exited <- exitOK
	goneWrites := map[string]int{"x": e.writers("x")[gone.users["x"]], "y": e.writers("y")[gone.users["y"]]}
	testutil.Eventually(t, "the other replica to lead both targets", func() bool {
		st, _ := readTargetStatus(t, other.addr)
		n := 0
		for _, ts := range st.Targets {
			if ts.Leader.IsLeader {
				n++
			}
		}
		return n == 2
	})
	e.publish(t, "evt-2", "ops")
	testutil.Eventually(t, "the second group in both targets", func() bool { return e.hasGroup("x", "ops") && e.hasGroup("y", "ops") })
	for target, n := range goneWrites {
		if got := e.writers(target)[gone.users[target]]; got != n {
			t.Errorf("target %s: the stopped replica made %d writes after it stopped", target, got-n)
		}
	}
}

// TestReconcileTarget: the one-shot commands run every target in turn, or
// the one --target names; an unknown name is a usage error.
func TestReconcileTarget(t *testing.T) {
	e := newTargetsEnv(t)
	tx, _ := e.token(t, "r", "x")
	ty, _ := e.token(t, "r", "y")
	path := e.config(t, "r", tx, ty, "state: {path: "+filepath.Join(e.dir, "state.json")+"}\n")
	fillView(t, e, path)

	code, out, errOut := runMain(t, "reconcile", "--config", path, "--target", "nope")
	if code != exitUsage || !strings.Contains(errOut, `--target "nope": no such target (targets: x, y)`) {
		t.Errorf("reconcile --target nope: exit %d %q, want 2 and the known targets", code, errOut)
	}
	if n := e.ld["x"].WriteCount() + e.ld["y"].WriteCount(); n != 0 {
		t.Fatalf("%d writes before any reconcile", n)
	}
	code, out, errOut = runMain(t, "reconcile", "--config", path, "--target", "y")
	if code != exitOK {
		t.Fatalf("reconcile --target y: exit %d\n%s\n%s", code, out, errOut)
	}
	if !e.hasGroup("y", "eng") || e.ld["x"].WriteCount() != 0 {
		t.Errorf("reconcile --target y: y has eng %v, x writes %d; want only y reconciled", e.hasGroup("y", "eng"), e.ld["x"].WriteCount())
	}
	code, out, errOut = runMain(t, "reconcile", "--config", path)
	if code != exitOK || !strings.Contains(out, "== target x") || !strings.Contains(out, "== target y") {
		t.Fatalf("reconcile: exit %d\n%s\n%s", code, out, errOut)
	}
	if !e.hasGroup("x", "eng") {
		t.Error("reconcile of every target left x without the group")
	}
	for _, name := range []string{"state.x.json", "state.y.json"} {
		if _, err := os.Stat(filepath.Join(e.dir, name)); err != nil {
			t.Errorf("each target keeps its own state file: %v", err)
		}
	}
	code, out, errOut = runMain(t, "check", "--config", path, "--show-config=false")
	if code != exitOK || !strings.Contains(out, "[x] lightdash token") || !strings.Contains(out, "[y] lightdash token") {
		t.Errorf("check: exit %d, want 0 and both targets' tokens checked:\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runMain(t, "check", "--config", path, "--show-config=false", "--target", "y")
	if code != exitOK || strings.Contains(out, "[x]") || !strings.Contains(out, "[y] lightdash token") {
		t.Errorf("check --target y: exit %d, want 0 and only y checked:\n%s", code, out)
	}
	// A failing target does not stop the next, and the exit code is the worst.
	e.ld["x"].Close()
	code, out, _ = runMain(t, "plan", "--config", path)
	if code != exitFailure || !strings.Contains(out, "== target y") {
		t.Errorf("plan with target x down: exit %d, want 1 with y still planned:\n%s", code, out)
	}
	code, _, _ = runMain(t, "plan", "--config", path, "--target", "y", "--detailed-exitcode")
	if code != exitOK {
		t.Errorf("plan --target y --detailed-exitcode: exit %d, want 0 (in step)", code)
	}
}

// TestDryRunFlagReachesTargetWithItsOwnSync: reconcile --dry-run writes to
// no target, y included though its own sync section (copied from the
// shared one when the file was parsed) says nothing of dry runs.
func TestDryRunFlagReachesTargetWithItsOwnSync(t *testing.T) {
	e := newTargetsEnv(t)
	tx, _ := e.token(t, "d", "x")
	ty, _ := e.token(t, "d", "y")
	path := e.config(t, "d", tx, ty, "state: {path: "+filepath.Join(e.dir, "state.json")+"}\n")
	b, _ := os.ReadFile(path)
	withSync := strings.Replace(string(b), "token_file: \""+ty+"\"}\n", "token_file: \""+ty+"\"}\n    sync: {concurrency: 8}\n", 1)
	if withSync == string(b) {
		t.Fatal("fixture: could not give target y a sync section")
	}
	os.WriteFile(path, []byte(withSync), 0o600)
	fillView(t, e, path)
	code, out, errOut := runMain(t, "reconcile", "--dry-run", "--config", path)
	if code != exitOK {
		t.Fatalf("reconcile --dry-run: exit %d\n%s\n%s", code, out, errOut)
	}
	if x, y := e.ld["x"].WriteCount(), e.ld["y"].WriteCount(); x+y != 0 {
		t.Errorf("reconcile --dry-run wrote %d times to x and %d to y, want none", x, y)
	}
	// Without the flag the same file writes to both: the test can fail.
	if code, out, errOut := runMain(t, "reconcile", "--config", path); code != exitOK || !e.hasGroup("x", "eng") || !e.hasGroup("y", "eng") {
		t.Errorf("reconcile: exit %d, x has eng %v, y has eng %v\n%s\n%s", code, e.hasGroup("x", "eng"), e.hasGroup("y", "eng"), out, errOut)
	}
}

// fillView puts a group into the NATS source's view the way production
// does: a dry-run daemon consumes a published event (it writes the view,
// and nothing to Lightdash) and stops.
func fillView(t *testing.T, e *targetsEnv, path string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() {
		exited <- Main(ctx, []string{"run", "--dry-run", "--config", path}, &syncBuffer{}, &syncBuffer{})
	}()
	testutil.Eventually(t, "the stream", func() bool { _, err := e.js.Stream(context.Background(), "DIRECTORY"); return err == nil })
	e.publish(t, "evt-1", "eng")
	testutil.Eventually(t, "the event in the directory view", func() bool {
		kv, err := e.js.KeyValue(context.Background(), "lightdash_sync_directory")
		if err != nil {
			return false
		}
		keys, _ := kv.Keys(context.Background())
		for _, k := range keys {
			if strings.HasPrefix(k, "g.") {
				return true
			}
		}
		return false
	})
	cancel()
	if code := <-exited; code != exitOK {
		t.Fatalf("dry-run daemon exited %d", code)
	}
}
