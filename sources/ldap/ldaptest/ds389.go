package ldaptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// 389-DS's identity: the instance Start389DS creates.
const (
	DS389Suffix   = "dc=example,dc=com"
	DS389RootDN   = "cn=Directory Manager"
	DS389Password = "Passw0rd-389ds"
	ds389Instance = "ldaptest"
)

// Err389DSMissing is returned by Start389DS when 389-DS is not installed.
var Err389DSMissing = errors.New("389 Directory Server is not installed (Debian: apt-get install 389-ds-base, or bash .ci/install-deps)")

// DS389 is a running 389 Directory Server instance created under a
// private prefix, with the Content Synchronization (syncrepl), retro
// changelog and memberOf plugins on, listening on a free loopback port.
type DS389 struct {
	prefix string
	port   int

	proc foreground
}

// DS389Installed reports whether dscreate, dsconf and ns-slapd can be found.
func DS389Installed() bool {
	for _, b := range []string{"dscreate", "dsconf", "ns-slapd"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", b)); err != nil {
				return false
			}
		}
	}
	return true
}

// Start389DS creates an instance under prefix (about 10 s), turns on its
// plugins and starts ns-slapd in the foreground. Stop it when done.
func Start389DS(ctx context.Context, prefix string) (*DS389, error) {
	if !DS389Installed() {
		return nil, Err389DSMissing
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &DS389{prefix: prefix, port: port, proc: foreground{name: "ns-slapd"}}
	if err := d.layout(); err != nil {
		return nil, fmt.Errorf("ldaptest: 389-DS prefix: %w", err)
	}
	if err := d.create(ctx); err != nil {
		return nil, err
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *DS389) path(p ...string) string { return filepath.Join(append([]string{d.prefix}, p...)...) }

// layout makes the private prefix dscreate installs into: its own
// defaults.inf (no systemd, every /etc, /var, /run, /tmp path moved under
// the prefix), schema and config copied, owned by dirsrv, all 0755 (with
// a closed parent, ns-slapd running as dirsrv dies without a word).
func (d *DS389) layout() error {
	for _, p := range []string{"share/dirsrv/inf", "etc/dirsrv", "tmp", "dbhome", "var/log/dirsrv",
		"var/lib/dirsrv", "run/dirsrv", "run/lock/dirsrv"} {
		if err := os.MkdirAll(d.path(p), 0o755); err != nil {
			return err
		}
	}
	def, err := os.ReadFile("/usr/share/dirsrv/inf/defaults.inf")
	if err != nil {
		return err
	}
	s := strings.Replace(string(def), "with_systemd = 1", "with_systemd = 0", 1)
	s = strings.ReplaceAll(s, "/dev/shm/slapd-{instance_name}", d.path("dbhome"))
	var moves []string // one pass: the prefix itself may be under /tmp
	for _, top := range []string{"/etc", "/var", "/run", "/tmp"} {
		moves = append(moves, " = "+top, " = "+d.prefix+top)
	}
	s = strings.NewReplacer(moves...).Replace(s)
	if err := os.WriteFile(d.path("share/dirsrv/inf/defaults.inf"), []byte(s), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-r", "/etc/dirsrv/schema", "/etc/dirsrv/config", d.path("etc/dirsrv")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy /etc/dirsrv: %w: %s", err, out)
	}
	return d.own()
}

// own gives the prefix to dirsrv, every directory 0755.
func (d *DS389) own() error {
	u, err := user.Lookup("dirsrv")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(d.prefix, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			if err := os.Chmod(p, 0o755); err != nil {
				return err
			}
		}
		return os.Lchown(p, uid, gid)
	})
}

const ds389Inf = `[general]
config_version = 2
full_machine_name = localhost
start = True
systemd = False
selinux = False

[slapd]
instance_name = %s
port = %d
secure_port = %d
root_password = %s
self_sign_cert = False
db_home_dir = %s

[backend-userroot]
suffix = %s
create_suffix_entry = True
`

// create runs dscreate, turns on the plugins and stops the daemon
// dscreate started, so that start can run it in the foreground.
func (d *DS389) create(ctx context.Context) error {
	sport, err := freePort()
	if err != nil {
		return err
	}
	inf := fmt.Sprintf(ds389Inf, ds389Instance, d.port, sport, DS389Password, d.path("dbhome"), DS389Suffix)
	if err := os.WriteFile(d.path("instance.inf"), []byte(inf), 0o600); err != nil {
		return err
	}
	if err := d.run(ctx, "dscreate", "from-file", d.path("instance.inf")); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"plugin", "retro-changelog", "enable"},
		{"plugin", "retro-changelog", "set", "--attribute", "nsuniqueid:targetUniqueId"},
		{"plugin", "contentsync", "enable"},
		{"plugin", "memberof", "enable"},
		{"config", "replace", "nsslapd-listenhost=127.0.0.1"},
	} {
		base := []string{"-D", DS389RootDN, "-w", DS389Password, d.URL()}
		if err := d.run(ctx, "dsconf", append(base, args...)...); err != nil {
			return err
		}
	}
	return d.stopDaemon()
}

func (d *DS389) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PREFIX="+d.prefix)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ldaptest: %s %s: %w\n%s", name, args[0], err, tail(out))
	}
	return nil
}

func (d *DS389) pidFile() string { return d.path("run/dirsrv/slapd-" + ds389Instance + ".pid") }

// stopDaemon stops the ns-slapd dscreate started in the background.
func (d *DS389) stopDaemon() error {
	b, err := os.ReadFile(d.pidFile())
	if err != nil {
		return fmt.Errorf("ldaptest: 389-DS pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("ldaptest: 389-DS pid file: %w", err)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 300 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func (d *DS389) start(ctx context.Context) error {
	cmd := exec.Command("ns-slapd", "-D", d.path("etc/dirsrv/slapd-"+ds389Instance), "-i", d.pidFile(), "-d", "0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return d.proc.start(ctx, cmd, 60*time.Second, 50*time.Millisecond, func() error {
		c, err := d.Dial()
		if err != nil {
			return fmt.Errorf("%s: %w", d.URL(), err)
		}
		c.Close()
		return nil
	})
}

// URL is the instance's ldap:// URL.
func (d *DS389) URL() string { return fmt.Sprintf("ldap://127.0.0.1:%d", d.port) }

// Dial returns a connection bound as the Directory Manager.
func (d *DS389) Dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(d.URL(), ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
	if err != nil {
		return nil, err
	}
	if err := c.Bind(DS389RootDN, DS389Password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Stop terminates ns-slapd and waits for it to exit. Stopping a stopped
// server does nothing.
func (d *DS389) Stop() { d.proc.stop(15 * time.Second) }

// Restart stops ns-slapd and starts it again on the same port and data.
func (d *DS389) Restart(ctx context.Context) error {
	return d.proc.restart(15*time.Second, func() error { return d.start(ctx) })
}

// Log is what ns-slapd printed on stdout and stderr.
func (d *DS389) Log() string { return d.proc.log() }
