package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

var _ worker.Progress = (*Tracker)(nil)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTrackerFollowsARun(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	tr := &Tracker{Now: c.now}
	if s := tr.Snapshot(); s != nil {
		t.Fatalf("before a run: %+v, want nil", s)
	}
	tr.Phase("reading")
	tr.Read("source corp", false, "")
	tr.Read("Lightdash users", false, "")
	tr.Read("source corp", true, "1204 users, 88 groups")
	c.t = c.t.Add(3 * time.Second)
	if got, want := Line(tr.Snapshot(), c.t), "[3s] reading: source corp ✓ 1204 users, 88 groups · Lightdash users …"; got != want {
		t.Errorf("reading line %q, want %q", got, want)
	}
	tr.Phase("planning")
	tr.Phase("writing")
	tr.Wrote(0, 10000)
	c.t = c.t.Add(40 * time.Second)
	tr.Wrote(1000, 10000)
	s := tr.Snapshot()
	if s.Writes.PerSecond != 25 || s.Writes.ETA != "6m0s" {
		t.Errorf("writes %+v, want 25/s and 6m0s left", *s.Writes)
	}
	if got, want := Line(s, c.t), "[43s] writing: 1000/10000 (10%) · 25.0/s · ETA 6m0s"; got != want {
		t.Errorf("writing line %q, want %q", got, want)
	}
	tr.Phase("")
	if s := tr.Snapshot(); s != nil {
		t.Errorf("after the run: %+v, want nil", s)
	}
	tr.Phase("reading")
	if s := tr.Snapshot(); len(s.Reads) != 0 || s.Writes != nil || !s.Started.Equal(c.t) {
		t.Errorf("a new run starts afresh: %+v", s)
	}
}

// TestTerminalKeepsTheLineUnderTheLog: a log line erases the progress
// line, goes through whole, and the line is drawn again after it.
func TestTerminalKeepsTheLineUnderTheLog(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	tr := &Tracker{Now: c.now}
	var out bytes.Buffer
	term := &Terminal{W: &out, Now: c.now}
	term.Draw()
	if out.Len() != 0 {
		t.Fatalf("drew %q with nothing followed", out.String())
	}
	term.Follow(tr)
	tr.Phase("reading") // a new phase is drawn at once
	if _, err := term.Write([]byte(`{"msg":"log line"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	want := "[0s] reading" + clearLine + `{"msg":"log line"}` + "\n" + "[0s] reading"
	if out.String() != want {
		t.Errorf("terminal got %q, want %q", out.String(), want)
	}
	out.Reset()
	tr.Phase("")
	term.Draw()
	if out.String() != clearLine {
		t.Errorf("after the run the terminal got %q, want the line erased and nothing drawn", out.String())
	}
	if strings.Contains(out.String(), "reading") {
		t.Error("drew a finished run")
	}
}
