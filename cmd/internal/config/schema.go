package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"
)

//go:generate go run ./schemagen -o ../../../deploy/lightdash-sync.schema.json

// SchemaID is where the published schema lives, for the editor hint
// "# yaml-language-server: $schema=<SchemaID>".
const SchemaID = "https://raw.githubusercontent.com/lightdash-sync/lightdash-sync/main/deploy/lightdash-sync.schema.json"

// Schema returns the JSON Schema of the configuration file. It is made
// from the Config structs by the field walk the loader uses to refuse
// unknown keys (yamlFields), so the schema and the loader agree on every
// key: each object refuses other keys, as the loader does. Descriptions
// are the fields' doc comments, read from the Go files in srcDir (this
// package's directory); "" leaves them out. Validation rules beyond keys
// and types (required keys, allowed names) stay in Validate.
func Schema(srcDir string) ([]byte, error) {
	g := &schemaGen{defs: map[string]any{}}
	if srcDir != "" {
		docs, err := fieldDocs(srcDir)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		g.docs = docs
	}
	root := g.object(reflect.TypeOf(Config{}))
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = SchemaID
	root["title"] = "lightdash-sync configuration"
	g.defs["env"] = map[string]any{"type": "string", "pattern": `\$\{[A-Za-z_][A-Za-z0-9_]*\}`,
		"description": "an ${ENV_VAR} reference, expanded when the file is loaded"}
	root["definitions"] = g.defs
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return b.Bytes(), nil
}

type schemaGen struct {
	defs map[string]any
	docs map[string]string // "Type.Field" and "Type" → doc comment
}

var durationType = reflect.TypeOf(time.Duration(0))

// durationPattern is what time.ParseDuration accepts.
const durationPattern = `^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	env := map[string]any{"$ref": "#/definitions/env"}
	if t == durationType {
		return map[string]any{"anyOf": []any{map[string]any{"type": "string", "pattern": durationPattern}, env},
			"description": "a duration: 300ms, 30s, 10m, 1h30m"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = nil // placeholder: a type may refer to itself
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/definitions/" + t.Name()}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"anyOf": []any{map[string]any{"type": "boolean"}, env}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"anyOf": []any{map[string]any{"type": "integer"}, env}}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"anyOf": []any{map[string]any{"type": "integer", "minimum": 0}, env}}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"anyOf": []any{map[string]any{"type": "number"}, env}}
	}
	panic("config schema: no JSON Schema for " + t.String())
}

// object is the schema of struct t: its YAML keys, no others.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for key, f := range yamlFields(t) {
		s := g.schema(f.Type)
		if d := g.docs[t.Name()+"."+f.Name]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}}
			}
			s["description"] = describe(d, f.Name, key)
		}
		props[key] = s
	}
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if d := g.docs[t.Name()]; d != "" {
		o["description"] = describe(d, t.Name(), "")
	}
	return o
}

var spaces = regexp.MustCompile(`\s+`)

// describe turns a doc comment into one paragraph that names the key, not
// the Go field.
func describe(doc, goName, key string) string {
	doc = strings.TrimSpace(spaces.ReplaceAllString(doc, " "))
	if key != "" && strings.HasPrefix(doc, goName+" ") {
		doc = key + doc[len(goName):]
	}
	return doc
}

// fieldDocs reads the doc comments of the struct types and fields
// declared in dir's non-test Go files.
func fieldDocs(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				docs[ts.Name.Name] = gd.Doc.Text()
				for _, fl := range st.Fields.List {
					for _, n := range fl.Names {
						docs[ts.Name.Name+"."+n.Name] = fl.Doc.Text()
					}
				}
			}
		}
	}
	return docs, nil
}
