package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaFile = "../../../deploy/lightdash-sync.schema.json"

// TestSchemaIsNotStale: the committed schema is what the structs give.
func TestSchemaIsNotStale(t *testing.T) {
	want, err := Schema(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `go generate ./cmd/internal/config` and commit it", schemaFile)
	}
}

func compileConfigSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := Schema("")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaCheck validates a YAML document against the schema, as an editor
// with yaml-language-server does.
func schemaCheck(s *jsonschema.Schema, data []byte) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

// exampleEnv stands in for the environment the example files expect.
func exampleEnv(name string) (string, bool) {
	if name == "RETRIES" { // every-key.yaml's number
		return "3", true
	}
	return "/env/" + strings.ToLower(name), true
}

// parseExample loads an example with the real loader; the secret files
// it names are pointed at a stand-in, since they do not exist here.
func parseExample(t *testing.T, data []byte) error {
	t.Helper()
	stand := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(stand, []byte("stand-in\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i, c := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 && strings.HasSuffix(n.Content[i-1].Value, "_file") && n.Content[i-1].Value != "ca_file" &&
				!strings.HasSuffix(n.Content[i-1].Value, "cert_file") && n.Content[i-1].Value != "key_file" {
				c.Value = stand
				continue
			}
			walk(c)
		}
	}
	walk(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return err
	}
	_, err = Parse(out, exampleEnv)
	return err
}

// loaderKeysAndTypes is the loader without Validate: the key check and
// the typed decode, which is what the schema describes.
func loaderKeysAndTypes(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	cfg := Default()
	lines := map[int]string{}
	cfg.keyLines = map[string]int{}
	if err := checkKeys(root, reflect.TypeOf(cfg).Elem(), "", lines, cfg.keyLines); err != nil {
		return nil, err
	}
	if err := expandEnv(root, "", exampleEnv); err != nil {
		return nil, err
	}
	if err := root.Decode(cfg); err != nil {
		return nil, typeError(err, lines)
	}
	return cfg, cfg.decodeTargets(lines)
}

// exampleConfigs are the configuration files the repository ships.
func exampleConfigs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{"config.example.yaml", "compose/config.yaml", "systemd/config.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../../deploy", p))
		if err != nil {
			t.Fatal(err)
		}
		out["deploy/"+p] = b
	}
	b, err := os.ReadFile("../../../deploy/kubernetes/base/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil || cm.Data["config.yaml"] == "" {
		t.Fatalf("kubernetes/base/configmap.yaml has no data.config.yaml: %v", err)
	}
	out["deploy/kubernetes/base/configmap.yaml"] = []byte(cm.Data["config.yaml"])
	return out
}

// TestSchemaAcceptsWhatTheLoaderAccepts feeds the shipped examples and a
// file with every key through both, and checks each example carries the
// editor hint.
func TestSchemaAcceptsWhatTheLoaderAccepts(t *testing.T) {
	s := compileConfigSchema(t)
	for name, data := range exampleConfigs(t) {
		t.Run(name, func(t *testing.T) {
			if err := parseExample(t, data); err != nil {
				t.Errorf("loader: %v", err)
			}
			if err := schemaCheck(s, data); err != nil {
				t.Errorf("schema: %v", err)
			}
			if !bytes.Contains(data, []byte("# yaml-language-server: $schema=")) {
				t.Errorf("no editor hint (# yaml-language-server: $schema=...)")
			}
		})
	}
	every, err := os.ReadFile("testdata/every-key.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loaderKeysAndTypes(every); err != nil {
		t.Errorf("every-key.yaml: loader: %v", err)
	}
	if err := schemaCheck(s, every); err != nil {
		t.Errorf("every-key.yaml: schema: %v", err)
	}
}

// TestEveryKeyFileHasEveryKey: a key added to the structs must be added
// to testdata/every-key.yaml, so the test above covers it.
func TestEveryKeyFileHasEveryKey(t *testing.T) {
	every, err := os.ReadFile("testdata/every-key.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(every, &doc); err != nil {
		t.Fatal(err)
	}
	seen, all := map[string]bool{}, map[string]bool{}
	coverKeys(doc.Content[0], reflect.TypeOf(Config{}), seen)
	allKeys(reflect.TypeOf(Config{}), all)
	var missing []string
	for k := range all {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("testdata/every-key.yaml lacks %s", strings.Join(missing, ", "))
	}
}

func coverKeys(n *yaml.Node, t reflect.Type, seen map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				coverKeys(c, t, seen)
			}
			return
		}
	}
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return
	}
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if f, ok := fields[n.Content[i].Value]; ok {
			seen[t.Name()+"."+n.Content[i].Value] = true
			coverKeys(n.Content[i+1], f.Type, seen)
		}
	}
}

func allKeys(t reflect.Type, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return
	}
	for key, f := range yamlFields(t) {
		if k := t.Name() + "." + key; !out[k] {
			out[k] = true
			allKeys(f.Type, out)
		}
	}
}

// TestSchemaRefusesWhatTheLoaderRefuses: unknown keys at every level and
// wrong types are refused by both.
func TestSchemaRefusesWhatTheLoaderRefuses(t *testing.T) {
	s := compileConfigSchema(t)
	base := "lightdash: {url: https://lightdash.example.com, token: t}\n" +
		"sources: [{name: corp, type: nats, nats: {urls: [tls://nats.example.com:4222]}}]\n" +
		"mapping: {rules: [{name: all}]}\n"
	if _, err := loaderKeysAndTypes([]byte(base)); err != nil {
		t.Fatalf("base: loader: %v", err)
	}
	if err := schemaCheck(s, []byte(base)); err != nil {
		t.Fatalf("base: schema: %v", err)
	}
	for _, c := range []struct{ name, from, to string }{
		{"unknown top-level key", "mapping:", "mapings: {}\nmapping:"},
		{"unknown key in a section", "token: t}", "token: t, tokn: x}"},
		{"unknown key in a source", "nats: {urls:", "nats: {stream_name: X, urls:"},
		{"unknown key in a rule", "{name: all}", "{name: all, inclde: [x]}"},
		{"number as text", "token: t}", "token: t, rate_limit: fast}"},
		{"duration as a number", "token: t}", "token: t, timeout: 30}"},
		{"duration without a unit", "token: t}", "token: t, timeout: '30'}"},
		{"list as a string", "urls: [tls://nats.example.com:4222]", "urls: tls://nats.example.com:4222"},
		{"boolean as text", "token: t}", "token: t, allow_insecure_http: maybe}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(base, c.from, c.to, 1)
			if doc == base {
				t.Fatalf("%q not in the base document", c.from)
			}
			_, lerr := loaderKeysAndTypes([]byte(doc))
			serr := schemaCheck(s, []byte(doc))
			if lerr == nil || serr == nil {
				t.Errorf("loader error %v, schema error %v; want both to refuse\n%s", lerr, fmt.Sprint(serr), doc)
			}
		})
	}
}
