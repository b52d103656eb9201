package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Binary is what the deploy artefacts may rely on: the subcommands and
// flags of the built binary, the variables of package main that -ldflags
// -X may set, and the metric names the code registers.
type Binary struct {
	// Commands maps each subcommand to its flags (without dashes).
	Commands map[string]map[string]bool
	// LinkVars are package main's string variables, settable with -X main.NAME=.
	LinkVars map[string]bool
	// Metrics are the metric names the code registers.
	Metrics map[string]bool
	// MainDir is the main package's directory relative to the repository
	// root, in the form `go build` takes (./cmd/lightdash-sync).
	MainDir string
}

// MainDir is where the lightdash-sync main package lives.
const MainDir = "./cmd/lightdash-sync"

// LoadBinary asks the built binary at bin for its commands and flags
// (through `help` and `<command> --help`, as a user would) and reads the
// link variables and metric names from the sources under root.
func LoadBinary(ctx context.Context, root, bin string) (*Binary, error) {
	b := &Binary{Commands: map[string]map[string]bool{}, MainDir: MainDir}
	out, err := exec.CommandContext(ctx, bin, "help").Output()
	if err != nil {
		return nil, fmt.Errorf("%s help: %w", bin, err)
	}
	cmds, err := parseCommands(out)
	if err != nil {
		return nil, err
	}
	for _, c := range cmds {
		out, err := exec.CommandContext(ctx, bin, c, "--help").Output()
		if err != nil {
			return nil, fmt.Errorf("%s %s --help: %w", bin, c, err)
		}
		b.Commands[c] = parseFlags(out)
	}
	if b.LinkVars, err = linkVars(filepath.Join(root, MainDir)); err != nil {
		return nil, err
	}
	if b.Metrics, err = RegisteredMetrics(root); err != nil {
		return nil, err
	}
	return b, nil
}

// parseCommands reads the command list of the main usage text: the
// indented lines after "Commands:".
func parseCommands(help []byte) ([]string, error) {
	var cmds []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Commands:"):
			in = true
		case in && strings.HasPrefix(line, "  "):
			cmds = append(cmds, strings.Fields(line)[0])
		case in && strings.TrimSpace(line) == "":
			in = len(cmds) == 0
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("no commands in the help output:\n%s", help)
	}
	return cmds, nil
}

var flagLineRE = regexp.MustCompile(`^\s+-([A-Za-z0-9][A-Za-z0-9-]*)`)

// parseFlags reads flag.PrintDefaults output: "  -name type".
func parseFlags(help []byte) map[string]bool {
	flags := map[string]bool{}
	for _, line := range strings.Split(string(help), "\n") {
		if m := flagLineRE.FindStringSubmatch(line); m != nil {
			flags[m[1]] = true
		}
	}
	return flags
}

// CheckArgs checks a command line for the binary (without argv[0]): a
// known subcommand, then only its flags, each with a value when it takes
// one. It returns the flags' values by name.
func (b *Binary) CheckArgs(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no subcommand")
	}
	flags, ok := b.Commands[args[0]]
	if !ok {
		return nil, fmt.Errorf("unknown subcommand %q", args[0])
	}
	vals := map[string]string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return nil, fmt.Errorf("%s: unexpected argument %q", args[0], a)
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !flags[name] {
			return nil, fmt.Errorf("%s: unknown flag %q", args[0], a)
		}
		if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			val = args[i]
		}
		vals[name] = val
	}
	return vals, nil
}

// linkVars lists package main's package-level string variables.
func linkVars(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	vars := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if isStringVar(vs, i) {
						vars[n.Name] = true
					}
				}
			}
		}
	}
	return vars, nil
}

func isStringVar(vs *ast.ValueSpec, i int) bool {
	if id, ok := vs.Type.(*ast.Ident); ok {
		return id.Name == "string"
	}
	if vs.Type == nil && i < len(vs.Values) {
		lit, ok := vs.Values[i].(*ast.BasicLit)
		return ok && lit.Kind == token.STRING
	}
	return false
}
