package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/cmd/internal/progress"
)

// Exit codes. plan --detailed-exitcode uses exitChanges for "changes
// pending", as Terraform does.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitChanges = 2
)

// usageError marks an error in the command line or the configuration:
// the command exits 2, not 1, so a scheduler can tell "fix the config"
// from "the sync failed".
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries a specific exit code (plan's detailed exit code).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// command is one subcommand.
type command struct {
	name  string
	short string
	long  string
	// flags adds the command's own flags to fs.
	flags func(fs *flag.FlagSet, o *options)
	run   func(ctx context.Context, o *options) error
	// arg names the command's one required argument (put in options.arg),
	// or is empty for a command that takes none.
	arg string
}

// options are the parsed flags of every command; each command uses its own.
type options struct {
	stdout, stderr io.Writer

	configPath string
	logLevel   string
	logFormat  string
	dryRun     bool
	// reconcile, plan, check: the one target to run
	target string

	// plan
	output           string
	outFile          string
	detailedExitCode bool
	// reconcile
	planFile       string
	allowDeletions bool
	// progress, when stderr is a terminal, shows a full run's progress
	// (startProgress); o.stderr then writes through it.
	progress *progress.Terminal
	// check
	showConfig bool
	// explain: the command's argument (command.arg)
	arg string
	// demo
	exitAfterScript bool
	demoLDAP        bool
}

func commands() []*command {
	return []*command{
		runCommand(), reconcileCommand(), planCommand(), checkCommand(), versionCommand(), demoCommand(), healthCommand(),
		explainCommand(),
	}
}

const mainUsage = `lightdash-sync keeps Lightdash user groups in step with your directory.

Usage:
  lightdash-sync <command> [flags]

Commands:
%s
Run 'lightdash-sync <command> --help' for a command's flags.

Exit codes: 0 success, 1 failure, 2 usage or configuration error
(plan --detailed-exitcode: 0 no changes, 1 error, 2 changes pending).
`

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	usage := func(w io.Writer) {
		var b strings.Builder
		sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
		for _, c := range cmds {
			fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.short)
		}
		fmt.Fprintf(w, mainUsage, b.String())
	}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		usage(stdout)
		return exitOK
	case "--version", "-version":
		args[0] = "version"
	}
	var cmd *command
	for _, c := range cmds {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "lightdash-sync: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	o := &options{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("lightdash-sync "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if cmd.flags != nil {
		cmd.flags(fs, o)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: lightdash-sync %s [flags]%s\n\n%s\n", cmd.name, strings.TrimRight(" "+cmd.arg, " "), strings.TrimSpace(cmd.long))
		if hasFlags(fs) {
			fmt.Fprintf(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	// Parse prints the usage itself, on --help too: it goes to stderr only
	// for an error; asked for, it is printed once, on stdout.
	var parseOut bytes.Buffer
	fs.SetOutput(&parseOut)
	if err := parseArgs(fs, cmd, o, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK
		}
		if errors.Is(err, errMissingArg) {
			fmt.Fprintf(stderr, "lightdash-sync %s: %v\n", cmd.name, err)
		}
		_, _ = stderr.Write(parseOut.Bytes())
		return exitUsage
	}
	fs.SetOutput(stderr)
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lightdash-sync %s: unexpected argument %q\n", cmd.name, fs.Arg(0))
		return exitUsage
	}
	err := cmd.run(ctx, o)
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "lightdash-sync %s: %v\n", cmd.name, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "lightdash-sync %s: %v\n", cmd.name, err)
		return exitFailure
	}
}

var errMissingArg = errors.New("missing argument")

// parseArgs parses the flags, and for a command with an argument takes it
// from among them: flags may come before or after it.
func parseArgs(fs *flag.FlagSet, cmd *command, o *options, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cmd.arg == "" {
		return nil
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w %s", errMissingArg, cmd.arg)
	}
	o.arg = fs.Arg(0)
	return fs.Parse(fs.Args()[1:])
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// configFlags are the flags of every command that reads the configuration.
func configFlags(fs *flag.FlagSet, o *options) {
	def := os.Getenv("LIGHTDASH_SYNC_CONFIG")
	if def == "" {
		def = "./lightdash-sync.yaml"
	}
	fs.StringVar(&o.configPath, "config", def, "configuration file (env LIGHTDASH_SYNC_CONFIG)")
	fs.StringVar(&o.logLevel, "log-level", "", "override log.level: debug, info, warn, error")
	fs.StringVar(&o.logFormat, "log-format", "", "override log.format: json or console")
}

// loadConfig loads the file and applies the flag overrides. Every error is
// a usageError (exit 2).
func loadConfig(o *options) (*config.Config, error) {
	cfg, err := config.LoadFile(o.configPath)
	if err != nil {
		return nil, usageError{err}
	}
	if o.logLevel != "" {
		cfg.Log.Level = o.logLevel
	}
	if o.logFormat != "" {
		cfg.Log.Format = o.logFormat
	}
	if o.dryRun {
		cfg.ForceDryRun()
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{fmt.Errorf("after flags: %w", err)}
	}
	return cfg, nil
}

// setup loads the configuration and builds the logger, the first steps of
// every command that reads the configuration.
func setup(o *options) (*config.Config, *zap.Logger, error) {
	cfg, err := loadConfig(o)
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(cfg.Log, o.stderr)
	if err != nil {
		return nil, nil, usageError{err}
	}
	if w := cfg.Warnings(); len(w) > 0 {
		for _, msg := range w {
			log.Warn(msg)
		}
	}
	return cfg, log, nil
}
