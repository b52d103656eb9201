package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// daemonConfig is what the generated lightdash-sync.yaml says.
type daemonConfig struct {
	LightdashURL, Token string
	LDAPURL             string
	BindDN, BindPW      string
	Suffix              string
	NATSURL             string // adds a nats source when set
	MaxAckPending       int    // nats max_ack_pending; 0: the product default
	Concurrency         int
	RateLimit           float64
	Debounce            time.Duration
	StatePath           string
	AdminListen         string
}

// yaml renders the configuration file.
func (c daemonConfig) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, `log:
  level: warn
  format: json
lightdash:
  url: %s
  token: %s
  timeout: 120s
  rate_limit: %g
  burst: %d
sources:
`, c.LightdashURL, c.Token, c.RateLimit, c.Concurrency)
	if c.LDAPURL != "" {
		fmt.Fprintf(&b, `  - name: corp
    type: ldap
    ldap:
      urls: [%s]
      bind_dn: %s
      bind_password: %s
      schema: openldap
      user_base_dn: ou=people,%s
      group_base_dn: ou=groups,%s
      page_size: 1000
      timeout: 600s
      watch: syncrepl
`, c.LDAPURL, c.BindDN, c.BindPW, c.Suffix, c.Suffix)
	}
	if c.NATSURL != "" {
		fmt.Fprintf(&b, `  - name: events
    type: nats
    nats:
      urls: [%s]
      create_stream: true
      stream: DIRECTORY
      subjects: ["directory.>"]
`, c.NATSURL)
		if c.MaxAckPending > 0 {
			fmt.Fprintf(&b, "      max_ack_pending: %d\n", c.MaxAckPending)
		}
	}
	maxDelay := max(10*time.Second, c.Debounce)
	fmt.Fprintf(&b, `mapping:
  rules:
    - name: everything
identity:
  unmatched: skip
sync:
  concurrency: %d
  safety:
    max_group_deletes_percent: 100
    max_group_deletes: 1000000
    max_member_removals: 100000000
    max_member_removals_percent: 100
schedule:
  reconcile: "@every 24h"
  debounce: %s
  max_delay: %s
state:
  type: file
  path: %s
admin:
  listen: "%s"
`, c.Concurrency, c.Debounce, maxDelay, c.StatePath, c.AdminListen)
	return b.String()
}

// env is one benchmark environment: a seeded slapd, the binary under test
// and a scratch directory.
type env struct {
	dir    string
	bin    string
	slapd  *ldaptest.Process
	dirGen *Directory
}

// buildBinary compiles cmd/lightdash-sync into dir (or uses given).
func buildBinary(ctx context.Context, dir, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	out := filepath.Join(dir, "lightdash-sync")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/lightdash-sync/lightdash-sync/cmd/lightdash-sync")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build lightdash-sync: %w\n%s", err, b)
	}
	return out, nil
}

// Cost is the fake Lightdash's cost model (lightdashtest.WithCallCost,
// WithRowCost, WithServerCPUs); the zero value is off.
type Cost struct {
	Call, Row time.Duration
	CPUs      int
}

func (c Cost) options() []lightdashtest.Option {
	var o []lightdashtest.Option
	if c.Call > 0 {
		o = append(o, lightdashtest.WithCallCost(c.Call))
	}
	if c.CPUs > 0 {
		o = append(o, lightdashtest.WithServerCPUs(c.CPUs))
	}
	if c.Row > 0 {
		o = append(o, lightdashtest.WithRowCost(c.Row))
	}
	return o
}

func (c Cost) String() string {
	if c == (Cost{}) {
		return "off"
	}
	return fmt.Sprintf("call %s on %d CPUs, row %s", c.Call, or(c.CPUs, lightdashtest.DefaultServerCPUs), c.Row)
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// newFake starts a fake Lightdash holding the matched users, with the
// cost model of -call-cost, -row-cost and -server-cpus; every scenario and
// floor of a run uses one made here.
func (h *harness) newFake(latency time.Duration) *lightdashtest.Server {
	d := h.dir
	opts := append([]lightdashtest.Option{lightdashtest.WithSeed(d.Size.Seed), lightdashtest.WithShuffle(false)}, h.opt.Cost.options()...)
	ld := lightdashtest.NewServer(opts...)
	for i := range d.Size.Users {
		if matched(i) {
			ld.AddUser(userEmail(i), lightdash.RoleMember)
		}
	}
	ld.SetLatency(latency)
	return ld
}

// procResult is one finished subprocess.
type procResult struct {
	Wall   time.Duration
	MaxRSS int64 // bytes
	Stdout string
}

// runOnce runs `lightdash-sync ARGS --config cfg` to the end.
func runOnce(ctx context.Context, env []string, bin, cfgPath string, args ...string) (procResult, error) {
	args = append(args, "--config", cfgPath)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv(env)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Start()
	var peak int64
	if err == nil {
		// Peak RSS is the child's VmHWM, polled while it runs. Not the
		// rusage maxrss of the reaped child: Go starts children with
		// vfork, and on Linux a child's maxrss then includes this
		// harness's own high-water mark. Polling misses at most the
		// growth of the child's last poll interval, while it exits.
		stop := make(chan struct{})
		polled := make(chan int64, 1)
		go func() {
			var max int64
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				if v, err := vmHWM(cmd.Process.Pid); err == nil && v > max {
					max = v
				}
				select {
				case <-stop:
					polled <- max
					return
				case <-t.C:
				}
			}
		}()
		err = cmd.Wait()
		close(stop)
		peak = <-polled
	}
	res := procResult{Wall: time.Since(start), Stdout: out.String(), MaxRSS: peak}
	if err != nil {
		return res, fmt.Errorf("lightdash-sync %s: %w\nstdout: %s\nstderr: %s", args[0], err, tail(out.String()), tail(errb.String()))
	}
	return res, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// daemon is a running `lightdash-sync run`.
type daemon struct {
	cmd     *exec.Cmd
	admin   string
	stderr  *lockedWriter
	done    chan error
	started time.Time
	// from is the RSS when the current phase began (see phasePeak).
	from int64
}

func startDaemon(ctx context.Context, env []string, bin, cfgPath, admin string) (*daemon, error) {
	cmd := exec.CommandContext(ctx, bin, "run", "--config", cfgPath)
	cmd.Env = childEnv(env)
	d := &daemon{cmd: cmd, admin: admin, stderr: &lockedWriter{}, done: make(chan error, 1)}
	cmd.Stderr = d.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	go func() { d.done <- cmd.Wait() }()
	return d, nil
}

// waitReady polls /readyz until the first full reconciliation succeeded.
func (d *daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			return fmt.Errorf("daemon exited: %v\n%s", err, tail(d.stderr.String()))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get("http://" + d.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("daemon not ready after %s\n%s", timeout, tail(d.stderr.String()))
}

// peakRSS reads VmHWM of the running daemon, in bytes.
func (d *daemon) peakRSS() (int64, error) { return vmHWM(d.cmd.Process.Pid) }

// phasePeak returns the daemon's peak RSS since its start or the last
// phasePeak, and the RSS that phase began with, and resets the mark, so
// that each phase of a scenario (start-up, each full run, live changes)
// reports its own. The reset sets the mark to the RSS of the moment,
// which holds what the Go runtime has not yet handed back: a phase's peak
// is never below the RSS it began with.
func (d *daemon) phasePeak() (peak, from int64) {
	pid := d.cmd.Process.Pid
	v, err := vmHWM(pid)
	if err != nil {
		return 0, 0
	}
	from = d.from
	if err := resetHWM(pid); err != nil {
		return 0, 0 // a peak that cannot be reset would be the next phase's too
	}
	d.from, _ = procStatus(pid, "VmRSS:")
	return v, from
}

// resetHWM sets a process's VmHWM back to its current RSS (writing 5 to
// /proc/PID/clear_refs, Linux 4.0 and later).
func resetHWM(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// vmHWM reads a running process's peak resident set size, in bytes.
func vmHWM(pid int) (int64, error) { return procStatus(pid, "VmHWM:") }

// procStatus reads a size field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// startupRow is the daemon's start-up as a row: from its start to ready
// (the initial directory read and the first full reconciliation), with the
// Lightdash calls it made and its peak RSS, which it resets.
func startupRow(dm *daemon, ld *lightdashtest.Server, what string, latency time.Duration) Row {
	reads, lists, writes := counts(ld)
	peak, _ := dm.phasePeak()
	return Row{Scenario: "daemon start-up, " + what, Latency: latency, Ours: time.Since(dm.started),
		Reads: reads, Lists: lists, Writes: writes, WantWrites: -1, PeakRSS: peak,
		Note: "start to /readyz: the initial directory read and the first full run; peak RSS of that phase"}
}

// stop ends the daemon with SIGTERM and waits.
func (d *daemon) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		return err
	case <-time.After(40 * time.Second):
		_ = d.cmd.Process.Kill()
		return errors.New("daemon did not stop in 40s")
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// childEnv is this process's environment plus extra (-child-env), which
// wins: GOMEMLIMIT for the binary under test must not slow the harness's
// own floor measurements.
func childEnv(extra []string) []string {
	if len(extra) == 0 {
		return nil // inherit
	}
	return append(os.Environ(), extra...)
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux the harness runs on).
const clockTick = 10 * time.Millisecond

// cpuTime reads a running process's user + system CPU time, all threads.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields after its closing one (utime is field 14).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat: %w", err)
	}
	return time.Duration(u+s) * clockTick, nil
}
