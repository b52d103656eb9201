package deploytest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Line int
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

// ParseDockerfile splits a Dockerfile into instructions: comments and
// blank lines dropped, backslash continuations joined.
func ParseDockerfile(data string) ([]Instruction, error) {
	var out []Instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(data, "\n") {
		trimmed := strings.TrimSpace(line)
		// Comments and blank lines are skipped, inside a continuation too,
		// as Docker does.
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(trimmed, "\\")) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, Instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation at end of file", start)
	}
	return out, nil
}

// execForm decodes the JSON array form of CMD, ENTRYPOINT, HEALTHCHECK CMD.
func execForm(s string) ([]string, error) {
	var argv []string
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		return nil, fmt.Errorf("not the exec (JSON array) form: %s", s)
	}
	return argv, nil
}

var (
	ldflagXRE  = regexp.MustCompile(`-X\s+main\.([A-Za-z_][A-Za-z0-9_]*)=`)
	buildOutRE = regexp.MustCompile(`go build .*-o\s+(\S+)\s+(\S+)\s*$`)
)

// CheckDockerfile checks deploy/Dockerfile statically (no Docker engine
// is needed): a build stage that compiles the main package with
// CGO_ENABLED=0 and stamps only variables main has; a final stage on
// distroless or scratch that copies exactly the built file, runs as a
// non-root user, and whose ENTRYPOINT is that file; a HEALTHCHECK that runs
// the binary's own health subcommand against the default admin port.
func CheckDockerfile(deploy string, b *Binary) error {
	path := filepath.Join(deploy, "Dockerfile")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	ins, err := ParseDockerfile(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	var froms []Instruction
	var builtPath, copied, copiedTo, user, entry string
	var health *Instruction
	stages := map[string]bool{}
	for i, in := range ins {
		switch in.Cmd {
		case "FROM":
			froms = append(froms, in)
			f := strings.Fields(in.Args)
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
			}
			user = "" // USER is per stage
		case "RUN":
			if m := buildOutRE.FindStringSubmatch(in.Args); m != nil {
				if !strings.Contains(in.Args, "CGO_ENABLED=0") {
					return fail(in.Line, "go build without CGO_ENABLED=0: the binary would need libc")
				}
				if m[2] != b.MainDir {
					return fail(in.Line, "builds %s, want %s", m[2], b.MainDir)
				}
				builtPath = m[1]
				xs := ldflagXRE.FindAllStringSubmatch(in.Args, -1)
				if len(xs) == 0 {
					return fail(in.Line, "go build does not stamp the version (-ldflags -X main.version=...)")
				}
				for _, x := range xs {
					if !b.LinkVars[x[1]] {
						return fail(in.Line, "-X main.%s: package main has no string variable %s", x[1], x[1])
					}
				}
			}
		case "COPY":
			f := strings.Fields(in.Args)
			if len(f) == 3 && strings.HasPrefix(f[0], "--from=") {
				if !stages[strings.TrimPrefix(f[0], "--from=")] {
					return fail(in.Line, "COPY %s: no such stage", f[0])
				}
				copied, copiedTo = f[1], f[2]
			}
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			argv, err := execForm(in.Args)
			if err != nil || len(argv) == 0 {
				return fail(in.Line, "ENTRYPOINT: %v", err)
			}
			entry = argv[0]
		case "HEALTHCHECK":
			health = &ins[i]
		}
	}
	if len(froms) < 2 {
		return fmt.Errorf("%s: want a multi-stage build (builder and final image), got %d FROM", path, len(froms))
	}
	final := froms[len(froms)-1]
	if !strings.HasPrefix(final.Args, "gcr.io/distroless/static") && !strings.HasPrefix(final.Args, "scratch") {
		return fail(final.Line, "final image %s, want gcr.io/distroless/static... or scratch", final.Args)
	}
	if builtPath == "" {
		return fmt.Errorf("%s: no RUN ... go build -o PATH %s", path, b.MainDir)
	}
	if copied != builtPath {
		return fmt.Errorf("%s: the final stage copies %q, but the build writes %q", path, copied, builtPath)
	}
	if entry != copiedTo {
		return fmt.Errorf("%s: ENTRYPOINT runs %q, but the binary is copied to %q", path, entry, copiedTo)
	}
	u, _, _ := strings.Cut(user, ":")
	if u == "" || u == "root" || u == "0" {
		return fmt.Errorf("%s: the final stage must set a non-root USER (got %q)", path, user)
	}
	if health == nil {
		return fmt.Errorf("%s: no HEALTHCHECK", path)
	}
	_, cmd, ok := strings.Cut(health.Args, "CMD ")
	if !ok {
		return fail(health.Line, "HEALTHCHECK without CMD")
	}
	argv, err := execForm(strings.TrimSpace(cmd))
	if err != nil || len(argv) < 2 {
		return fail(health.Line, "HEALTHCHECK CMD: %v", err)
	}
	if argv[0] != copiedTo {
		return fail(health.Line, "HEALTHCHECK runs %q, not the binary %q", argv[0], copiedTo)
	}
	vals, err := b.CheckArgs(argv[1:])
	if err != nil {
		return fail(health.Line, "HEALTHCHECK: %v", err)
	}
	if argv[1] != "health" {
		return fail(health.Line, "HEALTHCHECK runs %q, want the health subcommand", argv[1])
	}
	if hu := vals["url"]; hu != "" {
		pu, err := url.Parse(hu)
		if err != nil || pu.Path != "/healthz" || pu.Port() != AdminPort {
			return fail(health.Line, "HEALTHCHECK probes %q, want http://127.0.0.1:%s/healthz", hu, AdminPort)
		}
	}
	return nil
}

// AdminPort is the admin listener's port in every deploy artefact.
const AdminPort = "9464"
