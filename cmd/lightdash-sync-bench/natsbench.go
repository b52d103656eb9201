package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	natssrc "github.com/lightdash-sync/lightdash-sync/sources/nats"
)

// natsGroups is how many groups the NATS events are spread over, so that
// most events coalesce with others of their group.
const natsGroups = 100

// runNATS measures NATS event throughput through the daemon: N
// members_added events are published to an embedded JetStream before the
// daemon starts; the figure is N over the time from the first delivery to
// the last acknowledgement. The floor is publishing them (JetStream's own
// pace on this machine).
func (h *harness) runNATS(ctx context.Context) (Row, error) {
	dir, err := os.MkdirTemp(h.work, "nats-")
	if err != nil {
		return Row{}, err
	}
	ns, err := startNATS(dir)
	if err != nil {
		return Row{}, err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return Row{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Row{}, err
	}
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "DIRECTORY", Subjects: []string{"directory.>"}})
	if err != nil {
		return Row{}, fmt.Errorf("create stream: %w", err)
	}
	n := h.opt.Events
	pub, err := h.publishEvents(ctx, js, n)
	if err != nil {
		return Row{}, err
	}
	h.logf("published %d events in %s", n, pub.Round(time.Millisecond))

	ld := h.newFake(h.opt.Latencies[0])
	defer ld.Close()
	dm, err := h.startNATSDaemon(ctx, dir, ld.URL(), ld.AdminToken(), ns.ClientURL())
	if err != nil {
		return Row{}, err
	}
	defer dm.stop() //nolint:errcheck // a failed stop shows in the figures
	elapsed, cpu, err := h.waitAcked(ctx, stream, dm, n)
	if err != nil {
		return Row{}, err
	}
	// Let the last coalesced writes land, then count.
	time.Sleep(time.Second + 4*h.opt.Latencies[0])
	reads, _, writes := counts(ld)
	rss, _ := dm.peakRSS()
	if groups := eventGroups(ld.Groups()); groups != natsGroups {
		h.errorf("nats: %d event groups in Lightdash, want %d", groups, natsGroups)
	}
	return Row{Scenario: "nats events", Latency: h.opt.Latencies[0], Ours: elapsed, Floor: pub, Rate: float64(n) / elapsed.Seconds(),
		Reads: reads, Lists: -1, Writes: writes, WantWrites: -1, PeakRSS: rss,
		Note: fmt.Sprintf("%d events over %d groups: consumed and acked in %s (%.0f/s), daemon CPU %s (%.1f ms per 1,000 events); floor = publishing them (%.0f/s); %d Lightdash writes; max_ack_pending %s; peak RSS of the whole daemon (its only source is NATS)", n, natsGroups, ms(elapsed), float64(n)/elapsed.Seconds(), ms(cpu), perThousand(cpu, n), float64(n)/pub.Seconds(), writes, ackWindow(h.opt.MaxAckPending))}, nil
}

// startNATS starts an embedded JetStream server storing under dir.
func startNATS(dir string) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{ServerName: "bench", Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, JetStream: true, StoreDir: filepath.Join(dir, "js")})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("nats server not ready")
	}
	return ns, nil
}

// publishEvents publishes n members_added events spread over natsGroups
// groups, each adding one matched user, and returns how long it took.
func (h *harness) publishEvents(ctx context.Context, js jetstream.JetStream, n int) (time.Duration, error) {
	start := time.Now()
	now := time.Now().UTC()
	for i := range n {
		g := i % natsGroups
		u := (i * 7) % h.dir.Size.Users
		if !matched(u) {
			u++
		}
		e := &natssrc.Event{ID: fmt.Sprintf("ev-%d", i), Source: "/bench", Type: natssrc.TypeMembersAdded, Time: now,
			Data: natssrc.Data{ID: fmt.Sprintf("grp-%03d", g), Name: fmt.Sprintf("events-%03d", g), Members: []natssrc.Member{{Email: userEmail(u)}}}}
		if _, err := natssrc.Publish(ctx, js, fmt.Sprintf("directory.group.grp-%03d", g), e); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// startNATSDaemon writes a daemon configuration reading events from
// natsURL into dir and starts the daemon on it.
func (h *harness) startNATSDaemon(ctx context.Context, dir, ldURL, token, natsURL string) (*daemon, error) {
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := daemonConfig{LightdashURL: ldURL, Token: token, NATSURL: natsURL, MaxAckPending: h.opt.MaxAckPending,
		Concurrency: h.opt.Concurrency, RateLimit: h.opt.Rate, Debounce: 500 * time.Millisecond,
		StatePath: filepath.Join(dir, "state.json"), AdminListen: admin}
	cfgPath := filepath.Join(dir, "lightdash-sync.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.yaml()), 0o600); err != nil {
		return nil, err
	}
	return startDaemon(ctx, h.opt.ChildEnv, h.bin, cfgPath, admin)
}

// waitAcked polls the daemon's consumer until all n events are
// acknowledged and returns the time from the first delivery to then, and
// the CPU time the daemon spent meanwhile (its start-up excluded).
func (h *harness) waitAcked(ctx context.Context, stream jetstream.Stream, dm *daemon, n int) (elapsed, cpu time.Duration, err error) {
	var first time.Time
	var cpu0 time.Duration
	deadline := time.Now().Add(h.opt.ReadyTimeout)
	for time.Now().Before(deadline) {
		if c, err := stream.Consumer(ctx, "lightdash-sync"); err == nil {
			if info, err := c.Info(ctx); err == nil {
				if first.IsZero() && info.Delivered.Consumer > 0 {
					first = time.Now()
					cpu0, _ = cpuTime(dm.cmd.Process.Pid)
				}
				if info.AckFloor.Stream >= uint64(n) && info.NumAckPending == 0 && info.NumPending == 0 {
					cpu1, _ := cpuTime(dm.cmd.Process.Pid)
					return time.Since(first), cpu1 - cpu0, nil
				}
			}
		}
		select {
		case err := <-dm.done:
			return 0, 0, fmt.Errorf("daemon exited: %v\n%s", err, tail(dm.stderr.String()))
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, 0, fmt.Errorf("nats: events not all acknowledged within %s\n%s", h.opt.ReadyTimeout, tail(dm.stderr.String()))
}

// perThousand is d per 1,000 of n, in milliseconds.
func perThousand(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Milliseconds()) * 1000 / float64(n)
}

// eventGroups counts the groups the NATS events made.
func eventGroups(groups []lightdash.GroupWithMembers) int {
	n := 0
	for _, g := range groups {
		if strings.HasPrefix(g.Name, "events-") {
			n++
		}
	}
	return n
}

func ackWindow(n int) string {
	if n <= 0 {
		return "default"
	}
	return fmt.Sprint(n)
}
