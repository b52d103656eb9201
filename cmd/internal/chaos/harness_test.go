package chaos

import (
	"context"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
	"github.com/lightdash-sync/lightdash-sync/sources/nats/natstest"
)

// haRig is what the two-replica tests (TestHandover, TestFlapping) share:
// a seeded slapd, one embedded NATS, the fake Lightdash with every
// directory user and a hand-made group, and a supervisor that starts
// `lightdash-sync run` replicas with ha.enabled, each with its own token.
// The tests start the replicas themselves (no restart loop) and point the
// supervisor at whichever one they mean to signal.
type haRig struct {
	t      *testing.T
	sc     scenario
	seed   uint64
	outDir string
	slapd  *ldaptest.Server
	model  map[string]map[int]bool
	ns     *server.Server
	ld     *lightdashtest.Server
	manual lightdash.GroupWithMembers
	sup    *supervisor
	ctx    context.Context
}

// newHARig builds the rig for the test named name. perRun, if not nil,
// adjusts one run's settings before its configuration is written (to
// route it through a proxy, say).
func newHARig(t *testing.T, name string, sc scenario, perRun func(p *proc, s daemonSettings) daemonSettings) *haRig {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = mrand.Uint64()
	}
	t.Logf("%s %s scenario, seed %d (-chaos.seed %d replays its changes)", name, sc.Name, seed, seed)
	r := &haRig{t: t, sc: sc, seed: seed}
	bin := binary(t)
	r.outDir = outputDir(t, name)

	bindPassword := "bind-" + randomHex(12)
	var ldif []byte
	ldif, r.model = seedLDIF(sc, r.rng(1))
	r.slapd = ldaptest.Start(t, ldaptest.WithSeed(ldif), func(c *ldaptest.Config) { c.ReaderPassword = bindPassword })
	r.ns = natstest.RunServer(t)
	r.ld = lightdashtest.NewServer(lightdashtest.WithSeed(seed))
	t.Cleanup(r.ld.Close)
	t.Cleanup(func() {
		if t.Failed() {
			saveRequests(t, filepath.Join(r.outDir, "lightdash-requests.jsonl"), r.ld.Requests())
		}
	})
	var manualMembers []string
	for i := range sc.Users {
		m := r.ld.AddUser(userEmail(i), lightdash.RoleViewer)
		if i < 3 {
			manualMembers = append(manualMembers, m.UserUUID)
		}
	}
	var err error
	if r.manual, err = r.ld.AddGroup("manual-keep", manualMembers...); err != nil {
		t.Fatal(err)
	}
	adminToken := "admin-" + randomHex(12)
	bindFile, adminFile := filepath.Join(r.outDir, "bind-password"), filepath.Join(r.outDir, "admin-token")
	for path, v := range map[string]string{bindFile: bindPassword, adminFile: adminToken} {
		if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.sup = &supervisor{bin: bin, dir: r.outDir, ld: r.ld, adminTok: adminToken,
		secrets: []string{r.ld.AdminToken(), bindPassword, adminToken}}
	base := daemonSettings{
		LightdashAddr: hostPort(t, r.ld.URL()), LDAPAddr: hostPort(t, r.slapd.URL()), BindDN: r.slapd.ReaderDN(), BindFile: bindFile,
		NATSURL: r.ns.ClientURL(), AdminTokenFile: adminFile, LightdashTimeout: sc.LightdashTimeout, LeaseTTL: sc.LeaseTTL,
	}
	r.sup.config = func(p *proc) string {
		s := base
		if perRun != nil {
			s = perRun(p, s)
		}
		return s.yaml(p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.ctx = ctx
	t.Cleanup(func() { cancel(); r.sup.killAll() })
	return r
}

// rng is the seeded random stream number stream.
func (r *haRig) rng(stream uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(r.seed, stream)) }

// start starts one more replica and scrapes it while it lives.
func (r *haRig) start() *proc {
	r.t.Helper()
	p, err := r.sup.start()
	if err != nil {
		r.t.Fatal(err)
	}
	r.sup.wg.Add(1)
	go func() { defer r.sup.wg.Done(); r.sup.scrape(r.ctx, p) }()
	return p
}

// startPair starts two replicas, the second stagger after the first, and
// waits until exactly one leads and has caught up (Lightdash holds every
// seeded group) while the other is a ready standby. A replica polls the
// lease in step with its start (or its last term), so stagger sets how
// far apart the two replicas' polls fall.
func (r *haRig) startPair(stagger time.Duration) (leader, standby *proc) {
	r.t.Helper()
	a := r.start()
	sleep(r.ctx, stagger)
	b := r.start()
	leader, standby = waitOneLeader(r.t, r.ctx, r.sup, a, b, r.sc.Converge)
	if got, _ := lightdashGroups(r.ld); len(got) != r.sc.Groups+1 {
		r.t.Fatalf("after start-up Lightdash has %d groups, want %d", len(got), r.sc.Groups+1)
	}
	return leader, standby
}

// changes runs the driver over span, one directory change every every,
// until the returned stop is called; stop waits for it, logs its counts
// and returns how many groups it created.
func (r *haRig) changes(span, every time.Duration) (stop func() (created int)) {
	drv := &driver{slapd: r.slapd, rng: r.rng(2), users: r.sc.Users, model: r.model}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		drv.run(ctx, scenario{Groups: r.sc.Groups, NewGroups: r.sc.NewGroups, Changes: int(span / every)}, span)
	}()
	return func() int {
		cancel()
		<-done
		adds, removes, created, retried := drv.counts()
		r.t.Logf("changes stopped: %d member adds, %d removes, %d groups created (%d driver retries)", adds, removes, created, retried)
		return created
	}
}

// directory reads the expected Lightdash state from slapd and checks that
// it holds the seeded groups plus the created ones.
func (r *haRig) directory(created int) map[string][]string {
	r.t.Helper()
	want, err := readDirectory(r.slapd)
	if err != nil {
		r.t.Fatalf("read the directory: %v", err)
	}
	if len(want) != r.sc.Groups+created {
		r.t.Fatalf("slapd holds %d groups, the driver made %d", len(want), r.sc.Groups+created)
	}
	return want
}

// stop sends SIGTERM to each run in turn, which must exit 0.
func (r *haRig) stop(runs ...*proc) {
	r.t.Helper()
	for _, p := range runs {
		r.sup.follow(p)
		r.sup.signal(syscall.SIGTERM)
		if p.exitErr != nil {
			r.t.Errorf("run %d exited with %v on SIGTERM, want 0:\n%s", p.n, p.exitErr, tail([]*proc{p}, 20))
		}
	}
}

// checkOutputs checks the request log for deletions (the directory
// deleted nothing) and every run's output and scrapes for secrets.
func (r *haRig) checkOutputs(reqs []lightdashtest.Request) {
	r.t.Helper()
	for _, q := range reqs {
		if q.Method == "DELETE" {
			r.t.Errorf("%s %s (status %d): the directory deleted nothing", q.Method, q.Path, q.Status)
		}
	}
	var files []string
	for _, p := range r.sup.runs() {
		files = append(files, p.stdoutPath(), p.stderrPath())
	}
	for _, leak := range append(scanSecrets(files, r.sup.secrets), r.sup.leaks...) {
		r.t.Errorf("secret leaked: %s", leak)
	}
}
