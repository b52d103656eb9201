package natsstate

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// writeRaw commits raw (state JSON) as the store's state without any
// checks, the way another build of lightdash-sync might.
func writeRaw(ctx context.Context, s *Store, raw []byte) error {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	set, err := newSet(s.rev)
	if err != nil {
		return err
	}
	n, err := s.writeChunks(ctx, set, z.Bytes())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(z.Bytes())
	mb, _ := json.Marshal(manifest{Format: manifestFormat, Version: worker.StateVersion, Encoding: "gzip",
		Set: set, Chunks: n, Size: z.Len(), RawSize: len(raw), SHA256: hex.EncodeToString(sum[:])})
	_, err = s.kv.Put(ctx, s.key, mb)
	return err
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }
