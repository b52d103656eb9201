package config

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Effective is the configuration as `check` prints it: YAML with every
// secret masked, each key the file set, and the defaults that apply to
// the keys it left out, marked "# default". A key left out with nothing
// behind it (empty, false, null) is not shown.
func (c *Config) Effective() ([]byte, error) {
	var n, def yaml.Node
	if err := n.Encode(c); err != nil {
		return nil, fmt.Errorf("effective configuration: %w", err)
	}
	if err := def.Encode(Default()); err != nil {
		return nil, fmt.Errorf("effective configuration: %w", err)
	}
	defaults := map[string]string{}
	flatten(&def, "", defaults)
	c.prune(&n, "", defaults)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("effective configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("effective configuration: %w", err)
	}
	return b.Bytes(), nil
}

// prune drops the keys under n that the file left out and that hold
// nothing, and marks the defaults among the rest. A value the file left
// out that differs from Default() was set by a flag and is not marked;
// keys Default() lacks (a source's options) take their package defaults.
func (c *Config) prune(n *yaml.Node, path string, defaults map[string]string) {
	switch n.Kind {
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := join(path, k.Value)
			c.prune(v, key, defaults)
			if _, set := c.keyLines[key]; !set {
				if empty(v) {
					continue
				}
				if d, ok := defaults[key]; v.Kind == yaml.ScalarNode && (!ok || d == v.Value) {
					v.LineComment = "default"
				} else if v.Kind == yaml.SequenceNode {
					k.LineComment = "default"
				}
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	case yaml.SequenceNode:
		for i, e := range n.Content {
			c.prune(e, fmt.Sprintf("%s[%d]", path, i), defaults)
		}
	case yaml.DocumentNode:
		for _, e := range n.Content {
			c.prune(e, path, defaults)
		}
	}
}

// empty reports whether n, a value the file left out, holds nothing worth
// showing. A zero number or duration left out is not a setting: the
// library that owns it fills its own default in.
func empty(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return true
		case "!!str":
			return n.Value == "" || n.Value == "0s"
		case "!!bool":
			return n.Value == "false"
		case "!!int", "!!float":
			return n.Value == "0"
		}
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) == 0
	}
	return false
}

// flatten records the scalar values under n by dotted key.
func flatten(n *yaml.Node, path string, out map[string]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			flatten(n.Content[i+1], join(path, n.Content[i].Value), out)
		}
	case yaml.ScalarNode:
		out[path] = n.Value
	case yaml.DocumentNode:
		for _, e := range n.Content {
			flatten(e, path, out)
		}
	}
}
