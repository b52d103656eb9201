package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
)

// The docs are read by integrators as the source of truth: these tests hold
// every default stated in docs/configuration.md and docs/events.md to the
// value the binary uses, i.e. what LoadFile yields for a minimal file.

// docsMinimal sets only required keys, with one source of each type so that
// both source sections get their defaults.
const docsMinimal = `
lightdash: {url: https://lightdash.example.com, token: t}
sources:
  - name: corp
    type: ldap
    ldap:
      urls: [ldaps://ldap.example.com]
      bind_dn: cn=sync,dc=example,dc=com
      bind_password: p
      user_base_dn: ou=people,dc=example,dc=com
      group_base_dn: ou=groups,dc=example,dc=com
  - name: hr
    type: nats
    nats: {urls: [tls://nats.example.com:4222]}
mapping: {rules: [{name: all}]}
`

// descriptiveDefaults are default cells that describe rather than state a
// value, and why the test does not compare them.
var descriptiveDefaults = map[string]string{
	"required":           "no default: the file must set the key",
	"preset":             "the ldap schema preset (the presets table) fills it in sources/ldap",
	"the top-level ones": "a target inherits the top-level section",
	"UTC":                "schedule.time_zone stays empty, which the daemon reads as UTC",
}

// filledDownstream are keys the loader leaves at zero and a library fills
// in: the documented default is the library's.
var filledDownstream = map[string]any{
	"sources[].nats.max_clock_skew":      natssource.DefaultMaxClockSkew,
	"sources[].nats.max_sequence_jump":   uint64(natssource.DefaultMaxSequenceJump),
	"sources[].nats.max_inflight_bytes":  int(natssource.DefaultMaxInflightBytes),
	"sources[].nats.view_max_bytes":      int64(natssource.DefaultViewMaxBytes),
	"sources[].nats.tombstone_retention": natssource.DefaultTombstoneRetention,
	// sources/ldap fills an empty scope with "sub" (unexported).
	"sources[].ldap.user_scope":  "sub",
	"sources[].ldap.group_scope": "sub",
}

// notSettings are backticked names that docs/events.md gives a default
// which are not configuration keys.
var notSettings = map[string]string{
	"enabled": "a field of user.upserted events, not a setting",
}

// loadDocsMinimal loads docsMinimal through LoadFile.
func loadDocsMinimal(t *testing.T) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lightdash-sync.yaml")
	if err := os.WriteFile(path, []byte(docsMinimal), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatalf("load minimal configuration: %v", err)
	}
	return cfg
}

// docDefault is one default the docs state.
type docDefault struct {
	file, section, key string
	line               int
	value              string // the text between backticks; "" for an empty cell
	descriptive        string // set when the cell is a word such as "required"
}

func (d docDefault) name() string { return d.section + "." + d.key }

// where is the file, and the line when known.
func (d docDefault) where() string {
	if d.line == 0 {
		return d.file
	}
	return fmt.Sprintf("%s:%d", d.file, d.line)
}

var backticked = regexp.MustCompile("`([^`]*)`")

// configurationDefaults reads the | key | default | meaning | tables of
// docs/configuration.md, and the "`key` (`default`)" entries of its
// | key | meaning | tables, per section.
func configurationDefaults(t *testing.T) []docDefault {
	t.Helper()
	const file = "docs/configuration.md"
	data, err := os.ReadFile("../../../" + file)
	if err != nil {
		t.Fatal(err)
	}
	var out []docDefault
	section, columns := "", 0
	for i, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section, columns = strings.Trim(h, "`"), 0
			continue
		}
		if h, ok := strings.CutPrefix(line, "### `type: "); ok {
			section, columns = "sources[]."+strings.TrimSuffix(h, "`"), 0
			continue
		}
		if !strings.HasPrefix(line, "|") {
			columns = 0
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		switch {
		case len(cells) >= 3 && cells[0] == "key" && cells[1] == "default":
			columns = 3
			continue
		case len(cells) >= 2 && cells[0] == "key" && cells[1] == "meaning":
			columns = 2
			continue
		case columns == 0 || strings.HasPrefix(cells[0], "---"):
			continue
		}
		keys, values, descr := splitKeyCell(cells[0]), []string(nil), ""
		if columns == 2 {
			// "`allow_merge` (`false`)"; rows without a default are skipped.
			m := regexp.MustCompile("^`([^`]+)` \\(`([^`]*)`\\)$").FindStringSubmatch(cells[0])
			if m == nil {
				continue
			}
			keys, values = []string{m[1]}, []string{m[2]}
		} else {
			for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
				values = append(values, m[1])
			}
			if values == nil && cells[1] != "" {
				descr = cells[1]
			}
		}
		switch {
		case descr != "" || len(values) == 0:
			values = make([]string, len(keys))
		case len(values) == 1 && len(keys) > 1:
			for len(values) < len(keys) {
				values = append(values, values[0])
			}
		case len(values) != len(keys):
			t.Errorf("%s:%d: %d keys but %d defaults: %s", file, i+1, len(keys), len(values), line)
			continue
		}
		for k, key := range keys {
			out = append(out, docDefault{file: file, line: i + 1, section: section, key: key, value: values[k], descriptive: descr})
		}
	}
	return out
}

// splitKeyCell reads "`a`, `b`", "`a` / `a_file`" and "`x.max` / `_percent`"
// (a suffix of the key before it).
func splitKeyCell(cell string) []string {
	var keys []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		k := m[1]
		if strings.HasPrefix(k, "_") && len(keys) > 0 {
			k = keys[len(keys)-1] + k
		}
		keys = append(keys, k)
	}
	return keys
}

// eventsDefaults reads "`key` (default `value`" and "`key`, default `value`"
// in docs/events.md: all of the NATS source's settings. A "(default" or
// ", default" written any other way is an error, so a default cannot slip
// past the test by its wording.
func eventsDefaults(t *testing.T) []docDefault {
	t.Helper()
	const file = "docs/events.md"
	data, err := os.ReadFile("../../../" + file)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(data)), " ")
	stated := regexp.MustCompile("`([a-z_]+)`,? \\(?default `([^`]+)`")
	var out []docDefault
	covered := map[int]bool{}
	for _, m := range stated.FindAllStringSubmatchIndex(text, -1) {
		key, value := text[m[2]:m[3]], text[m[4]:m[5]]
		covered[strings.Index(text[m[0]:m[1]], "default")+m[0]] = true
		if _, ok := notSettings[key]; ok {
			continue
		}
		out = append(out, docDefault{file: file, section: "sources[].nats", key: key, value: value})
	}
	for _, m := range regexp.MustCompile(`(?:\(|, )default\b`).FindAllStringIndex(text, -1) {
		at := strings.Index(text[m[0]:m[1]], "default") + m[0]
		if !covered[at] {
			t.Errorf("%s: a default not written as \"`key` (default `value`)\": …%s…", file, text[max(0, m[0]-60):min(len(text), m[1]+40)])
		}
	}
	return out
}

// schemaDefaults reads "key (default value)" in the descriptions of
// sources/nats/event.schema.json, which name the NATS source's settings.
func schemaDefaults(t *testing.T) []docDefault {
	t.Helper()
	const file = "sources/nats/event.schema.json"
	data, err := os.ReadFile("../../../" + file)
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	var descriptions []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "description" {
					descriptions = append(descriptions, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(schema)
	stated := regexp.MustCompile(`\b([a-z_]+) \(default ([^ ;)]+)\)`)
	var out []docDefault
	for _, d := range descriptions {
		ms := stated.FindAllStringSubmatch(d, -1)
		if n := strings.Count(d, "default"); n != len(ms) {
			t.Errorf("%s: %d defaults not written as \"key (default value)\": %s", file, n-len(ms), d)
		}
		for _, m := range ms {
			out = append(out, docDefault{file: file, section: "sources[].nats", key: m[1], value: m[2]})
		}
	}
	return out
}

// lookup finds the value of section.key in cfg by YAML key names.
func lookup(cfg *Config, section, key string) (reflect.Value, error) {
	v := reflect.ValueOf(cfg).Elem()
	path := strings.Split(section+"."+key, ".")
	if path[0] == "sources[]" {
		typ := path[1]
		var found *Source
		for i := range cfg.Sources {
			if cfg.Sources[i].Type == typ {
				found = &cfg.Sources[i]
			}
		}
		if found == nil {
			return reflect.Value{}, fmt.Errorf("no %s source in the minimal configuration", typ)
		}
		v, path = reflect.ValueOf(found).Elem(), path[1:]
	}
	for _, name := range path {
		for v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("no key %q", name)
		}
		next := reflect.Value{}
		for i := 0; i < v.NumField(); i++ {
			if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); tag == name {
				next = v.Field(i)
			}
		}
		if !next.IsValid() {
			return reflect.Value{}, fmt.Errorf("no key %q", name)
		}
		v = next
	}
	return v, nil
}

// parseDocValue reads the documented value as a value of typ: YAML for
// numbers, booleans, durations and lists; strings as written.
func parseDocValue(text string, typ reflect.Type) (reflect.Value, error) {
	v := reflect.New(typ).Elem()
	if typ.Kind() == reflect.String {
		v.SetString(text)
		return v, nil
	}
	if err := yaml.Unmarshal([]byte(text), v.Addr().Interface()); err != nil {
		return v, err
	}
	return v, nil
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return fmt.Sprintf("%q", v.String())
	}
	return fmt.Sprint(v.Interface())
}

func checkDocDefaults(t *testing.T, cfg *Config, defaults []docDefault) (checked int) {
	t.Helper()
	for _, d := range defaults {
		if d.descriptive != "" {
			if _, ok := descriptiveDefaults[d.descriptive]; !ok {
				t.Errorf("%s: %s: default %q is neither a `value` nor a known description", d.where(), d.name(), d.descriptive)
			}
			continue
		}
		got, err := lookup(cfg, d.section, d.key)
		if err != nil {
			t.Errorf("%s: %s: %v", d.where(), d.name(), err)
			continue
		}
		if down, ok := filledDownstream[d.name()]; ok {
			if !got.IsZero() {
				t.Errorf("%s: the loader sets %s; drop it from filledDownstream", d.name(), show(got))
				continue
			}
			got = reflect.ValueOf(down)
		}
		if d.value == "" {
			if !got.IsZero() {
				t.Errorf("%s: %s: docs say no default, binary uses %s", d.file, d.name(), show(got))
			}
			checked++
			continue
		}
		want, err := parseDocValue(d.value, got.Type())
		if err != nil {
			t.Errorf("%s: %s: docs say %s, which is not a %s: %v", d.file, d.name(), d.value, got.Type(), err)
			continue
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s: %s: docs say %s, binary uses %s", d.file, d.name(), d.value, show(got))
		}
		checked++
	}
	return checked
}

// TestDocsDefaultsAreTheBinarys compares every default docs/configuration.md
// states with what LoadFile yields for a minimal file.
func TestDocsDefaultsAreTheBinarys(t *testing.T) {
	cfg := loadDocsMinimal(t)
	// A parser that finds nothing would pass; the tables hold about 60.
	if n := checkDocDefaults(t, cfg, configurationDefaults(t)); n < 50 {
		t.Errorf("docs/configuration.md: %d defaults checked, want at least 50: is the table format still | key | default | meaning |?", n)
	}
}

// TestEventsDocDefaultsAreTheBinarys does the same for the NATS settings
// docs/events.md names.
func TestEventsDocDefaultsAreTheBinarys(t *testing.T) {
	cfg := loadDocsMinimal(t)
	if n := checkDocDefaults(t, cfg, eventsDefaults(t)); n < 10 {
		t.Errorf("docs/events.md: %d defaults checked, want at least 10", n)
	}
}

// TestFilledDownstreamIsNotStale keeps filledDownstream's values typed like
// the keys they stand for.
func TestFilledDownstreamIsNotStale(t *testing.T) {
	cfg := loadDocsMinimal(t)
	for name, v := range filledDownstream {
		i := strings.LastIndex(name, ".")
		got, err := lookup(cfg, name[:i], name[i+1:])
		if err != nil {
			t.Errorf("filledDownstream: %s: %v", name, err)
			continue
		}
		if got.Type() != reflect.TypeOf(v) {
			t.Errorf("filledDownstream: %s is a %s, the entry a %T", name, got.Type(), v)
		}
	}
}

// TestSchemaDefaultsAreTheBinarys does the same for the settings the event
// schema's descriptions name.
func TestSchemaDefaultsAreTheBinarys(t *testing.T) {
	cfg := loadDocsMinimal(t)
	if n := checkDocDefaults(t, cfg, schemaDefaults(t)); n < 3 {
		t.Errorf("sources/nats/event.schema.json: %d defaults checked, want at least 3", n)
	}
}
