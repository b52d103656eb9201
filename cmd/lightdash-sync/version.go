package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X main.version=v1.2.3 -X main.commit=abc123" by the
// release build (see deploy/Dockerfile). A plain go build falls back to the
// module and VCS information Go embeds.
var (
	version = ""
	commit  = ""
)

func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
				if len(c) > 12 {
					c = c[:12]
				}
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

func versionCommand() *command {
	return &command{
		name:  "version",
		short: "print the version, commit and Go version",
		long:  "Prints lightdash-sync's version, the commit it was built from and the Go version.",
		run: func(_ context.Context, o *options) error {
			v, c := buildVersion()
			fmt.Fprintf(o.stdout, "lightdash-sync %s (commit %s, %s, %s/%s)\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
