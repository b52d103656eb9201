package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

func checkCommand() *command {
	return &command{
		name:  "check",
		short: "validate the configuration and test every connection",
		long: `Validates the configuration, then tests every connection it names: the Lightdash
token (and that it belongs to an organization admin), the groups feature flag,
each LDAP server's bind and each NATS server's stream. Prints one line per check
with OK or FAIL and the reason, then the effective configuration with every
secret masked. Writes nothing anywhere.

Exits 0 when every check passes, 1 when one fails, 2 when the configuration
itself is invalid. With several targets (config targets:) it checks every
target's Lightdash (--target NAME: only that one's) and the shared sources.`,
		flags: func(fs *flag.FlagSet, o *options) {
			configFlags(fs, o)
			fs.BoolVar(&o.showConfig, "show-config", true, "print the effective configuration (secrets masked)")
			targetFlag(fs, o)
		},
		run: runCheck,
	}
}

// checkResult is one line of check's report.
type checkResult struct {
	name   string
	detail string
	err    error
}

func runCheck(ctx context.Context, o *options) error {
	cfg, log, err := setup(o)
	if err != nil {
		return err
	}
	units, err := selectUnits(cfg, o.target)
	if err != nil {
		return err
	}
	results := []checkResult{{name: "configuration", detail: o.configPath}}
	for _, u := range units {
		r := checkLightdash(ctx, u, log)
		if u.TargetName != "" {
			for i := range r {
				r[i].name = "[" + u.TargetName + "] " + r[i].name
			}
		}
		results = append(results, r...)
	}
	// The sources as the first unit uses them: with targets, its own durable
	// consumer names, so check creates no consumer that nobody reads.
	results = append(results, checkSources(ctx, units[0], log)...)

	failed := printChecks(o.stdout, results)
	if o.showConfig {
		out, err := cfg.Effective()
		if err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "\nEffective configuration (secrets masked; keys left out and empty are not shown):\n%s", out)
	}
	if failed > 0 {
		return exitError{code: exitFailure}
	}
	return nil
}

func printChecks(w io.Writer, results []checkResult) (failed int) {
	for _, r := range results {
		if r.err != nil {
			failed++
			fmt.Fprintf(w, "FAIL  %-28s %v\n", r.name, r.err)
			continue
		}
		fmt.Fprintf(w, "OK    %-28s %s\n", r.name, r.detail)
	}
	return failed
}

// checkLightdash tests the token, its role and the groups feature flag:
// the two facts that, when wrong, make Lightdash list no groups at all.
func checkLightdash(ctx context.Context, cfg *config.Config, log *zap.Logger) []checkResult {
	ctx, cancel := context.WithTimeout(ctx, 2*cfg.Lightdash.Timeout)
	defer cancel()
	ld, err := newLightdash(cfg.Lightdash, log, nil)
	if err != nil {
		return []checkResult{{name: "lightdash client", err: err}}
	}
	var out []checkResult
	me, err := ld.WhoAmI(ctx)
	if err != nil {
		return append(out, checkResult{name: "lightdash token", err: err})
	}
	org := me.OrganizationUUID
	if o, err := ld.Organization(ctx); err == nil && o.Name != "" {
		org = fmt.Sprintf("%q (%s)", o.Name, me.OrganizationUUID) // the name is what an operator recognises
	}
	out = append(out, checkResult{name: "lightdash token", detail: fmt.Sprintf("%s acts as %s in organization %s", cfg.Lightdash.URL, me.Email, org)})
	if me.Role != lightdash.RoleAdmin {
		out = append(out, checkResult{name: "lightdash role", err: fmt.Errorf("the token's user %s has role %q; managing groups needs an organization admin, and any other role sees no groups at all", me.Email, me.Role)})
	} else {
		out = append(out, checkResult{name: "lightdash role", detail: "admin"})
	}
	enabled, err := ld.GroupsEnabled(ctx)
	switch {
	case err != nil:
		out = append(out, checkResult{name: "lightdash groups feature", err: err})
	case !enabled:
		out = append(out, checkResult{name: "lightdash groups feature", err: errors.New("user-groups-enabled is off: " + lightdash.FeatureDisabledHint)})
	default:
		out = append(out, checkResult{name: "lightdash groups feature", detail: "user-groups-enabled is on"})
	}
	return out
}

// checkSources connects to every source and reports what it found.
func checkSources(ctx context.Context, cfg *config.Config, log *zap.Logger) []checkResult {
	var out []checkResult
	for _, s := range cfg.Sources {
		name := fmt.Sprintf("source %s (%s)", s.Name, s.Type)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		detail, err := pingSource(cctx, s, log)
		cancel()
		out = append(out, checkResult{name: name, detail: detail, err: err})
	}
	return out
}
