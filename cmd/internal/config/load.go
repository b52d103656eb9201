package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a configuration problem. Key is the dotted path of the setting
// (sources[0].ldap.bind_dn) and Line its line in the file, when known.
type Error struct {
	File string
	Key  string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// MaxFileSize bounds the configuration file; anything larger is a mistake.
const MaxFileSize = 4 << 20

// LoadFile reads, decodes and validates the configuration at path. A file
// that holds secrets inline and is readable by group or others still loads,
// with a warning in Config.Warnings.
func LoadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read configuration: %v", unwrapPathError(err))}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read configuration: %v", err)}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("configuration is larger than %d bytes", MaxFileSize)}
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	if st, err := f.Stat(); err == nil {
		if w := filePermissionWarning(path, st.Mode(), cfg.inline); w != "" {
			cfg.warnings = append(cfg.warnings, w)
		}
	}
	return cfg, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse decodes a configuration: defaults, then the document (strict),
// then ${VAR} expansion through lookup, then *_file secrets, then Validate.
// It never returns a partly valid Config.
func Parse(data []byte, lookup func(string) (string, bool)) (*Config, error) {
	cfg := Default()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Msg: "configuration is empty"}
		}
		return nil, yamlSyntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Line: extra.Line, Msg: "configuration holds more than one YAML document"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: root.Line, Msg: "configuration must be a mapping of keys to values"}
	}
	lines := map[int]string{}
	cfg.keyLines = map[string]int{}
	if err := checkKeys(root, reflect.TypeOf(cfg).Elem(), "", lines, cfg.keyLines); err != nil {
		return nil, err
	}
	cfg.inline = inlineSecrets(root, reflect.TypeOf(cfg).Elem(), "")
	if err := expandEnv(root, "", lookup); err != nil {
		return nil, err
	}
	if err := root.Decode(cfg); err != nil {
		return nil, typeError(err, lines)
	}
	if err := cfg.decodeTargets(lines); err != nil {
		return nil, err
	}
	cfg.sourceDefaults()
	if err := cfg.readSecretFiles(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlSyntaxError(err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{Line: n, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// typeError turns yaml.v3's "line N: cannot unmarshal ..." into an Error
// that names the key on that line.
func typeError(err error, lines map[int]string) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return &Error{Msg: err.Error()}
	}
	m := yamlLineRE.FindStringSubmatch(te.Errors[0])
	if m == nil {
		return &Error{Msg: te.Errors[0]}
	}
	n, _ := strconv.Atoi(m[1])
	msg := m[2]
	if i := strings.Index(msg, "cannot unmarshal "); i >= 0 {
		msg = "wrong type: " + describeUnmarshal(msg[i+len("cannot unmarshal "):])
	}
	return &Error{Key: lines[n], Line: n, Msg: msg}
}

var unmarshalRE = regexp.MustCompile("^!!(\\w+) `?(.*?)`? into (.+)$")

// describeUnmarshal rewords "!!str `abc` into int" as
// `"abc" is a string, want int`.
func describeUnmarshal(s string) string {
	m := unmarshalRE.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	kinds := map[string]string{"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean", "map": "a mapping", "seq": "a list", "null": "null"}
	kind := kinds[m[1]]
	if kind == "" {
		kind = m[1]
	}
	want := m[3]
	switch {
	case want == "time.Duration":
		want = "a duration such as 30s or 5m"
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	case strings.HasPrefix(want, "map["), strings.HasPrefix(want, "config."):
		want = "a mapping"
	}
	if m[2] != "" {
		return fmt.Sprintf("%q is %s, want %s", m[2], kind, want)
	}
	return fmt.Sprintf("got %s, want %s", kind, want)
}

// checkKeys walks the document against the Go type, reporting the first
// unknown or repeated key, and records which key each line holds so type
// errors can name it.
func checkKeys(n *yaml.Node, t reflect.Type, path string, lines map[int]string, keyLines map[string]int) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.AliasNode:
		return &Error{Key: path, Line: n.Line, Msg: "YAML aliases are not supported in the configuration"}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Struct:
			fields := yamlFields(t)
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := join(path, k.Value)
				if k.Tag == "!!merge" {
					return &Error{Key: path, Line: k.Line, Msg: "YAML merge keys (<<) are not supported in the configuration"}
				}
				f, ok := fields[k.Value]
				if !ok {
					return &Error{Key: key, Line: k.Line, Msg: unknownKeyMsg(k.Value, fields)}
				}
				if seen[k.Value] {
					return &Error{Key: key, Line: k.Line, Msg: "key is given twice"}
				}
				seen[k.Value] = true
				keyLines[key] = k.Line
				lines[k.Line] = key
				lines[v.Line] = key
				if err := checkKeys(v, f.Type, key, lines, keyLines); err != nil {
					return err
				}
			}
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := join(path, k.Value)
				lines[k.Line] = key
				lines[v.Line] = key
				if err := checkKeys(v, t.Elem(), key, lines, keyLines); err != nil {
					return err
				}
			}
		}
	case yaml.SequenceNode:
		if t.Kind() == reflect.Slice {
			for i, c := range n.Content {
				key := fmt.Sprintf("%s[%d]", path, i)
				lines[c.Line] = key
				keyLines[key] = c.Line
				if err := checkKeys(c, t.Elem(), key, lines, keyLines); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out[name] = f
	}
	return out
}

func unknownKeyMsg(key string, fields map[string]reflect.StructField) string {
	best, bestD := "", 3
	for name := range fields {
		if d := editDistance(key, name); d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key (did you mean %q?)", best)
	}
	return "unknown key"
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var envRE = regexp.MustCompile(`\$\$\{|\$\{([^}]*)\}`)
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces ${NAME} in every scalar value. $${ stands for a
// literal ${. An unset variable is an error rather than an empty string: a
// missing LIGHTDASH_TOKEN must not silently become no token. Keys are not
// expanded, and a bare $ is left alone so passwords containing $ survive.
func expandEnv(n *yaml.Node, path string, lookup func(string) (string, bool)) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expandEnv(c, path, lookup); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := expandEnv(n.Content[i+1], join(path, n.Content[i].Value), lookup); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := expandEnv(c, fmt.Sprintf("%s[%d]", path, i), lookup); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		var firstErr error
		n.Value = envRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			if m == "$${" {
				return "${"
			}
			name := m[2 : len(m)-1]
			if !envNameRE.MatchString(name) {
				if firstErr == nil {
					firstErr = &Error{Key: path, Line: n.Line, Msg: fmt.Sprintf("invalid environment variable reference %q", m)}
				}
				return m
			}
			v, ok := lookup(name)
			if !ok && firstErr == nil {
				firstErr = &Error{Key: path, Line: n.Line, Msg: fmt.Sprintf("environment variable %s is not set", name)}
			}
			return v
		})
		if firstErr != nil {
			return firstErr
		}
		// Let a plain scalar resolve again, so rate_limit: ${RATE} is a
		// number once expanded; a quoted one stays a string.
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = ""
		}
	}
	return nil
}

// sourceDefaults fills every source's unset options.
func (c *Config) sourceDefaults() {
	for i := range c.Sources {
		if s := &c.Sources[i]; s.LDAP != nil {
			ldapDefaults(s.LDAP)
		} else if s.NATS != nil {
			natsDefaults(s.NATS)
		}
	}
}

// Complete fills the defaults of a Config built in code (Default, then
// fields set) and validates it, as Parse does for a file.
func (c *Config) Complete() error {
	c.sourceDefaults()
	return c.Validate()
}
