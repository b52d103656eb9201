package natsstate

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// manifestFormat is the layout version this build writes and reads: the
// manifest fields and the chunk naming. A newer one is refused like a newer
// State version.
const manifestFormat = 1

// manifest is the value at the store's key: the commit record of a save.
type manifest struct {
	Format int `json:"format"`
	// Version is the State.Version of the content, checked before the
	// chunks are fetched.
	Version  int    `json:"version"`
	Encoding string `json:"encoding"`
	Set      string `json:"set"`
	Chunks   int    `json:"chunks"`
	// Size is the compressed size, RawSize the JSON size (a bound on
	// decompression), SHA256 the compressed bytes' checksum.
	Size    int    `json:"size"`
	RawSize int    `json:"rawSize"`
	SHA256  string `json:"sha256"`
}

var validSet = regexp.MustCompile(`^[0-9]+-[0-9a-f]+$`)

// maxRawSize bounds a state's JSON, so a corrupt or hostile manifest cannot
// make Load allocate without limit.
const maxRawSize = 1 << 30

func decodeManifest(b []byte, where string) (manifest, error) {
	var head struct {
		Format  *int `json:"format"`
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return manifest{}, fmt.Errorf("%w: %s: manifest: %v", worker.ErrStateCorrupt, where, err)
	}
	if head.Format == nil || head.Version == nil {
		return manifest{}, fmt.Errorf("%w: %s: manifest without format or version", worker.ErrStateCorrupt, where)
	}
	if *head.Format > manifestFormat {
		return manifest{}, fmt.Errorf("%w: %s has layout %d, this build reads up to %d", worker.ErrStateTooNew, where, *head.Format, manifestFormat)
	}
	if *head.Version > worker.StateVersion {
		return manifest{}, fmt.Errorf("%w: %s has version %d, this build reads up to %d", worker.ErrStateTooNew, where, *head.Version, worker.StateVersion)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return manifest{}, fmt.Errorf("%w: %s: manifest: %v", worker.ErrStateCorrupt, where, err)
	}
	switch {
	case m.Format < 1 || m.Version < 1:
		return manifest{}, fmt.Errorf("%w: %s: manifest format %d, version %d", worker.ErrStateCorrupt, where, m.Format, m.Version)
	case m.Encoding != "gzip":
		return manifest{}, fmt.Errorf("%w: %s: unknown encoding %q", worker.ErrStateCorrupt, where, m.Encoding)
	case !validSet.MatchString(m.Set):
		return manifest{}, fmt.Errorf("%w: %s: bad chunk set %q", worker.ErrStateCorrupt, where, m.Set)
	case m.Chunks < 1 || m.Size < 0 || m.RawSize < 0 || m.RawSize > maxRawSize:
		return manifest{}, fmt.Errorf("%w: %s: manifest sizes out of range", worker.ErrStateCorrupt, where)
	}
	return m, nil
}
