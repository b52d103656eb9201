package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

var (
	longFlag = flag.Bool("chaos.long", false, "run the long chaos scenario (1,200 changes, 200 groups, 12 kills; about 15 minutes)")
	seedFlag = flag.Uint64("chaos.seed", 0, "seed for the fault timing and the changes (0: random, logged)")
	outFlag  = flag.String("chaos.out", "", "keep the daemons' logs, configs and the run's figures (figures.json) in this directory")
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// figures is what a run measured; docs/reliability.md quotes them.
type figures struct {
	Scenario            string             `json:"scenario"`
	Seed                uint64             `json:"seed"`
	Groups              int                `json:"groups"`
	Users               int                `json:"users"`
	MemberAdds          int                `json:"member_adds"`
	MemberRemoves       int                `json:"member_removes"`
	GroupsCreated       int                `json:"groups_created"`
	DriverRetries       int                `json:"driver_retries"`
	Events              map[string]int     `json:"events"`
	FaultsByKind        map[string]int     `json:"lightdash_faults_by_kind"`
	FaultsCutShort      int                `json:"lightdash_faults_cut_short_by_kill"`
	LightdashRequests   int                `json:"lightdash_requests"`
	OutageRefused       int64              `json:"outage_connections_refused"`
	LDAPRefused         int64              `json:"ldap_connections_refused"`
	Runs                int                `json:"daemon_runs"`
	SelfExits           []string           `json:"daemon_self_exits"`
	RetriesLogged       int                `json:"retries_logged"`
	ReportsLogged       int                `json:"failures_reported_in_logs"`
	TimeoutsLogged      int                `json:"client_timeouts_retried"`
	ReplayedByTransport int                `json:"dropped_gets_replayed_by_net_http"`
	FaultDuration       string             `json:"fault_phase"`
	TimeToConverge      string             `json:"time_to_converge"`
	TimeToRequestRun    string             `json:"time_to_requested_reconciliation"`
	LastRun             map[string]float64 `json:"last_run"`
}

// TestChaos is issue 10's "Faults" test: see the package documentation.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs the daemon for a minute or more; not in -short mode")
	}
	ldaptest.RequireSlapd(t)
	sc := shortScenario
	if *longFlag {
		sc = longScenario
	}
	seed := *seedFlag
	if seed == 0 {
		seed = mrand.Uint64()
	}
	t.Logf("chaos %s scenario, seed %d (replay the same changes and fault timing with -chaos.seed %d)", sc.Name, seed, seed)
	rng := func(stream uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, stream)) }
	bin := binary(t)
	outDir := outputDir(t, "")
	fig := figures{Scenario: sc.Name, Seed: seed, Events: map[string]int{}}

	// The directory, behind a proxy that can cut the daemon off from it.
	bindPassword := "bind-" + randomHex(12)
	ldif, model := seedLDIF(sc, rng(1))
	slapd := ldaptest.Start(t, ldaptest.WithSeed(ldif), func(c *ldaptest.Config) {
		c.ReaderPassword = bindPassword
		c.SessionLog = 10000
	})
	ldapProxy, err := NewProxy(hostPort(t, slapd.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ldapProxy.Close() })

	ns := natstest.RunServer(t)
	natsURL := ns.ClientURL()

	// Lightdash, behind a proxy for the full outage. Every directory user
	// has an account; one group was made by hand and must survive.
	ld := lightdashtest.NewServer(lightdashtest.WithSeed(seed))
	t.Cleanup(ld.Close)
	t.Cleanup(func() {
		if t.Failed() {
			saveRequests(t, filepath.Join(outDir, "lightdash-requests.jsonl"), ld.Requests())
		}
	})
	ldProxy, err := NewProxy(hostPort(t, ld.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ldProxy.Close() })
	var manualMembers []string
	for i := range sc.Users {
		m := ld.AddUser(userEmail(i), lightdash.RoleViewer)
		if i < 3 {
			manualMembers = append(manualMembers, m.UserUUID)
		}
	}
	manual, err := ld.AddGroup("manual-keep", manualMembers...)
	if err != nil {
		t.Fatal(err)
	}

	adminToken := "admin-" + randomHex(12)
	secretFile := func(name, v string) string {
		p := filepath.Join(outDir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bindFile, adminFile := secretFile("bind-password", bindPassword), secretFile("admin-token", adminToken)
	sup := &supervisor{bin: bin, dir: outDir, ld: ld, adminTok: adminToken,
		secrets: []string{ld.AdminToken(), bindPassword, adminToken}}
	sup.config = daemonSettings{
		LightdashAddr: ldProxy.Addr(), LDAPAddr: ldapProxy.Addr(), BindDN: slapd.ReaderDN(), BindFile: bindFile,
		NATSURL: natsURL, AdminTokenFile: adminFile, LightdashTimeout: sc.LightdashTimeout, LeaseTTL: sc.LeaseTTL,
	}.yaml
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); sup.killAll() })
	supDone := make(chan struct{})
	go func() { defer close(supDone); sup.run(ctx) }()

	// Start from a daemon that has caught up, so a broken setup fails fast
	// and clearly rather than as "did not converge".
	waitCtx, waitCancel := context.WithTimeout(ctx, sc.Converge)
	ready := false
	for !ready && waitCtx.Err() == nil {
		if p := sup.running(waitCtx); p != nil {
			code, _ := httpGet(waitCtx, p.url("/readyz"))
			ready = code == 200
		}
		sleep(waitCtx, 200*time.Millisecond)
	}
	waitCancel()
	if !ready {
		t.Fatalf("the first daemon did not become ready within %s; see %s\n%s", sc.Converge, outDir, tail(sup.runs(), 30))
	}
	if got, _ := lightdashGroups(ld); len(got) != sc.Groups+1 {
		t.Fatalf("after start-up Lightdash has %d groups, want %d", len(got), sc.Groups+1)
	}

	// The faults.
	faultsStart := time.Now()
	chaosCtx, stopChaos := context.WithCancel(ctx)
	drv := &driver{slapd: slapd, rng: rng(2), users: sc.Users, model: model}
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); drv.run(chaosCtx, sc, sc.Duration-time.Second) }()
	go func() { defer bg.Done(); rotateFaults(chaosCtx, ld, rng(3)) }()
	evs := timeline(sc, rng(4))
	for _, ev := range evs {
		sleep(ctx, time.Until(faultsStart.Add(ev.At)))
		t.Logf("%s", ev)
		fig.Events[string(ev.Kind)]++
		switch ev.Kind {
		case evKill:
			if sup.signal(syscall.SIGKILL) == nil {
				fig.Events[string(ev.Kind)]--
				t.Logf("  (no daemon was running)")
			}
		case evNATSRestart:
			ns = natstest.Restart(t, ns, nil)
		case evSlapdRestart:
			slapd.Restart()
		case evCutLDAP:
			ldapProxy.Cut()
		case evRestoreLDAP:
			ldapProxy.Restore()
		case evOutageStart:
			ldProxy.Cut()
		case evOutageEnd:
			ldProxy.Restore()
		}
	}
	sleep(ctx, time.Until(faultsStart.Add(sc.Duration)))
	stopChaos()
	bg.Wait()
	ld.ClearFaults()
	ldapProxy.Restore()
	ldProxy.Restore()
	faultsStopped := time.Now()
	fig.FaultDuration = faultsStopped.Sub(faultsStart).Round(time.Second).String()
	fig.MemberAdds, fig.MemberRemoves, fig.GroupsCreated, fig.DriverRetries = drv.counts()
	fig.Groups, fig.Users = sc.Groups+fig.GroupsCreated, sc.Users
	t.Logf("faults stopped after %s: %d member adds, %d removes, %d groups created", fig.FaultDuration, fig.MemberAdds, fig.MemberRemoves, fig.GroupsCreated)

	// One full reconciliation, asked for with the admin token.
	want, err := readDirectory(slapd)
	if err != nil {
		t.Fatalf("read the directory: %v", err)
	}
	if len(want) != fig.Groups {
		t.Fatalf("slapd holds %d groups, the driver made %d", len(want), fig.Groups)
	}
	last, took, equalAfter := requestReconcile(t, ctx, sup, sc, ld, want, faultsStopped)
	fig.TimeToRequestRun = took.Round(100 * time.Millisecond).String()
	fig.TimeToConverge = equalAfter.Round(100 * time.Millisecond).String()

	// Lightdash equals the directory.
	got, count := lightdashGroups(ld)
	checkState(t, want, got, count, manual)
	reqs := ld.Requests()
	saveRequests(t, filepath.Join(outDir, "lightdash-requests.jsonl"), reqs)
	for _, r := range reqs {
		if r.Method == "DELETE" && r.Endpoint == "/api/v1/groups/{groupUuid}" {
			t.Errorf("a group was deleted (%s, status %d), but the directory deleted none", r.Path, r.Status)
		}
	}

	// A graceful stop of the last run, then the accounting.
	// The last run's counters, once every faulted request has ended: a
	// hang started just before the faults stopped ends at the client's
	// timeout, and its retry is counted then.
	sleep(ctx, time.Until(faultsStopped.Add(2*sc.LightdashTimeout+time.Second)))
	sup.scrapeOnce(ctx, last)
	sup.stopRestarts()
	sup.signal(syscall.SIGTERM)
	<-supDone
	cancel()
	sup.killAll()
	if last.exitErr != nil {
		t.Errorf("the last daemon exited with %v on SIGTERM, want 0", last.exitErr)
	}
	checkAccounting(t, sup, ld, &fig, ldProxy, ldapProxy)

	b, _ := json.MarshalIndent(fig, "", "  ")
	t.Logf("figures:\n%s", b)
	_ = os.WriteFile(filepath.Join(outDir, "figures.json"), b, 0o600)
}

// saveRequests writes the fake's request log, one JSON object a line.
func saveRequests(t *testing.T, path string, reqs []lightdashtest.Request) {
	var b strings.Builder
	for _, r := range reqs {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Error(err)
	}
}

// tail returns the last n log lines of the latest run, for failures.
func tail(runs []*proc, n int) string {
	if len(runs) == 0 {
		return "(no daemon ran)"
	}
	b, _ := os.ReadFile(runs[len(runs)-1].stderrPath())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkState compares Lightdash with the directory: every group there,
// once, with exactly the directory's members, nothing left behind, and the
// hand-made group untouched.
func checkState(t *testing.T, want, got map[string][]string, count map[string]int, manual lightdash.GroupWithMembers) {
	t.Helper()
	lower := map[string]int{}
	for name, n := range count {
		lower[strings.ToLower(strings.TrimSpace(name))] += n
	}
	var names []string
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	bad := 0
	for _, name := range names {
		switch g, ok := got[name]; {
		case !ok:
			t.Errorf("group %s is missing from Lightdash", name)
			bad++
		case lower[strings.ToLower(name)] != 1:
			t.Errorf("group %s is in Lightdash %d times (counting names case-insensitively)", name, lower[strings.ToLower(name)])
			bad++
		case strings.Join(g, ",") != strings.Join(want[name], ","):
			t.Errorf("group %s has members %v, want %v", name, g, want[name])
			bad++
		}
		if bad > 20 {
			t.Fatal("too many differences; stopping")
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && name != manual.Name {
			t.Errorf("group %s is in Lightdash but not in the directory (left behind or made up)", name)
		}
	}
	wantManual := []string{userEmail(0), userEmail(1), userEmail(2)}
	if g, ok := got[manual.Name]; !ok || strings.Join(g, ",") != strings.Join(wantManual, ",") {
		t.Errorf("the hand-made group %s has members %v (present: %v), want %v untouched", manual.Name, g, ok, wantManual)
	}
}
