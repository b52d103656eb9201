package progress

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Line is s as one line for a terminal; "" for no run.
//
//	reading: source corp ✓ 1204 users, 88 groups · Lightdash users … · Lightdash groups …
//	writing: 1234/10000 (12%) · 25.0/s · ETA 5m50s
func Line(s *Status, now time.Time) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", now.Sub(s.Started).Round(time.Second), s.Phase)
	switch {
	case s.Phase == "writing" && s.Writes != nil:
		w := s.Writes
		pct := 100
		if w.Total > 0 {
			pct = 100 * w.Done / w.Total
		}
		fmt.Fprintf(&b, ": %d/%d (%d%%)", w.Done, w.Total, pct)
		if w.ETA != "" {
			fmt.Fprintf(&b, " · %.1f/s · ETA %s", w.PerSecond, w.ETA)
		}
	case s.Phase == "reading":
		for i, r := range s.Reads {
			sep := " · "
			if i == 0 {
				sep = ": "
			}
			if r.Done {
				fmt.Fprintf(&b, "%s%s ✓ %s", sep, r.What, r.Size)
			} else {
				fmt.Fprintf(&b, "%s%s …", sep, r.What)
			}
		}
	}
	return b.String()
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Terminal keeps the followed Tracker's Line as the last line of a
// terminal: every Write (a log line) erases it, passes through and draws
// it again, and Run redraws it as the run advances. Use it only when W is
// a terminal; elsewhere the log stays as it is.
type Terminal struct {
	W   io.Writer
	Now func() time.Time // time.Now when nil

	mu    sync.Mutex
	t     *Tracker
	shown bool
}

// Follow shows t's runs from now on, drawn again at each new phase and
// read and by Run.
func (p *Terminal) Follow(t *Tracker) {
	p.mu.Lock()
	p.t = t
	p.mu.Unlock()
	t.OnChange(p.Draw)
}

// Write passes b through under the progress line.
func (p *Terminal) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eraseLocked()
	n, err := p.W.Write(b)
	p.drawLocked()
	return n, err
}

// Draw shows the current line.
func (p *Terminal) Draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eraseLocked()
	p.drawLocked()
}

// Clear erases the line, before other output goes to the same terminal.
func (p *Terminal) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.eraseLocked()
}

// Run draws the line every interval until ctx ends, then erases it.
func (p *Terminal) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			p.Clear()
			return
		case <-tick.C:
			p.Draw()
		}
	}
}

func (p *Terminal) eraseLocked() {
	if p.shown {
		_, _ = io.WriteString(p.W, clearLine)
		p.shown = false
	}
}

func (p *Terminal) drawLocked() {
	if p.t == nil {
		return
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	if line := Line(p.t.Snapshot(), now); line != "" {
		_, _ = io.WriteString(p.W, line)
		p.shown = true
	}
}
