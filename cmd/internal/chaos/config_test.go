package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// daemonSettings is what the chaos and handover tests vary in a daemon's
// configuration; everything else is the same for both, so a setting that
// matters (the lease, the debounce, the safety limits) is stated once.
type daemonSettings struct {
	LightdashAddr    string // host:port of the fake (or of a proxy to it)
	LDAPAddr         string // host:port of slapd (or of a proxy to it)
	BindDN, BindFile string
	NATSURL          string
	AdminTokenFile   string
	LightdashTimeout time.Duration
	LeaseTTL         time.Duration
}

// yaml is the configuration of run p: its own Lightdash token file and
// admin listener, the LDAP source followed by syncrepl, state and the
// leader lease in NATS.
func (s daemonSettings) yaml(p *proc) string {
	return fmt.Sprintf(`log: {level: info, format: json}
lightdash:
  url: "http://%s"
  token_file: %s
  timeout: %s
  rate_limit: 50
  burst: 20
sources:
  - name: corp
    type: ldap
    ldap:
      urls: ["ldap://%s"]
      bind_dn: "%s"
      bind_password_file: %s
      user_base_dn: %s
      group_base_dn: %s
      watch: syncrepl
      connect_timeout: 3s
      timeout: 20s
  - name: events
    type: nats
    nats: {urls: ["%s"], create_stream: true}
mapping:
  rules: [{name: corp, source: corp, prefix: "%s"}]
sync:
  safety: {max_member_removals: 100000, max_member_removals_percent: 100}
state: {type: nats, source: events}
ha: {enabled: true, source: events, lease_ttl: %s}
schedule: {debounce: 100ms, max_delay: 1s}
admin: {listen: "127.0.0.1:0", token_file: %s}
`, s.LightdashAddr, filepath.Join(p.dir, "lightdash-token"), s.LightdashTimeout, s.LDAPAddr, s.BindDN, s.BindFile,
		peopleDN, groupsDN, s.NATSURL, prefix, s.LeaseTTL, s.AdminTokenFile)
}

// outputDir is where a test keeps its daemons' logs and configs: under
// -chaos.out (in sub, if given) when set, else a temporary directory that
// is removed when the test passes and kept when it fails, because a storm
// is hard to replay exactly and its logs are the evidence.
func outputDir(t *testing.T, sub string) string {
	t.Helper()
	if *outFlag != "" {
		dir := filepath.Join(*outFlag, sub)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir, err := os.MkdirTemp("", "lightdash-sync-chaos-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the daemons' logs, configs and the fake's request log are kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}
