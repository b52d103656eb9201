package config

import (
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Warnings are problems that do not stop the program but that an operator
// must hear about: cmd logs each one at warn level at start-up. They never
// contain a secret value, only the keys that hold one.
func (c *Config) Warnings() []string {
	return append([]string(nil), c.warnings...)
}

// inlineSecrets lists the keys of every secret written literally in the
// document: not empty, not a ${VAR} reference. Those secrets are only as
// private as the file itself.
func inlineSecrets(n *yaml.Node, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch n.Kind {
	case yaml.MappingNode:
		if t.Kind() != reflect.Struct {
			return nil
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				continue
			}
			key := join(path, k.Value)
			if f.Type == secretType {
				if v.Kind == yaml.ScalarNode && v.Value != "" && !strings.Contains(strings.ReplaceAll(v.Value, "$${", ""), "${") {
					out = append(out, key)
				}
				continue
			}
			out = append(out, inlineSecrets(v, f.Type, key)...)
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for i, c := range n.Content {
			out = append(out, inlineSecrets(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

var secretType = reflect.TypeOf(Secret(""))

// filePermissionWarning is the warning for a configuration file that holds
// inline secrets and that users other than its owner may read, or "".
func filePermissionWarning(path string, mode fs.FileMode, secrets []string) string {
	if len(secrets) == 0 || mode.Perm()&0o077 == 0 {
		return ""
	}
	keys := append([]string(nil), secrets...)
	sort.Strings(keys)
	return fmt.Sprintf("%s is readable by group or others (mode %04o) and holds secrets inline (%s): "+
		"run chmod 600 on it, or move the secrets to ${ENV_VAR} references or *_file settings",
		path, mode.Perm(), strings.Join(keys, ", "))
}
