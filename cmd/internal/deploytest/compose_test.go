package deploytest

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of the Compose specification the file uses;
// decoding with known fields only catches a misspelt key.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image    string `yaml:"image"`
	Profiles []string
	Build    *struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
	Healthcheck *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

// composeVarRE matches Compose interpolation: ${VAR}, ${VAR:-default}.
var composeVarRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}`)

// CheckCompose checks deploy/compose: compose.yaml decodes with known keys
// only; lightdash-sync is built from deploy/Dockerfile, runs a subcommand
// with flags the binary has, with config.yaml mounted where --config
// points and every ${VAR} config.yaml uses in its environment;
// config.yaml loads with config.Parse and names only hosts that are
// compose services; Lightdash has the groups feature flag on; OpenLDAP is
// seeded with seed.ldif, which holds the demo directory.
func CheckCompose(deploy string, b *Binary) error {
	dir := filepath.Join(deploy, "compose")
	data, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		return err
	}
	var cf composeFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil {
		return fmt.Errorf("compose.yaml: %w", err)
	}
	for name, s := range cf.Services {
		if (s.Image == "") == (s.Build == nil) {
			return fmt.Errorf("compose.yaml: service %s needs exactly one of image and build", name)
		}
		for _, dep := range dependsOn(s.DependsOn) {
			if _, ok := cf.Services[dep]; !ok {
				return fmt.Errorf("compose.yaml: service %s depends on %s, which is not a service", name, dep)
			}
		}
	}
	sync, ok := cf.Services["lightdash-sync"]
	if !ok || sync.Build == nil {
		return fmt.Errorf("compose.yaml: no lightdash-sync service built from source")
	}
	ctx := filepath.Join(dir, sync.Build.Context)
	if df := filepath.Join(ctx, sync.Build.Dockerfile); filepath.Clean(df) != filepath.Join(deploy, "Dockerfile") {
		return fmt.Errorf("compose.yaml: lightdash-sync builds %s, want deploy/Dockerfile", df)
	}
	if _, err := os.Stat(filepath.Join(ctx, "go.mod")); err != nil {
		return fmt.Errorf("compose.yaml: build context %s is not the repository root: %w", sync.Build.Context, err)
	}
	vals, err := b.CheckArgs(sync.Command)
	if err != nil {
		return fmt.Errorf("compose.yaml: lightdash-sync command %v: %w", sync.Command, err)
	}
	cfgFile := ""
	for _, v := range sync.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == vals["config"] {
			cfgFile = filepath.Join(dir, parts[0])
		}
	}
	if cfgFile == "" {
		return fmt.Errorf("compose.yaml: nothing is mounted at --config %q", vals["config"])
	}
	cfgData, err := os.ReadFile(cfgFile)
	if err != nil {
		return fmt.Errorf("compose.yaml: --config: %w", err)
	}
	env := map[string]string{}
	for k, v := range sync.Environment {
		// The value after compose interpolation; an unset .env variable
		// with no default would be empty, so stand in for it.
		env[k] = composeVarRE.ReplaceAllString(v, "stand-in")
	}
	for _, v := range EnvVars(cfgData) {
		if _, ok := env[v]; !ok {
			return fmt.Errorf("compose/config.yaml uses ${%s}, which the lightdash-sync service's environment does not set", v)
		}
	}
	cfg, err := ParseConfig(cfgData, env)
	if err != nil {
		return fmt.Errorf("compose/config.yaml: %w", err)
	}
	// Every host the configuration names must be a compose service.
	hosts := []string{cfg.Lightdash.URL}
	for _, s := range cfg.Sources {
		if s.LDAP != nil {
			hosts = append(hosts, s.LDAP.URLs...)
		}
		if s.NATS != nil {
			hosts = append(hosts, s.NATS.URLs...)
		}
	}
	for _, h := range hosts {
		u, err := url.Parse(h)
		if err != nil {
			return fmt.Errorf("compose/config.yaml: %s: %w", h, err)
		}
		if _, ok := cf.Services[u.Hostname()]; !ok {
			return fmt.Errorf("compose/config.yaml: %s: %s is not a compose service", h, u.Hostname())
		}
	}
	_, port, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil || !strings.HasPrefix(cfg.Admin.Listen, "0.0.0.0:") || port != AdminPort {
		return fmt.Errorf("compose/config.yaml: admin.listen %q: want 0.0.0.0:%s, where the image's HEALTHCHECK and the published port look", cfg.Admin.Listen, AdminPort)
	}
	published := false
	for _, p := range sync.Ports {
		if strings.HasSuffix(p, ":"+port) {
			published = true
		}
	}
	if !published {
		return fmt.Errorf("compose.yaml: lightdash-sync does not publish the admin port %s", port)
	}
	ld, ok := cf.Services["lightdash"]
	if !ok || !strings.Contains(ld.Environment["LIGHTDASH_ENABLE_FEATURE_FLAGS"], "user-groups-enabled") || ld.Environment["GROUPS_ENABLED"] != "true" {
		return fmt.Errorf("compose.yaml: the lightdash service needs LIGHTDASH_ENABLE_FEATURE_FLAGS=user-groups-enabled and GROUPS_ENABLED=true")
	}
	seeded := false
	for _, v := range cf.Services["openldap"].Volumes {
		if strings.HasPrefix(v, "./seed.ldif:") {
			seeded = true
		}
	}
	if !seeded {
		return fmt.Errorf("compose.yaml: openldap does not mount ./seed.ldif")
	}
	return CheckSeedLDIF(deploy)
}

// dependsOn reads depends_on in its list or its mapping form.
func dependsOn(n yaml.Node) []string {
	var out []string
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}
