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
listener. Exits 0 when it answers 200, 1 otherwise. For images without curl (the
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
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("health: %w", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("health: %s answered %s", url, resp.Status)
			}
			fmt.Fprintln(o.stdout, "ok")
			return nil
		},
	}
}
