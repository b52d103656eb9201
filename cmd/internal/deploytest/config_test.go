package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
)

// LoadedConfig is an example configuration parsed by the real loader.
type LoadedConfig struct {
	*config.Config
	// Files maps every *_file setting (dotted key) to the path it names,
	// after ${VAR} expansion: the files the deployment must provide.
	Files map[string]string
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// EnvVars lists the ${VAR} references in a configuration file.
func EnvVars(data []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range varRE.FindAllSubmatch(data, -1) {
		if n := string(m[1]); !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// ParseConfig loads an example configuration with config.Parse, as the
// binary would, with env as the environment. The secret files it names do
// not exist here, so every *_file path is first pointed at a stand-in file
// in a temporary directory; the original paths are returned for the
// deployment's cross-checks.
func ParseConfig(data []byte, env map[string]string) (*LoadedConfig, error) {
	tmp, err := os.MkdirTemp("", "deploytest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	files := map[string]string{}
	var walkErr error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := strings.TrimPrefix(path+"."+k.Value, ".")
				if strings.HasSuffix(k.Value, "_file") && v.Kind == yaml.ScalarNode {
					orig := os.Expand(v.Value, func(name string) string {
						val, ok := env[name]
						if !ok && walkErr == nil {
							walkErr = fmt.Errorf("config: %s: environment variable %s is not set", key, name)
						}
						return val
					})
					if !filepath.IsAbs(orig) {
						walkErr = fmt.Errorf("config: %s: %q is not an absolute path", key, orig)
						continue
					}
					files[key] = orig
					stand := filepath.Join(tmp, orig)
					if err := os.MkdirAll(filepath.Dir(stand), 0o700); err != nil {
						walkErr = err
					}
					if err := os.WriteFile(stand, []byte("stand-in-secret\n"), 0o600); err != nil {
						walkErr = err
					}
					v.Value = stand
					continue
				}
				walk(v, key)
			}
		}
	}
	walk(&doc, "")
	if walkErr != nil {
		return nil, walkErr
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(out, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &LoadedConfig{Config: cfg, Files: files}, nil
}
