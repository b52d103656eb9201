package nats_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/sources"
	natssource "github.com/lightdash-sync/lightdash-sync/sources/nats"
)

// A producer's event as it travels on the stream, decoded by the source.
func ExampleDecode() {
	e, err := natssource.Decode([]byte(`{
	  "specversion": "1.0",
	  "id": "evt-0042",
	  "source": "/hr/workday",
	  "type": "io.lightdash-sync.group.members_added",
	  "time": "2026-11-25T10:00:00Z",
	  "subject": "grp-analysts",
	  "sequence": 7,
	  "data": {"id": "grp-analysts", "members": [{"id": "u-ada", "email": "ada@example.com"}]}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Type.Short(), e.Data.ID, *e.Sequence, e.Data.Members[0].Email)

	// Poison is refused with a typed error that never quotes the input.
	_, err = natssource.Decode([]byte(`{"specversion":"1.0","id":"evt-0043","source":"/hr","type":"io.lightdash-sync.user.upserted","time":"2026-11-25T10:00:00Z","data":{"id":"u-x","email":"not an email"}}`))
	fmt.Println(errors.Is(err, natssource.ErrBadEmail), err)
	// Output:
	// group.members_added grp-analysts 7 ada@example.com
	// true decode event: bad_email: data.email: not a plain email address
}

// The source's whole life: connect, publish an event as a producer would,
// receive the Change it causes, report it applied (which acknowledges the
// event), and read the materialised view.
func Example() {
	dir, _ := os.MkdirTemp("", "nats-example")
	defer os.RemoveAll(dir)
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	src, err := natssource.New(ctx, natssource.Config{
		Name:              "hr",
		URLs:              []string{srv.ClientURL()},
		Stream:            "DIRECTORY",
		Subjects:          []string{"directory.events.>"},
		CreateStream:      true,
		DeadLetterSubject: "directory.dead",
	}, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	// A producer.
	nc, _ := nats.Connect(srv.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	_, err = natssource.Publish(ctx, js, "directory.events.groups", &natssource.Event{
		ID: "evt-1", Source: "/hr", Type: natssource.TypeGroupUpserted, Time: time.Now(),
		Data: natssource.Data{ID: "grp-analysts", Name: "Analysts", Members: []natssource.Member{{Email: "ada@example.com"}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	changes := make(chan sources.Change)
	go func() { _ = src.Watch(ctx, changes) }()
	c := <-changes
	fmt.Println(c.Source, c.GroupIDs, c.Reason)
	c.Done(nil) // the daemon calls this once Lightdash is in step

	snap, _ := src.Snapshot(ctx)
	fmt.Println(snap.Complete, snap.Groups[0].Name, snap.Groups[0].MemberUsers)
	// Output:
	// hr [grp-analysts] nats group.upserted evt-1
	// true Analysts [ada@example.com]
}
