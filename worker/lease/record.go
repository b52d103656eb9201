package lease

import (
	"encoding/json"
	"fmt"
	"time"
)

// record is the lease value. Other replicas read Holder and Expires for
// display and as one takeover condition; Released marks a lease its holder
// gave up, which a standby may take at once.
type record struct {
	Holder   string    `json:"holder"`
	Expires  time.Time `json:"expires"`
	Released bool      `json:"released,omitempty"`
}

func (r record) encode() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil { // only for a clock beyond year 9999
		return nil, fmt.Errorf("lease: encode value: %w", err)
	}
	return b, nil
}

func decodeRecord(b []byte) (record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return record{}, fmt.Errorf("lease value: %w", err)
	}
	if r.Holder == "" && !r.Released {
		return record{}, fmt.Errorf("lease value: no holder")
	}
	return r, nil
}
