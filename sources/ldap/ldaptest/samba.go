package ldaptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Samba's fixed identity: the throwaway domain StartSamba provisions.
const (
	SambaRealm    = "CORP.EXAMPLE"
	SambaBaseDN   = "DC=corp,DC=example"
	SambaAdminDN  = "CN=Administrator,CN=Users,DC=corp,DC=example"
	SambaPassword = "Passw0rd!Passw0rd"
)

// ErrSambaMissing is returned by StartSamba when Samba's AD DC is not installed.
var ErrSambaMissing = errors.New("samba AD DC is not installed (Debian: apt-get install samba samba-ad-dc " +
	"samba-ad-provision ldb-tools krb5-user winbind, or bash .ci/install-deps)")

// SambaConfig adjusts StartSamba.
type SambaConfig struct {
	// AllowPlainSimpleBind sets "ldap server require strong auth = no".
	// Samba's default (and this one's unless set) refuses a simple bind
	// over plain LDAP; StartTLS and ldaps:// work.
	AllowPlainSimpleBind bool
}

// Samba is a running Samba Active Directory domain controller: a domain
// provisioned into a private directory, "samba -i -M single" in the
// foreground, LDAP on 127.0.0.1:389 and LDAPS on 636 with a certificate
// from GenerateTLS. Its ports are fixed, so it runs only inside the
// network namespace Main makes.
type Samba struct {
	dir string
	tls *TLSFiles

	proc foreground
}

// SambaInstalled reports whether samba and samba-tool can be found.
func SambaInstalled() bool {
	for _, b := range []string{"samba", "samba-tool"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", b)); err != nil {
				return false
			}
		}
	}
	return true
}

// StartSamba provisions the CORP.EXAMPLE domain into dir (about 10-20 s)
// and starts Samba. Stop it when done.
func StartSamba(ctx context.Context, dir string, cfg SambaConfig) (*Samba, error) {
	if !SambaInstalled() {
		return nil, ErrSambaMissing
	}
	if !InNetns() {
		return nil, ErrNoNetns
	}
	out, err := exec.CommandContext(ctx, "samba-tool", "domain", "provision", "--targetdir="+dir,
		"--realm="+SambaRealm, "--domain=CORP", "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
		"--adminpass="+SambaPassword, "--host-ip=127.0.0.1").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ldaptest: samba-tool domain provision: %w\n%s", err, tail(out))
	}
	s := &Samba{dir: dir, proc: foreground{name: "samba"}}
	if s.tls, err = GenerateTLS(dir); err != nil {
		return nil, err
	}
	if err := s.writeConfig(cfg); err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (s *Samba) confPath() string { return filepath.Join(s.dir, "etc", "smb.conf") }

// writeConfig rewrites the provisioned smb.conf's [global]: only the
// services the tests use, every runtime file under dir, our TLS files.
func (s *Samba) writeConfig(cfg SambaConfig) error {
	b, err := os.ReadFile(s.confPath())
	if err != nil {
		return fmt.Errorf("ldaptest: %w", err)
	}
	drop := []string{"server services", "log file", "interfaces", "bind interfaces only"}
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(l), "=")
		keep := true
		for _, d := range drop {
			if strings.EqualFold(strings.TrimSpace(name), d) {
				keep = false
			}
		}
		if keep {
			kept = append(kept, l)
		}
	}
	run := filepath.Join(s.dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		return fmt.Errorf("ldaptest: %w", err)
	}
	strong := "yes"
	if cfg.AllowPlainSimpleBind {
		strong = "no"
	}
	extra := []string{
		"\tserver services = ldap, cldap, kdc, drepl",
		"\tinterfaces = 127.0.0.1/8",
		"\tbind interfaces only = yes",
		"\tlog file = " + filepath.Join(s.dir, "log.%m"),
		"\tpid directory = " + run,
		"\tncalrpc dir = " + filepath.Join(run, "ncalrpc"),
		"\twinbindd socket directory = " + filepath.Join(run, "winbindd"),
		"\ttls enabled = yes",
		"\ttls keyfile = " + s.tls.KeyFile,
		"\ttls certfile = " + s.tls.CertFile,
		"\ttls cafile = " + s.tls.CAFile,
		"\tldap server require strong auth = " + strong,
	}
	conf := strings.Replace(strings.Join(kept, "\n"), "[global]", "[global]\n"+strings.Join(extra, "\n"), 1)
	return os.WriteFile(s.confPath(), []byte(conf), 0o644)
}

func (s *Samba) start(ctx context.Context) error {
	cmd := exec.Command("samba", "-i", "-M", "single", "-s", s.confPath())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return s.proc.start(ctx, cmd, 60*time.Second, 50*time.Millisecond, func() error {
		c, err := s.dial()
		if err != nil {
			return fmt.Errorf("%s: %w", s.LDAPSURL(), err)
		}
		c.Close()
		return nil
	})
}

// URL is Samba's plain LDAP URL; LDAPSURL its LDAPS URL.
func (s *Samba) URL() string      { return "ldap://127.0.0.1:389" }
func (s *Samba) LDAPSURL() string { return "ldaps://127.0.0.1:636" }

// TLS names the CA (and server files) Samba's certificate comes from.
func (s *Samba) TLS() *TLSFiles { return s.tls }

// TLSConfig trusts Samba's certificate.
func (s *Samba) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(s.tls.CAFile); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// dial connects over LDAPS and binds as Administrator.
func (s *Samba) dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.LDAPSURL(), ldap.DialWithTLSConfig(s.TLSConfig()),
		ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
	if err != nil {
		return nil, err
	}
	if err := c.Bind(SambaAdminDN, SambaPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Dial returns a connection bound as Administrator over LDAPS.
func (s *Samba) Dial() (*ldap.Conn, error) { return s.dial() }

// Stop terminates Samba and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Samba) Stop() { s.proc.stop(10 * time.Second) }

// Restart stops Samba and starts it again on the same database.
func (s *Samba) Restart(ctx context.Context) error {
	s.Stop()
	return s.start(ctx)
}

// Log is what Samba printed on stdout and stderr.
func (s *Samba) Log() string { return s.proc.log() }

// UnicodePwd encodes a password as Active Directory's unicodePwd wants it
// (quoted, UTF-16LE); AD accepts it only over an encrypted connection.
func UnicodePwd(pw string) string {
	var b strings.Builder
	for _, r := range "\"" + pw + "\"" {
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	return b.String()
}

// BaseDN is the domain's root, the naming context DirSync searches from.
func (s *Samba) BaseDN() string { return SambaBaseDN }
