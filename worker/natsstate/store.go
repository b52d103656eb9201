package natsstate

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// ErrConflict is returned by Save when another writer saved the state
// since this Store last loaded or saved it. Load again, re-plan, and save.
var ErrConflict = errors.New("natsstate: state was saved by another writer")

var _ worker.StateStore = (*Store)(nil)

var (
	validBucket = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	validKey    = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)
)

// chunkHeadroom is left free in each message for headers and framing.
const chunkHeadroom = 16 << 10

// Store is a worker.StateStore on a JetStream key-value bucket. It is safe
// for concurrent use; Save is compare-and-set on the revision last loaded
// or saved.
type Store struct {
	// ChunkSize is the most state bytes per message. Zero means the
	// server's max_payload (and the bucket's max value size) less 16 KiB.
	// Set it before the first Save.
	ChunkSize int
	// RequestTimeout bounds one request to the server; a request whose
	// answer is lost is sent again. Zero means DefaultRequestTimeout. Set
	// it before the first Load.
	RequestTimeout time.Duration

	kv       jetstream.KeyValue
	stream   jetstream.Stream
	bucket   string
	key      string
	maxChunk int

	mu  sync.Mutex
	rev uint64 // manifest revision last loaded or saved; 0: none
	set string // chunk set of that manifest

	// beforeCommit, set by tests, runs between writing the chunks and
	// the manifest.
	beforeCommit func()
}

// New opens the state at key in bucket, creating the bucket (History 5, no
// TTL) if it is missing. It reads nothing yet: call Load before Save.
func New(ctx context.Context, js jetstream.JetStream, bucket, key string) (*Store, error) {
	if js == nil {
		return nil, errors.New("natsstate: no JetStream context")
	}
	if !validBucket.MatchString(bucket) {
		return nil, fmt.Errorf("natsstate: bucket %q: only letters, digits, - and _ are allowed", bucket)
	}
	if !validKey.MatchString(key) || key[0] == '.' || key[len(key)-1] == '.' {
		return nil, fmt.Errorf("natsstate: key %q: only letters, digits and -/_=. are allowed, not at the ends", key)
	}
	kv, err := retry(ctx, DefaultRequestTimeout, func(ctx context.Context) (jetstream.KeyValue, error) {
		return openBucket(ctx, js, bucket)
	})
	if err != nil {
		return nil, fmt.Errorf("natsstate: bucket %s: %w", bucket, err)
	}
	st, err := retry(ctx, DefaultRequestTimeout, kv.Status)
	if err != nil {
		return nil, fmt.Errorf("natsstate: bucket %s: %w", bucket, err)
	}
	if st.TTL() > 0 {
		return nil, fmt.Errorf("natsstate: bucket %s expires values after %v: the state must not expire", bucket, st.TTL())
	}
	stream, err := retry(ctx, DefaultRequestTimeout, func(ctx context.Context) (jetstream.Stream, error) {
		return js.Stream(ctx, "KV_"+bucket)
	})
	if err != nil {
		return nil, fmt.Errorf("natsstate: bucket %s: %w", bucket, err)
	}
	maxChunk := int(js.Conn().MaxPayload()) - chunkHeadroom
	if v := int(st.Config().MaxValueSize); v > 0 && v-chunkHeadroom < maxChunk {
		maxChunk = v - chunkHeadroom
	}
	if maxChunk < 1024 {
		maxChunk = 1024
	}
	return &Store{kv: kv, stream: stream, bucket: bucket, key: key, maxChunk: maxChunk}, nil
}

// openBucket creates the bucket (History 5, no TTL) or opens it if it
// exists.
func openBucket(ctx context.Context, js jetstream.JetStream, bucket string) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "lightdash-sync ownership state",
		History:     5,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, bucket)
	}
	return kv, err
}

func (s *Store) timeout() time.Duration {
	if s.RequestTimeout > 0 {
		return s.RequestTimeout
	}
	return DefaultRequestTimeout
}

// Load reads the state. Nothing saved yet is an empty State; a state of a
// newer format is worker.ErrStateTooNew; an unreadable one is
// worker.ErrStateCorrupt. It also removes chunks left by crashed saves.
func (s *Store) Load(ctx context.Context) (*worker.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A save committed between reading the manifest and its chunks
	// removes those chunks: read again.
	for attempt := 0; ; attempt++ {
		st, rev, m, err := s.load(ctx)
		if errors.Is(err, errMoved) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.rev, s.set = rev, m.Set
		if rev > 0 {
			s.collect(ctx, rev, m.Set)
		}
		return st, nil
	}
}

// errMoved means the manifest changed while its chunks were being read.
var errMoved = errors.New("natsstate: state changed while reading")

func (s *Store) load(ctx context.Context) (*worker.State, uint64, manifest, error) {
	rev, raw, err := s.head(ctx)
	if err != nil {
		return nil, 0, manifest{}, err
	}
	if raw == nil {
		return worker.NewState(), rev, manifest{}, nil
	}
	where := s.where()
	m, err := decodeManifest(raw, where)
	if err != nil {
		return nil, 0, manifest{}, err
	}
	data, err := s.readChunks(ctx, rev, m)
	if err != nil {
		return nil, 0, manifest{}, err
	}
	if len(data) != m.Size {
		return nil, 0, manifest{}, fmt.Errorf("%w: %s: %d bytes, manifest says %d", worker.ErrStateCorrupt, where, len(data), m.Size)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, 0, manifest{}, fmt.Errorf("%w: %s: checksum mismatch", worker.ErrStateCorrupt, where)
	}
	js, err := gunzip(data, m.RawSize)
	if err != nil {
		return nil, 0, manifest{}, fmt.Errorf("%w: %s: %v", worker.ErrStateCorrupt, where, err)
	}
	st, err := worker.DecodeState(js, where)
	if err != nil {
		return nil, 0, manifest{}, err
	}
	return st, rev, m, nil
}

// Save writes st if nobody else saved since this Store's last Load or
// Save, and returns ErrConflict otherwise.
func (s *Store) Save(ctx context.Context, st *worker.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := st.Clone()
	out.Version = worker.StateVersion
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("natsstate: encode state: %w", err)
	}
	var zipped bytes.Buffer
	zw, err := gzip.NewWriterLevel(&zipped, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("natsstate: compress state: %w", err)
	}
	if _, err := zw.Write(raw); err != nil {
		return fmt.Errorf("natsstate: compress state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("natsstate: compress state: %w", err)
	}
	data := zipped.Bytes()

	// Refuse early, before writing chunks, if the state moved on.
	cur, _, err := s.head(ctx)
	if err != nil {
		return err
	}
	if cur != s.rev {
		return fmt.Errorf("%w: last read revision %d, bucket has %d", ErrConflict, s.rev, cur)
	}
	set, err := newSet(s.rev)
	if err != nil {
		return err
	}
	n, err := s.writeChunks(ctx, set, data)
	if err != nil {
		s.purgeSet(context.WithoutCancel(ctx), set)
		return err
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	sum := sha256.Sum256(data)
	mb, err := json.Marshal(manifest{Format: manifestFormat, Version: worker.StateVersion, Encoding: "gzip",
		Set: set, Chunks: n, Size: len(data), RawSize: len(raw), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		return fmt.Errorf("natsstate: encode manifest: %w", err)
	}
	rev, err := once(ctx, s.timeout(), func(ctx context.Context) (uint64, error) {
		return s.kv.Update(ctx, s.key, mb, s.rev)
	})
	switch {
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		s.purgeSet(context.WithoutCancel(ctx), set)
		return fmt.Errorf("%w: the state changed during the save (last read revision %d)", ErrConflict, s.rev)
	case err != nil:
		// The write may have landed and only its answer been lost.
		rev, err = s.committed(context.WithoutCancel(ctx), set, err)
		if err != nil {
			return err
		}
	}
	old := s.set
	s.rev, s.set = rev, set
	if old != "" {
		s.purgeSet(context.WithoutCancel(ctx), old)
	}
	return nil
}

// committed decides an ambiguous manifest write: if the manifest now names
// set, the save went through. Otherwise it returns the original error, and
// leaves the chunks for Load to collect (they might still be committed).
func (s *Store) committed(ctx context.Context, set string, orig error) (uint64, error) {
	rev, raw, err := s.head(ctx)
	if err == nil && raw != nil {
		var m manifest
		if json.Unmarshal(raw, &m) == nil && m.Set == set {
			return rev, nil
		}
	}
	return 0, fmt.Errorf("natsstate: save state: %w", orig)
}

// head returns the manifest's revision and value; a nil value with no
// error means no state (never saved, or deleted: rev is then the delete
// marker's, which a Save must name to replace it).
func (s *Store) head(ctx context.Context) (uint64, []byte, error) {
	msg, err := retry(ctx, s.timeout(), func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return s.stream.GetLastMsgForSubject(ctx, s.subject(s.key))
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("natsstate: read %s: %w", s.where(), err)
	}
	if msg.Header != nil && (msg.Header.Get("KV-Operation") != "" || msg.Header.Get(jetstream.MarkerReasonHeader) != "") {
		return msg.Sequence, nil, nil
	}
	return msg.Sequence, msg.Data, nil
}

func (s *Store) subject(key string) string { return "$KV." + s.bucket + "." + key }

func (s *Store) where() string { return "nats kv " + s.bucket + "/" + s.key }
