package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// multiGetChunk bounds the keys asked for in one batched read; the server
// answers at most 1,024 messages to one request.
const multiGetChunk = 256

// multiGetWait bounds one batched read.
const multiGetWait = 10 * time.Second

// batchGet reads many keys of the bucket in one request: a JetStream
// direct get of the last message of each key's subject (multi_last), which
// the server answers with the entries that exist, then an end-of-batch
// status. ReadGroups reads a member user per member, hundreds per group,
// one round trip each before.
type batchGet struct {
	nc      *nats.Conn
	api     string      // the stream's direct-get subject
	pre     string      // the bucket's key prefix, "$KV.<bucket>."
	refused atomic.Bool // the server does not know the request: read key by key from now on
}

// newBatchGet returns nil unless the bucket's stream allows direct gets
// and holds its own keys (not a mirror, whose keys have another prefix).
func newBatchGet(nc *nats.Conn, cfg jetstream.StreamConfig, bucket string) *batchGet {
	pre := "$KV." + bucket + "."
	if !cfg.AllowDirect || cfg.Mirror != nil || !slices.Equal(cfg.Subjects, []string{pre + ">"}) {
		return nil
	}
	return &batchGet{nc: nc, api: "$JS.API.DIRECT.GET." + cfg.Name, pre: pre}
}

// errIncomplete: a batched read ended without saying every entry was sent.
var errIncomplete = errors.New("batched read incomplete")

// getMany returns the record under each of keys that has one. Keys are
// read multiGetChunk at a time where the bucket allows, else (and for a
// chunk whose batched read failed) one at a time.
func (v *view) getMany(ctx context.Context, keys []string) (map[string]*record, error) {
	out := make(map[string]*record, len(keys))
	var rest []string
	for chunk := range slices.Chunk(keys, multiGetChunk) {
		if v.batch == nil || v.batch.refused.Load() || v.batch.read(ctx, chunk, out) != nil {
			rest = append(rest, chunk...)
		}
	}
	recs := make([]*record, len(rest))
	errs := make([]error, len(rest))
	concurrently(len(rest), func(i int) {
		recs[i], _, errs[i] = v.get(ctx, rest[i])
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, k := range rest {
		if recs[i] != nil {
			out[k] = recs[i]
		}
	}
	return out, nil
}

// read asks for keys in one request and puts what exists into out. On an
// error out may hold some of them; the caller reads the chunk again.
func (b *batchGet) read(ctx context.Context, keys []string, out map[string]*record) error {
	ctx, cancel := context.WithTimeout(ctx, multiGetWait)
	defer cancel()
	req := struct {
		MultiLast []string `json:"multi_last"`
	}{make([]string, len(keys))}
	for i, k := range keys {
		req.MultiLast[i] = b.pre + k
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	// Room for every answer (an entry per key, then a status), so none is
	// dropped; SubscribeSync's channel would be 64k slots per read.
	answers := make(chan *nats.Msg, len(keys)+1)
	sub, err := b.nc.ChanSubscribe(b.nc.NewInbox(), answers)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := b.nc.PublishRequest(b.api, sub.Subject, body); err != nil {
		return err
	}
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg := <-answers:
			if done, err := b.take(msg, first, out); done || err != nil {
				return err
			}
		}
	}
}

// take handles one answer to a batched read: an entry, or the status
// that ends the batch (done).
func (b *batchGet) take(msg *nats.Msg, first bool, out map[string]*record) (done bool, err error) {
	switch status := msg.Header.Get("Status"); {
	case status == "204": // end of batch
		if msg.Header.Get("Nats-Num-Pending") != "0" {
			return true, errIncomplete
		}
		return true, nil
	case status == "404" && first && msg.Header.Get("Description") == "No Results":
		return true, nil // none of the keys exists
	case status == "408": // a server older than multi_last: empty request
		b.refused.Store(true)
		return true, fmt.Errorf("batched read refused: %s %s", status, msg.Header.Get("Description"))
	case status != "":
		return true, fmt.Errorf("batched read: %s %s", status, msg.Header.Get("Description"))
	}
	key, ok := strings.CutPrefix(msg.Header.Get(jetstream.SubjectHeader), b.pre)
	if !ok {
		return true, fmt.Errorf("batched read: answer for another subject")
	}
	if deleted(msg.Header) {
		return false, nil
	}
	r := &record{}
	if err := json.Unmarshal(msg.Data, r); err != nil {
		return true, fmt.Errorf("view entry %s is not a record: %w", key, err)
	}
	out[key] = r
	return false, nil
}

// deleted reports whether the headers mark a deleted or purged key, as
// the key-value client reads them.
func deleted(h nats.Header) bool {
	switch h.Get("KV-Operation") {
	case "DEL", "PURGE":
		return true
	}
	switch h.Get(jetstream.MarkerReasonHeader) {
	case "MaxAge", "Purge", "Remove":
		return true
	}
	return false
}
