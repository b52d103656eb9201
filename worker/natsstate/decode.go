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
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", worker.ErrStateCorrupt, where, err)
	}
	if head.Version == nil {
		return nil, fmt.Errorf("%w: %s: no version field", worker.ErrStateCorrupt, where)
	}
	if *head.Version > worker.StateVersion {
		return nil, fmt.Errorf("%w: %s has version %d, this build reads up to %d", worker.ErrStateTooNew, where, *head.Version, worker.StateVersion)
	}
	if *head.Version < 1 {
		return nil, fmt.Errorf("%w: %s: version %d", worker.ErrStateCorrupt, where, *head.Version)
	}
	s := worker.NewState()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", worker.ErrStateCorrupt, where, err)
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
