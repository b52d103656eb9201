package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/internal/testutil"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// TestReloadThatCannotStartKeepsRunning sends SIGHUP with a configuration
// that loads but cannot start (its NATS is not there): the running daemon
// goes on serving and applying changes. A later valid one takes effect.
func TestReloadThatCannotStartKeepsRunning(t *testing.T) {
	// The test takes SIGHUP too, so that one arriving while no daemon
	// listens never reaches the default action (exit).
	absorb := make(chan os.Signal, 8)
	signal.Notify(absorb, syscall.SIGHUP)
	defer signal.Stop(absorb)

	e := newCheckEnv(t)
	e.ld.AddUser("ada@example.com", lightdash.RoleViewer)
	cfgPath := e.config(t, e.ld.AdminToken())
	b, _ := os.ReadFile(cfgPath)
	good := string(b) + "schedule: {debounce: 10ms, max_delay: 100ms}\n"
	writeConfig(t, cfgPath, good)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- Main(ctx, []string{"run", "--config", cfgPath}, &syncBuffer{}, &stderr) }()
	base := "http://" + adminAddr(t, &stderr)
	testutil.Eventually(t, "/readyz", func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 })
	alive := func(what string, cond func() bool) {
		t.Helper()
		testutil.Eventually(t, what, func() bool {
			select {
			case code := <-exited:
				t.Fatalf("the daemon exited (%d) while waiting for %s:\n%s", code, what, stderr.String())
			default:
			}
			return cond()
		})
	}
	metric := func(series string) func() bool {
		return func() bool { _, m := httpGet(base + "/metrics"); return strings.Contains(m, series) }
	}

	writeConfig(t, cfgPath, strings.Replace(good, e.nats.ClientURL(), "nats://"+freeAddr(t), 1))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	alive("the failed reload to be counted", metric(`lightdash_sync_config_reloads_total{result="failed"} 1`))
	if !strings.Contains(stderr.String(), "did not start; keeping the running one") {
		t.Error("no log line says the reload failed and the running configuration goes on")
	}
	if code, body := httpGet(base + "/readyz"); code != 200 {
		t.Errorf("/readyz after the failed reload = %d %s", code, body)
	}
	publishGroup(t, e.nats.ClientURL(), "evt-reload-1", "after-failed-reload")
	alive("the event's group in Lightdash", func() bool {
		for _, g := range e.ld.Groups() {
			if g.Name == "after-failed-reload" {
				return true
			}
		}
		return false
	})

	writeConfig(t, cfgPath, good+"sync: {dry_run: true}\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	alive("the valid reload", metric(`lightdash_sync_config_reloads_total{result="ok"} 1`))
	alive("the reloaded dry run on /status", func() bool {
		_, body := httpGet(base + "/status")
		return strings.Contains(body, "dry run: nothing is written")
	})

	cancel()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("run exited %d, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("run did not exit after its context was cancelled")
	}
}

func writeConfig(t *testing.T, path, cfg string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// publishGroup publishes a group.upserted event for a group of ada.
func publishGroup(t *testing.T, url, id, name string) {
	t.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	msg := natsgo.NewMsg("directory.groups")
	msg.Header.Set("Nats-Msg-Id", id)
	msg.Data = []byte(`{"specversion":"1.0","id":"` + id + `","source":"/test","type":"io.lightdash-sync.group.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"` + id + `","name":"` + name + `","members":[{"email":"ada@example.com"}]}}`)
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}
