package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// proc is one run of the daemon subprocess. Each gets its own Lightdash
// user and token, so the fake's request log tells the runs apart.
type proc struct {
	n                       int
	cmd                     *exec.Cmd
	user                    lightdash.OrgMember
	token                   string
	admin                   string // admin listener host:port, once known: see adminAddr
	adminTok                string // for the status pages
	adminMu                 sync.Mutex
	dir                     string
	started                 time.Time
	exited                  chan struct{}
	ended                   time.Time // set before exited is closed
	exitErr                 error
	killed                  bool // by the test: SIGKILL or SIGTERM
	scrapes                 int
	lastMetrics, lastStatus string
	mu                      sync.Mutex
}

func (p *proc) stderrPath() string { return filepath.Join(p.dir, "stderr.log") }

// adminAddr is the run's admin listener address, read from its log line
// "admin listener up", or "" until that is written. Each run binds
// 127.0.0.1:0 itself: a port picked free here could be taken by another
// test's process before the run bound it (a run once failed to bind one,
// and the test read another daemon's /status.json on that port).
func (p *proc) adminAddr() string {
	p.adminMu.Lock()
	defer p.adminMu.Unlock()
	if p.admin != "" {
		return p.admin
	}
	b, _ := os.ReadFile(p.stderrPath())
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"admin listener up"`) {
			continue
		}
		var l struct {
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Addr != "" {
			p.admin = l.Addr
		}
	}
	return p.admin
}

// url is the admin URL of path on this run.
func (p *proc) url(path string) string { return "http://" + p.adminAddr() + path }

// get reads an admin page with the admin token, which the status pages
// need.
func (p *proc) get(ctx context.Context, path string) (int, string) {
	return testutil.HTTPDo(ctx, "GET", p.url(path), p.adminTok)
}
func (p *proc) stdoutPath() string { return filepath.Join(p.dir, "stdout.log") }

func (p *proc) metrics() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastMetrics
}

// supervisor keeps one daemon running, as a process manager
// (Restart=always) would: it restarts the daemon when it exits, whether
// the test killed it or it exited on its own.
type supervisor struct {
	bin      string
	dir      string
	ld       *lightdashtest.Server
	config   func(p *proc) string // the YAML for one run
	adminTok string
	secrets  []string

	mu       sync.Mutex
	procs    []*proc
	current  *proc
	selfExit []string // runs that exited without being killed
	leaks    []string // secrets seen in a scrape
	startErr error
	stopped  bool // no more restarts
	wg       sync.WaitGroup
}

// stopRestarts makes run return once the current daemon exits.
func (s *supervisor) stopRestarts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
}

// run starts daemons until ctx ends.
func (s *supervisor) run(ctx context.Context) {
	for ctx.Err() == nil {
		p, err := s.start()
		if err != nil {
			s.mu.Lock()
			s.startErr = err
			s.mu.Unlock()
			return
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.scrape(ctx, p) }()
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
		}
		p.mu.Lock()
		killed := p.killed
		p.mu.Unlock()
		s.mu.Lock()
		stopped := s.stopped
		s.mu.Unlock()
		if stopped {
			return
		}
		if !killed {
			s.mu.Lock()
			s.selfExit = append(s.selfExit, fmt.Sprintf("run %d exited on its own after %s: %v", p.n, p.ended.Sub(p.started).Round(time.Millisecond), p.exitErr))
			s.mu.Unlock()
			select { // RestartSec=1
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (s *supervisor) start() (*proc, error) {
	s.mu.Lock()
	n := len(s.procs) + 1
	s.mu.Unlock()
	p := &proc{n: n, dir: filepath.Join(s.dir, fmt.Sprintf("run-%02d", n)), exited: make(chan struct{}), adminTok: s.adminTok}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, err
	}
	p.user = s.ld.AddUser(fmt.Sprintf("daemon-%02d@ops.invalid", n), lightdash.RoleAdmin)
	p.token = s.ld.AddToken(p.user.UserUUID)
	cfgPath := filepath.Join(p.dir, "lightdash-sync.yaml")
	if err := os.WriteFile(filepath.Join(p.dir, "lightdash-token"), []byte(p.token), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfgPath, []byte(s.config(p)), 0o600); err != nil {
		return nil, err
	}
	stdout, err := os.Create(p.stdoutPath())
	if err != nil {
		return nil, err
	}
	stderr, err := os.Create(p.stderrPath())
	if err != nil {
		stdout.Close()
		return nil, err
	}
	p.cmd = exec.Command(s.bin, "run", "--config", cfgPath)
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	p.cmd.Dir = p.dir
	dieWithTest(p.cmd)
	s.mu.Lock()
	s.secrets = append(s.secrets, p.token)
	s.mu.Unlock()
	if err := p.cmd.Start(); err != nil {
		stdout.Close()
		stderr.Close()
		return nil, fmt.Errorf("start run %d: %w", n, err)
	}
	p.started = time.Now()
	go func() {
		p.exitErr = p.cmd.Wait()
		stdout.Close()
		stderr.Close()
		p.ended = time.Now()
		close(p.exited)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.current = p
	s.mu.Unlock()
	return p, nil
}

// follow makes p the run that signal and running address. The handover
// test starts its replicas itself (no restart loop) and points the
// supervisor at whichever one leads.
func (s *supervisor) follow(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = p
}

// signal sends sig to the running daemon and waits for it to exit. It
// returns the run, or nil when none was running.
func (s *supervisor) signal(sig syscall.Signal) *proc {
	s.mu.Lock()
	p := s.current
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	_ = p.cmd.Process.Signal(sig)
	<-p.exited
	return p
}

// running returns the current run once it is up (its admin listener
// answers), or nil if ctx ends first.
func (s *supervisor) running(ctx context.Context) *proc {
	for ctx.Err() == nil {
		s.mu.Lock()
		p := s.current
		s.mu.Unlock()
		if p != nil {
			select {
			case <-p.exited:
			default:
				if code, _ := httpGet(ctx, p.url("/healthz")); code == 200 {
					return p
				}
			}
		}
		sleep(ctx, 100*time.Millisecond)
	}
	return nil
}

// killAll ends every run still alive; used at cleanup.
func (s *supervisor) killAll() {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.exited:
		default:
			p.mu.Lock()
			p.killed = true
			p.mu.Unlock()
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	s.wg.Wait()
}

func (s *supervisor) runs() []*proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*proc(nil), s.procs...)
}

// scrapeOnce reads /metrics, /status and /status.json of p once, keeps
// the metrics and status and checks every answer for secrets.
func (s *supervisor) scrapeOnce(ctx context.Context, p *proc) {
	for _, path := range []string{"/metrics", "/status", "/status.json"} {
		code, body := p.get(ctx, path)
		if code != 200 {
			continue
		}
		s.checkSecrets(fmt.Sprintf("run %d %s", p.n, path), body)
		p.mu.Lock()
		p.scrapes++
		switch path {
		case "/metrics":
			p.lastMetrics = body
		case "/status.json":
			p.lastStatus = body
		}
		p.mu.Unlock()
	}
}

// scrape reads /metrics, /status and /status.json of p every half second
// while it lives, keeps the last metrics and checks every answer for
// secrets.
func (s *supervisor) scrape(ctx context.Context, p *proc) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
			return
		case <-time.After(500 * time.Millisecond):
		}
		s.scrapeOnce(ctx, p)
	}
}

func (s *supervisor) checkSecrets(where, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		if strings.Contains(text, sec) {
			s.leaks = append(s.leaks, fmt.Sprintf("%s holds a secret (%d characters)", where, len(sec)))
		}
	}
}

func httpGet(ctx context.Context, url string) (int, string) {
	return testutil.HTTPDo(ctx, "GET", url, "")
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
