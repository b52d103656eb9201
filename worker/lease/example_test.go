package lease_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/worker/lease"
)

// The daemon runs one Elector per Lightdash target and does that target's
// work only inside onElected, stopping when leaderCtx is done.
func Example() {
	dir, _ := os.MkdirTemp("", "lease-example")
	defer os.RemoveAll(dir)
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	srv.Start()
	defer srv.Shutdown()
	srv.ReadyForConnections(5 * time.Second)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	e, err := lease.New(ctx, js, lease.Config{Key: "acme-prod", Identity: "replica-1", TTL: time.Second}, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = e.Run(ctx, func(leaderCtx context.Context) {
		fmt.Println("elected:", e.IsLeader(), "holder:", e.Holder())
		// ... sync until leaderCtx is done; here, shut down at once.
		stop()
		<-leaderCtx.Done()
	})
	fmt.Println("run:", err, "leader:", e.IsLeader())
	// Output:
	// elected: true holder: replica-1
	// run: <nil> leader: false
}
