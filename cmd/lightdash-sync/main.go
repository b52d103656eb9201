// Command lightdash-sync keeps Lightdash user groups in step with a
// directory (LDAP, Active Directory, or directory-change events on NATS).
//
// See README.md for the commands and docs/configuration.md for the file.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
