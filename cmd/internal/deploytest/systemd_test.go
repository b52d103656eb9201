package deploytest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Unit is a parsed systemd unit file: section → directive → values (a
// directive may repeat).
type Unit map[string]map[string][]string

// ParseUnit reads the INI-like unit format: [Section], Key=Value, # and ;
// comments, backslash continuations.
func ParseUnit(data string) (Unit, error) {
	u := Unit{}
	section := ""
	var cont string
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\")
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", i+1, line)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("line %d: %q is not Key=Value inside a section", i+1, line)
		}
		k = strings.TrimSpace(k)
		u[section][k] = append(u[section][k], strings.TrimSpace(v))
	}
	return u, nil
}

// Get is a directive's last value ("" when unset).
func (u Unit) Get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// knownDirectives are the directives these units may use. systemd only
// warns about an unknown directive and goes on without it, so a misspelt
// hardening option would silently not apply; here it fails the test.
var knownDirectives = map[string][]string{
	"Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before", "Conflicts", "PartOf",
		"StartLimitIntervalSec", "StartLimitBurst"},
	"Service": {"Type", "ExecStart", "ExecReload", "ExecStartPre", "KillSignal", "TimeoutStopSec", "TimeoutStartSec",
		"Restart", "RestartSec", "RestartPreventExitStatus", "LoadCredential", "SetCredential", "StateDirectory", "StateDirectoryMode",
		"WorkingDirectory", "Environment", "DynamicUser", "User", "Group", "NoNewPrivileges", "ProtectSystem", "ProtectHome",
		"PrivateTmp", "PrivateDevices", "PrivateUsers", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
		"ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset", "RestrictNamespaces",
		"RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RemoveIPC", "KeyringMode",
		"DevicePolicy", "CapabilityBoundingSet", "AmbientCapabilities", "RestrictAddressFamilies", "SystemCallArchitectures",
		"SystemCallFilter", "SystemCallErrorNumber", "UMask", "ReadWritePaths", "IPAddressDeny", "IPAddressAllow", "PrivateMounts",
		"MemoryMax", "MemoryHigh"},
	"Timer":   {"OnCalendar", "OnBootSec", "OnUnitActiveSec", "RandomizedDelaySec", "Persistent", "Unit", "AccuracySec"},
	"Install": {"WantedBy", "RequiredBy", "Alias"},
}

// hardening are the settings both services must have, with their values.
var hardening = map[string]string{
	"DynamicUser": "yes", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
	"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
	"RestrictSUIDSGID": "yes", "LockPersonality": "yes", "CapabilityBoundingSet": "", "StateDirectory": "lightdash-sync",
}

var credRE = regexp.MustCompile(`\$\{CREDENTIALS_DIRECTORY\}/([A-Za-z0-9_.-]+)`)

// The directory systemd sets $CREDENTIALS_DIRECTORY and $STATE_DIRECTORY
// to, for loading the configuration as the service would see it.
const (
	credentialsDir = "/run/credentials/lightdash-sync.service"
	stateDir       = "/var/lib/lightdash-sync"
)

// CheckSystemd checks deploy/systemd: the units parse and use only known
// directives; the daemon and the oneshot run the right subcommand with
// flags the binary has and the same --config; the daemon reloads with
// SIGHUP and both are hardened; LoadCredential= names exactly the
// credentials config.yaml reads through ${CREDENTIALS_DIRECTORY}; the
// timer starts the oneshot; config.yaml loads with config.Parse.
func CheckSystemd(deploy string, b *Binary) error {
	dir := filepath.Join(deploy, "systemd")
	units := map[string]Unit{}
	for _, name := range []string{"lightdash-sync.service", "lightdash-sync-reconcile.service", "lightdash-sync-reconcile.timer"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		u, err := ParseUnit(string(data))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for section, keys := range u {
			known, ok := knownDirectives[section]
			if !ok {
				return fmt.Errorf("%s: unknown section [%s]", name, section)
			}
			for k := range keys {
				if !contains(known, k) {
					return fmt.Errorf("%s: [%s] %s is not a directive this check knows: misspelt?", name, section, k)
				}
			}
		}
		units[name] = u
	}
	cfgData, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, m := range credRE.FindAllStringSubmatch(string(cfgData), -1) {
		used[m[1]] = true
	}
	var cfgPath string
	for _, s := range []struct{ unit, sub, typ string }{
		{"lightdash-sync.service", "run", "exec"}, {"lightdash-sync-reconcile.service", "reconcile", "oneshot"},
	} {
		u := units[s.unit]
		argv := strings.Fields(u.Get("Service", "ExecStart"))
		if len(argv) < 2 || argv[0] != "/usr/local/bin/lightdash-sync" {
			return fmt.Errorf("%s: ExecStart %v does not run /usr/local/bin/lightdash-sync", s.unit, argv)
		}
		vals, err := b.CheckArgs(argv[1:])
		if err != nil {
			return fmt.Errorf("%s: ExecStart: %w", s.unit, err)
		}
		if argv[1] != s.sub {
			return fmt.Errorf("%s: ExecStart runs %q, want %q", s.unit, argv[1], s.sub)
		}
		if t := u.Get("Service", "Type"); t != s.typ {
			return fmt.Errorf("%s: Type=%s, want %s", s.unit, t, s.typ)
		}
		if cfgPath == "" {
			cfgPath = vals["config"]
		}
		if vals["config"] == "" || vals["config"] != cfgPath {
			return fmt.Errorf("%s: --config %q, want the same file in both units (%q)", s.unit, vals["config"], cfgPath)
		}
		for k, want := range hardening {
			vs, ok := u["Service"][k]
			if !ok || vs[len(vs)-1] != want {
				return fmt.Errorf("%s: want %s=%s", s.unit, k, want)
			}
		}
		loaded := map[string]bool{}
		for _, lc := range u["Service"]["LoadCredential"] {
			name, _, _ := strings.Cut(lc, ":")
			loaded[name] = true
		}
		if !sameKeys(loaded, used) {
			return fmt.Errorf("%s: LoadCredential= loads %v, config.yaml reads ${CREDENTIALS_DIRECTORY}/ %v", s.unit, keys(loaded), keys(used))
		}
	}
	if r := units["lightdash-sync.service"].Get("Service", "ExecReload"); !strings.Contains(r, "-HUP $MAINPID") {
		return fmt.Errorf("lightdash-sync.service: ExecReload=%q, want kill -HUP $MAINPID (the daemon reloads on SIGHUP)", r)
	}
	if cfgPath != "/etc/lightdash-sync/config.yaml" {
		return fmt.Errorf("--config %s: config.yaml is documented to install as /etc/lightdash-sync/config.yaml", cfgPath)
	}
	t := units["lightdash-sync-reconcile.timer"]
	if t.Get("Timer", "Unit") != "lightdash-sync-reconcile.service" || t.Get("Timer", "OnCalendar") == "" {
		return fmt.Errorf("lightdash-sync-reconcile.timer: want OnCalendar= and Unit=lightdash-sync-reconcile.service")
	}
	cfg, err := ParseConfig(cfgData, map[string]string{"CREDENTIALS_DIRECTORY": credentialsDir, "STATE_DIRECTORY": stateDir})
	if err != nil {
		return fmt.Errorf("systemd/config.yaml: %w", err)
	}
	for k, p := range cfg.Files {
		if !strings.HasPrefix(p, credentialsDir+"/") {
			return fmt.Errorf("systemd/config.yaml: %s %s is not a systemd credential (${CREDENTIALS_DIRECTORY}/name)", k, p)
		}
	}
	if cfg.State.Type == "file" && !strings.HasPrefix(cfg.State.Path, stateDir+"/") {
		return fmt.Errorf("systemd/config.yaml: state.path %s is outside StateDirectory %s, the only writable place", cfg.State.Path, stateDir)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func sameKeys(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scanLines is bufio.ScanLines over a string, kept for LDIF parsing.
func scanLines(s string) *bufio.Scanner {
	return bufio.NewScanner(strings.NewReader(s))
}
