package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/deploy/demo"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

func demoCommand() *command {
	return &command{
		name:  "demo",
		short: "run the whole sync on embedded defaults: nothing to install",
		long: `Runs the real pipeline on this machine with nothing to install or configure:
an embedded NATS server with JetStream, a SIMULATED Lightdash (an in-memory copy
of Lightdash's groups API on a local port: not a real Lightdash) with a few
users, and the demo directory shipped in deploy/demo/, published as
directory-change events. With --ldap (when slapd is installed) the directory is
a real local slapd seeded with the same data, followed with syncrepl.

It runs the first reconciliation and prints the Lightdash groups, then makes a
scripted series of directory changes (a user joins a group, a group is renamed,
a user is disabled, a group is removed) and prints each change, the Lightdash
calls it caused and how long it took to reach Lightdash. Then it keeps running
with the status page and metrics URLs printed, until Ctrl-C; --exit ends after
the script.`,
		flags: func(fs *flag.FlagSet, o *options) {
			fs.BoolVar(&o.exitAfterScript, "exit", false, "exit after the scripted changes instead of running until Ctrl-C")
			fs.BoolVar(&o.demoLDAP, "ldap", false, "use a real local slapd (Debian package slapd) seeded with the demo directory instead of NATS events")
			fs.StringVar(&o.logLevel, "log-level", "error", "log level of the daemon's own logs (to stderr)")
		},
		run: runDemo,
	}
}

// demoRun is the demo's moving parts.
type demoRun struct {
	out    io.Writer
	dir    *demo.Directory
	ld     *lightdashtest.Server
	drv    demoDirectory
	h      *daemonHandle
	emails map[string]string // Lightdash user uuid → email
	// project is the uuid of the simulated project demoProject.
	project string
	cfg     *config.Config
	log     *zap.Logger
}

// demoProject is the simulated Lightdash project the demo grants a role on.
const demoProject = "Analytics"

func runDemo(ctx context.Context, o *options) error {
	dir, err := demo.Load()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "lightdash-sync-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var drv demoDirectory
	if o.demoLDAP {
		drv, err = newLDAPDemo(ctx, tmp, dir)
	} else {
		drv, err = newNATSDemo(tmp)
	}
	if err != nil {
		return err
	}
	defer drv.close()

	ld := lightdashtest.NewServer(lightdashtest.WithOrganizationName("Demo (simulated)"))
	defer ld.Close()
	d := &demoRun{out: o.stdout, dir: dir, ld: ld, drv: drv, emails: map[string]string{}, project: ld.AddProject(demoProject)}
	for _, email := range dir.LightdashUsers {
		u := ld.AddUser(email, lightdash.RoleViewer)
		d.emails[u.UserUUID] = email
	}

	cfg := config.Default()
	cfg.Log = config.Log{Level: o.logLevel, Format: "console"}
	cfg.Lightdash.URL = ld.URL()
	cfg.Lightdash.Token = config.Secret(ld.AdminToken())
	cfg.Lightdash.RateLimit, cfg.Lightdash.Burst = 50, 10
	cfg.Sources = []config.Source{drv.source()}
	// analysts also get the editor role on the Analytics project.
	cfg.Mapping.Rules = []config.Rule{
		{Name: "analysts", NameRegex: "analysts$", Prefix: "dir-", Projects: []config.ProjectAccess{{Project: demoProject, Role: "editor"}}},
		{Name: "everything", Prefix: "dir-"},
	}
	cfg.Schedule.Debounce, cfg.Schedule.MaxDelay = 100*time.Millisecond, time.Second
	cfg.Sync.Safety.DeleteGracePeriod, cfg.Sync.Safety.DeleteAfterReads = 0, 2
	cfg.State.Path = tmp + "/state.json"
	cfg.Admin.Listen = "127.0.0.1:0"
	if err := cfg.Complete(); err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	log, err := newLogger(cfg.Log, o.stderr)
	if err != nil {
		return usageError{err}
	}
	defer log.Sync() //nolint:errcheck // stderr

	d.cfg, d.log = cfg, log
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if d.h, err = startDaemon(runCtx, cfg, log); err != nil {
		return err
	}
	defer d.h.Close()
	adm := &adminListener{log: log}
	defer adm.close()
	ln, err := adm.prepare(cfg)
	if err != nil {
		return err
	}
	adm.serve(cfg, ln, d.h.adminHandler(cfg, time.Now(), nil).ServeMux())
	done := make(chan error, 1)
	go func() { done <- d.h.units[0].d.Run(runCtx) }()

	fmt.Fprintf(d.out, "lightdash-sync demo: the real sync pipeline against a SIMULATED Lightdash\n")
	fmt.Fprintf(d.out, "  simulated Lightdash (in-memory, local only): %s\n  directory: deploy/demo/directory.yaml (%d users, %d groups), %s\n\n",
		ld.URL(), len(dir.Users), len(dir.Groups), drv.describe())
	if err := d.script(ctx); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nStatus page: http://%s/status   Metrics: http://%s/metrics\n", adm.addr, adm.addr)
	if !o.exitAfterScript {
		fmt.Fprintln(d.out, "Running until Ctrl-C. (Everything above happened in a simulated Lightdash; nothing left this machine.)")
		<-ctx.Done()
	}
	cancel()
	return <-done
}
