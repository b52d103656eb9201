// Package progress follows a full reconciliation for people: a Tracker
// hears the worker (it is a worker.Progress) and keeps where the run is,
// for the daemon's /status; Line renders that as one line, which a
// Terminal keeps on a terminal's last line under the log lines.
package progress

import (
	"sync"
	"time"
)

// Status is where a full run is. Rates and estimates are as of Tracker's
// Snapshot.
type Status struct {
	// Phase is reading, planning or writing.
	Phase   string    `json:"phase"`
	Started time.Time `json:"started"`
	Reads   []Read    `json:"reads,omitempty"`
	Writes  *Writes   `json:"writes,omitempty"`
}

// Read is one read of the reading phase: a source, the Lightdash users or
// groups list.
type Read struct {
	What string `json:"what"`
	Done bool   `json:"done"`
	Size string `json:"size,omitempty"`
}

// Writes is the writing phase: writes sent of the plan's total, the rate
// since the phase began and the time left at that rate.
type Writes struct {
	Done      int     `json:"done"`
	Total     int     `json:"total"`
	PerSecond float64 `json:"perSecond"`
	// ETA is a duration ("5m50s"); empty until a rate is known.
	ETA string `json:"eta,omitempty"`
}

// Tracker keeps the current run's Status. The zero value is ready; Now
// is the clock (time.Now when nil).
type Tracker struct {
	Now func() time.Time

	mu       sync.Mutex
	st       *Status // nil between runs
	writing  time.Time
	onChange func()
}

// OnChange has f called after each new phase and read (not each write:
// those are many), outside the Tracker's lock.
func (t *Tracker) OnChange(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onChange = f
}

func (t *Tracker) changed() {
	t.mu.Lock()
	f := t.onChange
	t.mu.Unlock()
	if f != nil {
		f()
	}
}

func (t *Tracker) now() time.Time {
	if t.Now == nil {
		return time.Now()
	}
	return t.Now()
}

// Phase implements worker.Progress: "reading" starts a run, "" ends it.
func (t *Tracker) Phase(name string) {
	defer t.changed()
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case name == "":
		t.st = nil
	case t.st == nil || name == "reading":
		t.st = &Status{Phase: name, Started: t.now()}
	default:
		t.st.Phase = name
	}
}

// Read implements worker.Progress.
func (t *Tracker) Read(what string, done bool, size string) {
	defer t.changed()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st == nil {
		return
	}
	for i := range t.st.Reads {
		if t.st.Reads[i].What == what {
			t.st.Reads[i] = Read{What: what, Done: done, Size: size}
			return
		}
	}
	t.st.Reads = append(t.st.Reads, Read{What: what, Done: done, Size: size})
}

// Wrote implements worker.Progress.
func (t *Tracker) Wrote(done, total int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st == nil {
		return
	}
	if t.st.Writes == nil || done == 0 {
		t.writing = t.now()
	}
	t.st.Writes = &Writes{Done: min(done, total), Total: total}
}

// Snapshot returns a copy of the run's Status with its rate and estimate
// worked out now, or nil when no full run is in progress.
func (t *Tracker) Snapshot() *Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st == nil {
		return nil
	}
	s := *t.st
	s.Reads = append([]Read(nil), t.st.Reads...)
	if w := t.st.Writes; w != nil {
		cw := *w
		if took := t.now().Sub(t.writing).Seconds(); took > 0 && w.Done > 0 {
			cw.PerSecond = float64(w.Done) / took
			cw.ETA = (time.Duration(float64(w.Total-w.Done)/cw.PerSecond) * time.Second).Round(time.Second).String()
		}
		s.Writes = &cw
	}
	return &s
}
