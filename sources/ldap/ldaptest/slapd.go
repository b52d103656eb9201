package ldaptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Defaults used when a Config field is left empty.
const (
	DefaultSuffix         = "dc=example,dc=com"
	DefaultRootDN         = "cn=admin,dc=example,dc=com"
	DefaultRootPassword   = "admin-secret"
	DefaultReaderDN       = "cn=reader,dc=example,dc=com"
	DefaultReaderPassword = "reader-secret"
)

// ErrSlapdMissing is returned by StartSlapd when the slapd binaries are not
// installed. Test wrappers turn it into a skip outside CI and a failure in CI.
var ErrSlapdMissing = errors.New("slapd is not installed (Debian: apt-get install slapd ldap-utils)")

// TLSFiles names PEM files for slapd's TLS settings.
type TLSFiles struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Config describes one throwaway slapd. The zero value is a usable server
// with the default suffix, a root DN, a non-root reader and no size limit.
type Config struct {
	// Suffix is the database suffix; DefaultSuffix when empty.
	Suffix string
	// RootDN and RootPassword are the database's rootdn/rootpw. Root binds
	// ignore every limit.
	RootDN       string
	RootPassword string
	// ReaderDN and ReaderPassword name a non-root entry created by the seed
	// (see BaseLDIF); size limits apply to it.
	ReaderDN       string
	ReaderPassword string
	// SizeLimit, when above zero, caps the entries a non-root bind may read
	// in one search (paged or not). Zero means unlimited.
	SizeLimit int
	// SessionLog is the syncprov session log size; 100 when zero.
	SessionLog int
	// NoPresent sets syncprov-nopresent (no present phase for consumers
	// whose cookie the session log cannot serve).
	NoPresent bool
	// Seed is LDIF loaded with slapadd before the first start. BaseLDIF is
	// always loaded first.
	Seed []byte
	// TLS, when set, turns on StartTLS on the ldap:// listener.
	TLS *TLSFiles
	// LDAPS adds an ldaps:// listener (requires TLS).
	LDAPS bool
	// Port and LDAPSPort pin the listeners; zero picks free loopback ports.
	Port, LDAPSPort int
	// RefInt loads the refint overlay for member and uniqueMember, so
	// renaming or deleting an entry updates the groups that name it.
	RefInt bool
	// SchemaDir and ModuleDir locate the OpenLDAP schema files and modules;
	// /etc/ldap/schema and /usr/lib/ldap when empty.
	SchemaDir string
	ModuleDir string
}

func (c *Config) setDefaults() {
	if c.Suffix == "" {
		c.Suffix = DefaultSuffix
	}
	if c.RootDN == "" {
		c.RootDN = DefaultRootDN
	}
	if c.RootPassword == "" {
		c.RootPassword = DefaultRootPassword
	}
	if c.ReaderDN == "" {
		c.ReaderDN = DefaultReaderDN
	}
	if c.ReaderPassword == "" {
		c.ReaderPassword = DefaultReaderPassword
	}
	if c.SessionLog == 0 {
		c.SessionLog = 100
	}
	if c.SchemaDir == "" {
		c.SchemaDir = "/etc/ldap/schema"
	}
	if c.ModuleDir == "" {
		c.ModuleDir = "/usr/lib/ldap"
	}
}

// Process is a running slapd started by StartSlapd.
type Process struct {
	cfg  Config
	dir  string
	bins binaries

	proc foreground
}

type binaries struct{ slapd, slaptest, slapadd string }

func findBinaries() (binaries, error) {
	var b binaries
	for name, dst := range map[string]*string{"slapd": &b.slapd, "slaptest": &b.slaptest, "slapadd": &b.slapadd} {
		p, err := exec.LookPath(name)
		if err != nil {
			p = filepath.Join("/usr/sbin", name)
			if _, serr := os.Stat(p); serr != nil {
				return b, ErrSlapdMissing
			}
		}
		*dst = p
	}
	return b, nil
}

// Installed reports whether the slapd binaries can be found.
func Installed() bool {
	_, err := findBinaries()
	return err == nil
}

// StartSlapd writes a slapd.conf into dir, checks it with slaptest, seeds
// the database with slapadd and starts slapd in the foreground on loopback.
// It does not depend on package testing, so demos and benchmarks can use
// it; Stop the returned Process when done.
func StartSlapd(ctx context.Context, dir string, cfg Config) (*Process, error) {
	cfg.setDefaults()
	if cfg.LDAPS && cfg.TLS == nil {
		return nil, errors.New("ldaptest: LDAPS needs TLS files")
	}
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	p := &Process{cfg: cfg, dir: dir, bins: bins, proc: foreground{name: "slapd"}}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, fmt.Errorf("ldaptest: %w", err)
	}
	if err := p.writeConfig(); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, bins.slaptest, "-u", "-f", p.confPath()).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ldaptest: slaptest rejected %s: %w\n%s", p.confPath(), err, out)
	}
	seed := append(BaseLDIF(cfg.Suffix, cfg.ReaderDN, cfg.ReaderPassword), '\n')
	seed = append(seed, cfg.Seed...)
	add := exec.CommandContext(ctx, bins.slapadd, "-q", "-f", p.confPath())
	add.Stdin = bytes.NewReader(seed)
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ldaptest: slapadd: %w\n%s", err, out)
	}
	pinned := cfg.Port != 0
	for attempt := 0; ; attempt++ {
		if !pinned {
			if p.cfg.Port, err = freePort(); err != nil {
				return nil, err
			}
			if cfg.LDAPS {
				if p.cfg.LDAPSPort, err = freePort(); err != nil {
					return nil, err
				}
			}
		}
		err = p.start(ctx)
		if err == nil {
			return p, nil
		}
		if pinned || attempt >= 5 || ctx.Err() != nil {
			return nil, err
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ldaptest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *Process) confPath() string { return filepath.Join(p.dir, "slapd.conf") }

// URL is the ldap:// URL of the server.
func (p *Process) URL() string { return fmt.Sprintf("ldap://127.0.0.1:%d", p.cfg.Port) }

// LDAPSURL is the ldaps:// URL, empty unless Config.LDAPS was set.
func (p *Process) LDAPSURL() string {
	if !p.cfg.LDAPS {
		return ""
	}
	return fmt.Sprintf("ldaps://127.0.0.1:%d", p.cfg.LDAPSPort)
}

// Config is the effective configuration, defaults and chosen ports filled in.
func (p *Process) Config() Config { return p.cfg }

// PID is the process id of the running slapd, or 0 when stopped.
func (p *Process) PID() int { return p.proc.pid() }

func (p *Process) start(ctx context.Context) error {
	urls := p.URL() + "/"
	if p.cfg.LDAPS {
		urls += " " + p.LDAPSURL() + "/"
	}
	// -d 0 keeps slapd in the foreground so the PID is the real one; no -u,
	// so it keeps running as the invoking user (root in CI).
	cmd := exec.Command(p.bins.slapd, "-d", "0", "-f", p.confPath(), "-h", urls)
	return p.proc.start(ctx, cmd, 15*time.Second, 20*time.Millisecond, func() error {
		c, err := ldap.DialURL(p.URL(), ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err != nil {
			return fmt.Errorf("%s: %w", p.URL(), err)
		}
		defer c.Close()
		return c.Bind(p.cfg.RootDN, p.cfg.RootPassword)
	})
}

// Stop terminates slapd by PID and waits for it to exit. Stopping a
// stopped server does nothing.
func (p *Process) Stop() { p.proc.stop(10 * time.Second) }

// Restart stops slapd and starts it again on the same ports with the same
// database, as a server restart under a client would.
func (p *Process) Restart(ctx context.Context) error {
	return p.proc.restart(10*time.Second, func() error { return p.start(ctx) })
}

// Log returns what slapd printed so far (useful in failure messages).
func (p *Process) Log() string { return p.proc.log() }

var confTemplate = template.Must(template.New("slapd.conf").Parse(`# written by ldaptest
include {{.SchemaDir}}/core.schema
include {{.SchemaDir}}/cosine.schema
include {{.SchemaDir}}/inetorgperson.schema
include {{.SchemaDir}}/nis.schema
modulepath {{.ModuleDir}}
moduleload back_mdb
moduleload syncprov
{{- if .RefInt}}
moduleload refint
{{- end}}
pidfile {{.Dir}}/slapd.pid
argsfile {{.Dir}}/slapd.args
{{- with .TLS}}
TLSCACertificateFile {{.CAFile}}
TLSCertificateFile {{.CertFile}}
TLSCertificateKeyFile {{.KeyFile}}
{{- end}}

database mdb
suffix "{{.Suffix}}"
rootdn "{{.RootDN}}"
rootpw {{.RootPassword}}
directory {{.Dir}}/db
maxsize 1073741824
dbnosync
index objectClass eq
index entryUUID,entryCSN eq
index uid,cn,memberUid eq
index member,uniqueMember eq
{{- if gt .SizeLimit 0}}
limits users size.soft={{.SizeLimit}} size.hard={{.SizeLimit}} size.prtotal={{.SizeLimit}}
{{- else}}
limits users size=unlimited size.pr=unlimited size.prtotal=unlimited
{{- end}}
access to attrs=userPassword by anonymous auth by * none
access to * by * read

{{- if .RefInt}}
# refint keeps member values right when a member entry is renamed or
# deleted, as production OpenLDAP setups do (a renamed nested group stays
# nested).
overlay refint
refint_attributes member uniqueMember
refint_nothing "{{.RootDN}}"
{{- end}}

overlay syncprov
syncprov-checkpoint 1 1
syncprov-sessionlog {{.SessionLog}}
{{- if .NoPresent}}
syncprov-nopresent TRUE
{{- end}}
`))

func (p *Process) writeConfig() error {
	var buf bytes.Buffer
	data := struct {
		Config
		Dir string
	}{p.cfg, p.dir}
	if err := confTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("ldaptest: render slapd.conf: %w", err)
	}
	if err := os.WriteFile(p.confPath(), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("ldaptest: write slapd.conf: %w", err)
	}
	return nil
}

// BaseLDIF is the skeleton every server starts with: the suffix entry,
// ou=people, ou=groups and the non-root reader.
func BaseLDIF(suffix, readerDN, readerPassword string) []byte {
	dc := strings.TrimPrefix(strings.SplitN(suffix, ",", 2)[0], "dc=")
	readerCN := strings.TrimPrefix(strings.SplitN(readerDN, ",", 2)[0], "cn=")
	return []byte(fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
dc: %[2]s
o: %[2]s

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: %[3]s
objectClass: person
objectClass: simpleSecurityObject
cn: %[4]s
sn: %[4]s
userPassword: %[5]s
`, suffix, dc, readerDN, readerCN, readerPassword))
}
