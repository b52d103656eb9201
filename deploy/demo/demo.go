// Package demo holds the demo directory that `lightdash-sync demo` runs on,
// so the data ships inside the binary and the command needs no files.
package demo

import (
	_ "embed"
	"fmt"

	"gopkg.in/yaml.v3"
)

//go:embed directory.yaml
var directoryYAML []byte

// Directory is the demo directory.
type Directory struct {
	Users []struct {
		ID    string `yaml:"id"`
		Email string `yaml:"email"`
		Name  string `yaml:"name"`
	} `yaml:"users"`
	Groups []struct {
		ID      string   `yaml:"id"`
		Name    string   `yaml:"name"`
		Members []string `yaml:"members"`
		Groups  []string `yaml:"groups"`
	} `yaml:"groups"`
	// LightdashUsers already have Lightdash accounts.
	LightdashUsers []string `yaml:"lightdash_users"`
}

// Load decodes the embedded directory.
func Load() (*Directory, error) {
	var d Directory
	if err := yaml.Unmarshal(directoryYAML, &d); err != nil {
		return nil, fmt.Errorf("demo directory: %w", err)
	}
	return &d, nil
}
