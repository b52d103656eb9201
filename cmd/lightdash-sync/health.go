package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"
)

func healthCommand() *command {
	var url string
	return &command{
		name:  "health",
		short: "probe a running daemon's /healthz (for container HEALTHCHECKs)",
		long: `Asks a running 'lightdash-sync run' whether it is alive: GET /healthz on its admin
listener. Exits 0 when it answers 200, 1 otherwise (a redirect is not followed and
counts as unhealthy). For images without curl (the
distroless image in deploy/Dockerfile uses it as its HEALTHCHECK).`,
		flags: func(fs *flag.FlagSet, o *options) {
			fs.StringVar(&url, "url", "http://127.0.0.1:9464/healthz", "the daemon's /healthz URL")
		},
		run: func(ctx context.Context, o *options) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError{err}
			}
			resp, err := probeClient.Do(req)
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health: %s answered %s, a redirect to %q (not followed: give the daemon's own /healthz URL)", url, resp.Status, loc)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health: %s answered %s", url, resp.Status)
			}
			fmt.Fprintln(o.stdout, "ok")
			return nil
		},
	}
}

// probeClient follows no redirect: the daemon's /healthz never redirects,
// and a 200 from wherever a redirect leads says nothing about the daemon.
var probeClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
