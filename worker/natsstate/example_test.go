package natsstate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/worker"
	"github.com/lightdash-sync/lightdash-sync/worker/natsstate"
)

func Example() {
	dir, _ := os.MkdirTemp("", "natsstate-example")
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
	ctx := context.Background()

	var store worker.StateStore
	store, err = natsstate.New(ctx, js, "lightdash_sync_state", "acme-prod")
	if err != nil {
		fmt.Println(err)
		return
	}
	st, _ := store.Load(ctx) // empty the first time
	st.Groups["ldap:eng"] = &worker.OwnedGroup{UUID: "5f0c…", Name: "ad-eng"}
	fmt.Println("save:", store.Save(ctx, st))

	// Another replica that loaded earlier cannot overwrite it.
	other, _ := natsstate.New(ctx, js, "lightdash_sync_state", "acme-prod")
	err = other.Save(ctx, worker.NewState())
	fmt.Println("conflict:", errors.Is(err, natsstate.ErrConflict))

	again, _ := other.Load(ctx)
	fmt.Println("groups:", len(again.Groups), again.Groups["ldap:eng"].Name)
	// Output:
	// save: <nil>
	// conflict: true
	// groups: 1 ad-eng
}
