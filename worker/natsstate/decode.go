package natsstate

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

// decodeState reads State JSON with the same rules as worker.FileStore:
// a version is required, a newer one is refused, unknown fields and null
// groups are corruption. (The worker's own decoder is unexported.)
func decodeState(b []byte, where string) (*worker.State, error) {
	// Decode once; only on failure, or to check the version, look at the
	// version alone (a newer format may well fail strict decoding, and it
	// must be reported as newer, not as corrupt).
	s := worker.NewState()
	s.Version = 0
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		var head struct {
			Version *int `json:"version"`
		}
		if json.Unmarshal(b, &head) == nil && head.Version != nil && *head.Version > worker.StateVersion {
			return nil, tooNew(where, *head.Version)
		}
		return nil, fmt.Errorf("%w: %s: %v", worker.ErrStateCorrupt, where, err)
	}
	switch {
	case s.Version > worker.StateVersion:
		return nil, tooNew(where, s.Version)
	case s.Version == 0:
		return nil, fmt.Errorf("%w: %s: no version field", worker.ErrStateCorrupt, where)
	case s.Version < 1:
		return nil, fmt.Errorf("%w: %s: version %d", worker.ErrStateCorrupt, where, s.Version)
	}
	for k, g := range s.Groups {
		if g == nil {
			return nil, fmt.Errorf("%w: %s: group %q is null", worker.ErrStateCorrupt, where, k)
		}
	}
	if s.Groups == nil {
		s.Groups = map[string]*worker.OwnedGroup{}
	}
	if s.Cookies == nil {
		s.Cookies = map[string][]byte{}
	}
	s.Version = worker.StateVersion
	return s, nil
}

func tooNew(where string, v int) error {
	return fmt.Errorf("%w: %s has version %d, this build reads up to %d", worker.ErrStateTooNew, where, v, worker.StateVersion)
}
