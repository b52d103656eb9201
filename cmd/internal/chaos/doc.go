// Package chaos holds the fault-injection test of the daemon (issue 10,
// "Faults"): the real lightdash-sync binary runs as a subprocess, so that
// SIGKILL is real, against a real slapd reached through a TCP proxy, an
// embedded NATS server with JetStream and the fake Lightdash, while a
// stream of directory changes and faults (Lightdash errors, hangs, dropped
// connections and outages, killed daemons, restarted NATS and slapd, a cut
// network) runs. At the end, Lightdash must equal the directory.
//
// The only non-test code is Proxy, the TCP proxy that cuts and restores a
// network path; everything else lives in the _test files. See
// docs/reliability.md for the figures of a long run and how to run it.
package chaos
