package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docFiles are the pages an integrator reads for the command line.
var docFiles = []string{"README.md", "docs/*.md", "deploy/README.md", "deploy/compose/README.md"}

// docSnippets returns the inline code spans and the lines of fenced code
// blocks of the docs, each with the file it comes from.
func docSnippets(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, pattern := range docFiles {
		paths, err := filepath.Glob(filepath.Join("../..", pattern))
		if err != nil || len(paths) == 0 {
			t.Fatalf("%s: no such docs (%v)", pattern, err)
		}
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel("../..", path)
			var prose []string
			fenced, code := false, ""
			for _, line := range strings.Split(string(data), "\n") {
				switch {
				case strings.HasPrefix(strings.TrimSpace(line), "```"):
					fenced = !fenced
				case fenced:
					// A command continued with \ is one line.
					line, _, _ = strings.Cut(line, " #")
					if c, ok := strings.CutSuffix(strings.TrimSpace(line), "\\"); ok {
						code += c + " "
						continue
					}
					out[rel] = append(out[rel], strings.TrimSpace(code+line))
					code = ""
				default:
					prose = append(prose, line)
				}
			}
			for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(strings.Join(prose, " "), -1) {
				out[rel] = append(out[rel], strings.TrimSpace(m[1]))
			}
		}
	}
	return out
}

var (
	invocation  = regexp.MustCompile(`^(?:\$ )?(?:\./|go run \./cmd/)?lightdash-sync\s+([a-z-]+)(.*)$`)
	commandSpan = regexp.MustCompile(`^(run|reconcile|plan|explain|check|demo|health|version)(\s+[-\[].*)?$`)
	flagSpan    = regexp.MustCompile(`^--[a-z]`)
	flagName    = regexp.MustCompile(`(?:^|[\s\[])--([a-z][a-z-]*)`)
)

// TestDocsCommandsAndFlagsExist checks every lightdash-sync command line in
// the docs: the subcommand exists, its --help works, and every flag the docs
// give it is one its help lists. A bare `--flag` must exist on some command.
func TestDocsCommandsAndFlagsExist(t *testing.T) {
	help := map[string]string{}
	helpOf := func(cmd string) (string, bool) {
		if h, ok := help[cmd]; ok {
			return h, true
		}
		code, out, errOut := runMain(t, cmd, "--help")
		if code != exitOK {
			t.Errorf("lightdash-sync %s --help: exit %d: %s", cmd, code, errOut)
			return "", false
		}
		help[cmd] = out
		return out, true
	}
	hasFlag := func(cmd, flag string) bool {
		h, ok := helpOf(cmd)
		return ok && regexp.MustCompile(`(?m)^\s+-`+regexp.QuoteMeta(flag)+`(\s|$)`).MatchString(h)
	}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}

	checked := 0
	for file, snippets := range docSnippets(t) {
		for _, s := range snippets {
			var cmd, rest string
			if m := invocation.FindStringSubmatch(s); m != nil {
				cmd, rest = m[1], m[2]
			} else if m := commandSpan.FindStringSubmatch(s); m != nil {
				cmd, rest = m[1], m[2]
			} else if flagSpan.MatchString(s) {
				flag := flagName.FindStringSubmatch(s)[1]
				found := flag == "help"
				for _, c := range names {
					found = found || hasFlag(c, flag)
				}
				if !found {
					t.Errorf("%s: `%s`: no command has --%s", file, s, flag)
				}
				checked++
				continue
			} else {
				continue
			}
			checked++
			if !slices.Contains(names, cmd) {
				t.Errorf("%s: `%s`: lightdash-sync has no command %q", file, s, cmd)
				continue
			}
			for _, m := range flagName.FindAllStringSubmatch(rest, -1) {
				if m[1] != "help" && !hasFlag(cmd, m[1]) {
					t.Errorf("%s: `%s`: lightdash-sync %s has no --%s", file, s, cmd, m[1])
				}
			}
		}
	}
	// A parser that matches nothing would pass.
	if checked < 20 {
		t.Errorf("%d command lines and flags checked in the docs, want at least 20", checked)
	}
}

// TestReadmeListsEveryCommand keeps README's table of commands equal to the
// commands Main knows.
func TestReadmeListsEveryCommand(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "\n## Commands\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var documented, known []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	for _, c := range commands() {
		known = append(known, c.name)
	}
	sort.Strings(documented)
	sort.Strings(known)
	if strings.Join(documented, " ") != strings.Join(known, " ") {
		t.Errorf("README.md ## Commands lists %v, lightdash-sync has %v", documented, known)
	}
}
