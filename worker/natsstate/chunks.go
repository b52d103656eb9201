package natsstate

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// newSet names a save's chunk set: the revision the save starts from (see
// collect) and a random part, so two writers never share chunk keys.
func newSet(base uint64) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("natsstate: chunk set name: %w", err)
	}
	return strconv.FormatUint(base, 10) + "-" + fmt.Sprintf("%016x", binary.BigEndian.Uint64(b[:])), nil
}

func (s *Store) chunkPrefix() string { return s.key + ".chunks." }

func (s *Store) chunkKey(set string, i int) string {
	return s.chunkPrefix() + set + "." + strconv.Itoa(i)
}

// writeChunks stores data under set and returns the number of chunks.
func (s *Store) writeChunks(ctx context.Context, set string, data []byte) (int, error) {
	size := s.maxChunk
	if s.ChunkSize > 0 && s.ChunkSize < size {
		size = s.ChunkSize
	}
	n := 0
	for off := 0; off < len(data) || n == 0; off += size {
		end := min(off+size, len(data))
		put := func(ctx context.Context) (uint64, error) { return s.kv.Put(ctx, s.chunkKey(set, n), data[off:end]) }
		if _, err := retry(ctx, s.timeout(), put); err != nil {
			return 0, fmt.Errorf("natsstate: write chunk %d: %w", n, err)
		}
		n++
	}
	return n, nil
}

// readChunks fetches m's chunks. A missing chunk is errMoved if the
// manifest is no longer at rev (a newer save removed it), else corruption.
func (s *Store) readChunks(ctx context.Context, rev uint64, m manifest) ([]byte, error) {
	var buf bytes.Buffer
	for i := range m.Chunks {
		get := func(ctx context.Context) (jetstream.KeyValueEntry, error) { return s.kv.Get(ctx, s.chunkKey(m.Set, i)) }
		e, err := retry(ctx, s.timeout(), get)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if cur, _, herr := s.head(ctx); herr == nil && cur != rev {
				return nil, errMoved
			}
			return nil, fmt.Errorf("%w: %s: chunk %d of %d is missing", worker.ErrStateCorrupt, s.where(), i, m.Chunks)
		}
		if err != nil {
			return nil, fmt.Errorf("natsstate: read chunk %d: %w", i, err)
		}
		if buf.Len()+len(e.Value()) > m.Size {
			return nil, fmt.Errorf("%w: %s: chunks exceed the manifest's %d bytes", worker.ErrStateCorrupt, s.where(), m.Size)
		}
		buf.Write(e.Value())
	}
	return buf.Bytes(), nil
}

// gunzip decompresses data, refusing more than rawSize bytes of output.
func gunzip(data []byte, rawSize int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(rawSize)+1))
	if err != nil {
		return nil, err
	}
	if len(out) != rawSize {
		return nil, fmt.Errorf("decompressed to %d bytes, manifest says %d", len(out), rawSize)
	}
	return out, nil
}

// purgeSet removes a chunk set from the stream entirely (no delete markers
// left behind). Best effort: a leftover is collected by a later Load.
func (s *Store) purgeSet(ctx context.Context, set string) {
	purge := func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.stream.Purge(ctx, jetstream.WithPurgeSubject(s.subject(s.chunkPrefix()+set+".>")))
	}
	_, _ = once(ctx, s.timeout(), purge)
}

// collect removes chunk sets that can never be committed: those of writers
// that started from a revision older than rev, the manifest's current one
// (their compare-and-set on the manifest must fail). Sets started from rev
// itself may belong to a save in progress and are kept. Best effort.
func (s *Store) collect(ctx context.Context, rev uint64, current string) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	lister, err := s.kv.ListKeysFiltered(ctx, s.chunkPrefix()+">")
	if err != nil {
		return
	}
	defer lister.Stop()
	stale := map[string]bool{}
	for k := range lister.Keys() {
		set, _, ok := strings.Cut(strings.TrimPrefix(k, s.chunkPrefix()), ".")
		if !ok || set == current || !validSet.MatchString(set) {
			continue
		}
		base, _, _ := strings.Cut(set, "-")
		if b, err := strconv.ParseUint(base, 10, 64); err == nil && b < rev {
			stale[set] = true
		}
	}
	for set := range stale {
		s.purgeSet(ctx, set)
	}
}
