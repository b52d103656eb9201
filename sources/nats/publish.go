package nats

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publish sends e to subject through JetStream, with the event id as the
// Nats-Msg-Id header: a producer that re-sends after a timeout does not
// create a second event, as long as it re-sends within the stream's
// duplicate window. It fills specversion and datacontenttype, checks e
// with Decode's rules (so a producer cannot publish poison), and returns
// the stream's acknowledgement; ack.Duplicate is true for a dropped copy.
func Publish(ctx context.Context, js jetstream.JetStream, subject string, e *Event) (*jetstream.PubAck, error) {
	ev := *e
	if ev.SpecVersion == "" {
		ev.SpecVersion = SpecVersion
	}
	if ev.DataContentType == "" {
		ev.DataContentType = ContentType
	}
	b, err := json.Marshal(&ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	if _, err := Decode(b); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = b
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	msg.Header.Set("Content-Type", ContentType)
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publish event to %s: %w", subject, err)
	}
	return ack, nil
}
