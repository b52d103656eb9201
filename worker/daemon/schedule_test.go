package daemon

import (
	"errors"
	"testing"
	"time"
)

func TestNextRun(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	tests := []struct {
		name        string
		expr        string
		loc         *time.Location
		next        time.Time // the slot nothing has run for yet
		now         time.Time
		wantNext    time.Time
		wantSkipped int
	}{
		{"hourly, finished in time", "@hourly", nil, base.Add(time.Hour), base.Add(5 * time.Minute), base.Add(time.Hour), 0},
		{"hourly, run overran one slot", "@hourly", nil, base.Add(time.Hour), base.Add(70 * time.Minute), base.Add(2 * time.Hour), 1},
		{"every 15m, overran three slots", "@every 15m", nil, base.Add(15 * time.Minute), base.Add(50 * time.Minute), base.Add(60 * time.Minute), 3},
		{"5-field expression", "30 2 * * *", nil, base.Add(16*time.Hour + 30*time.Minute), base, base.Add(16*time.Hour + 30*time.Minute), 0},
		{"time zone", "0 9 * * *", paris, time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.expr, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			next, skipped := nextRun(s, tt.next, tt.now)
			if !next.Equal(tt.wantNext) || skipped != tt.wantSkipped {
				t.Errorf("nextRun = %v, %d skipped; want %v, %d", next, skipped, tt.wantNext, tt.wantSkipped)
			}
		})
	}
}

func TestParseScheduleRejectsGarbage(t *testing.T) {
	for _, expr := range []string{"", "every hour", "* * *", "@sometimes", "61 * * * *"} {
		if _, err := ParseSchedule(expr, nil); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded, want an error", expr)
		}
	}
}

func TestFanInCallsDoneOnceWithFirstError(t *testing.T) {
	var calls []error
	done := fanIn(3, func(err error) { calls = append(calls, err) })
	first, second := errors.New("first"), errors.New("second")
	done(nil)
	done(first)
	if len(calls) != 0 {
		t.Fatalf("done called after 2 of 3: %v", calls)
	}
	done(second)
	if len(calls) != 1 || !errors.Is(calls[0], first) {
		t.Errorf("done calls = %v, want exactly one with %v", calls, first)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, id := range []string{"abc", "cn=a/b,dc=x", "", "with/many/slashes"} {
		s, g := splitKey(key("corp-ldap", id))
		if s != "corp-ldap" || g != id {
			t.Errorf("splitKey(key(corp-ldap, %q)) = %q, %q", id, s, g)
		}
	}
}
