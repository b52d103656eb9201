package deploytest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// RegisteredMetrics reads every non-test Go file under root and returns
// the names of the series the Prometheus metrics they define expose: each
// prometheus.*Opts{Namespace, Subsystem, Name} literal, joined as the
// client library joins them, with _bucket, _sum and _count for
// histograms and _sum and _count for summaries. A Name that is a helper function's parameter
// (counter := func(name, help string) ...) is resolved through the string
// literals the helper is called with in the same file.
func RegisteredMetrics(root string) (map[string]bool, error) {
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "deploy") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, n := range fileMetrics(file) {
			names[n.name] = true
			for _, suffix := range seriesSuffixes[n.opts] {
				names[n.name+suffix] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no metrics found under %s", root)
	}
	return names, nil
}

// seriesSuffixes are the extra series each kind of metric exposes.
var seriesSuffixes = map[string][]string{
	"HistogramOpts": {"_bucket", "_sum", "_count"},
	"SummaryOpts":   {"_sum", "_count"},
}

type metricDef struct{ name, opts string }

func fileMetrics(file *ast.File) []metricDef {
	var out []metricDef
	// helpers maps a func-literal variable to where its Name parameter is.
	type helper struct {
		prefix, opts string
		arg          int
	}
	helpers := map[string]helper{}
	ast.Inspect(file, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		fl, ok := as.Rhs[0].(*ast.FuncLit)
		id, ok2 := as.Lhs[0].(*ast.Ident)
		if !ok || !ok2 {
			return true
		}
		params := paramNames(fl.Type)
		ast.Inspect(fl.Body, func(n ast.Node) bool {
			if prefix, name, ok := optsLiteral(n); ok && name.ident != "" {
				for i, p := range params {
					if p == name.ident {
						helpers[id.Name] = helper{prefix, name.opts, i}
					}
				}
			}
			return true
		})
		return true
	})
	ast.Inspect(file, func(n ast.Node) bool {
		if prefix, name, ok := optsLiteral(n); ok && name.lit != "" {
			out = append(out, metricDef{prefix + name.lit, name.opts})
		}
		if call, ok := n.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok {
				if h, ok := helpers[id.Name]; ok && h.arg < len(call.Args) {
					if s, ok := stringLit(call.Args[h.arg]); ok {
						out = append(out, metricDef{h.prefix + s, h.opts})
					}
				}
			}
		}
		return true
	})
	return out
}

func paramNames(ft *ast.FuncType) []string {
	var names []string
	for _, f := range ft.Params.List {
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
	}
	return names
}

// nameValue is an Opts literal's Name (a string literal or an
// identifier) and the Opts type (CounterOpts, HistogramOpts, ...).
type nameValue struct{ lit, ident, opts string }

// optsLiteral recognises prometheus.XxxOpts{...} and returns the
// Namespace_Subsystem_ prefix and the Name field.
func optsLiteral(n ast.Node) (prefix string, name nameValue, ok bool) {
	cl, isLit := n.(*ast.CompositeLit)
	if !isLit {
		return "", nameValue{}, false
	}
	sel, isSel := cl.Type.(*ast.SelectorExpr)
	if !isSel || !strings.HasSuffix(sel.Sel.Name, "Opts") {
		return "", nameValue{}, false
	}
	if pkg, isID := sel.X.(*ast.Ident); !isID || pkg.Name != "prometheus" {
		return "", nameValue{}, false
	}
	var ns, sub string
	name.opts = sel.Sel.Name
	for _, e := range cl.Elts {
		kv, isKV := e.(*ast.KeyValueExpr)
		if !isKV {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		switch key.Name {
		case "Namespace":
			ns, _ = stringLit(kv.Value)
		case "Subsystem":
			sub, _ = stringLit(kv.Value)
		case "Name":
			if s, isStr := stringLit(kv.Value); isStr {
				name.lit = s
			} else if id, isID := kv.Value.(*ast.Ident); isID {
				name.ident = id.Name
			}
		}
	}
	for _, p := range []string{ns, sub} {
		if p != "" {
			prefix += p + "_"
		}
	}
	return prefix, name, name.lit != "" || name.ident != ""
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

var metricRefRE = regexp.MustCompile(`\blightdash_[a-z0-9_]+`)

// MetricRefs lists the lightdash_* metric names a PromQL expression uses.
func MetricRefs(expr string) []string {
	return metricRefRE.FindAllString(expr, -1)
}

// CheckMetricRefs checks that every lightdash_* name in expr is a series
// the code exposes (known, from RegisteredMetrics) and that expr uses at
// least one.
func CheckMetricRefs(expr string, known map[string]bool) error {
	refs := MetricRefs(expr)
	if len(refs) == 0 {
		return fmt.Errorf("uses no lightdash metric: %s", expr)
	}
	for _, r := range refs {
		if !known[r] {
			return fmt.Errorf("metric %s is not registered by the code", r)
		}
	}
	return nil
}
