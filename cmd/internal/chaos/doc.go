// Package chaos holds the fault-injection tests of the daemon. All run
// the real lightdash-sync binary as subprocesses, so that SIGKILL is real,
// against a real slapd, an embedded NATS server with JetStream and the
// fake Lightdash.
//
// TestChaos runs one daemon, restarted whenever it
// dies, through a stream of directory changes and faults (Lightdash
// errors, hangs, dropped connections and outages, killed daemons,
// restarted NATS and slapd, a cut network to LDAP). At the end, Lightdash
// must equal the directory and every injected fault must have been
// retried or reported.
//
// TestHandover runs two replicas with leader
// election on one NATS, kills the leader mid-stream and checks that the
// standby takes over within the lease's bound, that the fake's request
// log never shows two replicas writing interleaved, and that nothing is
// lost.
//
// TestFlapping (never two writers at once) runs two replicas,
// each reaching NATS through its own Proxy, and moves leadership again and
// again without killing anyone: the lease key deleted, overwritten with
// garbage or by another holder, the leader's NATS path cut. The replicas'
// logs give each one's leadership terms; in the fake's request log no
// replica may write outside its own terms or inside the other's.
//
// The only non-test code is Proxy, the TCP proxy that cuts and restores a
// network path; everything else lives in the _test files. See
// docs/reliability.md for the figures and how to run them.
package chaos
