package chaos

import (
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"time"
)

// scenario sizes one chaos run. The short one runs in `go test ./...`; the
// long one (-chaos.long) is the full specification.
type scenario struct {
	Name             string
	Users, Groups    int // seeded before the daemon starts
	NewGroups        int // created while the faults run
	Changes          int // LDAP modifies (membership adds and removes)
	Duration         time.Duration
	Kills            int
	NATSRestarts     int
	SlapdRestarts    int
	LDAPCuts         int
	CutMin, CutMax   time.Duration
	Outage           time.Duration // one full Lightdash outage
	Converge         time.Duration // deadline for the final reconciliation
	LeaseTTL         time.Duration
	LightdashTimeout time.Duration
}

var (
	shortScenario = scenario{
		Name: "short", Users: 80, Groups: 36, NewGroups: 4, Changes: 200,
		Duration: 40 * time.Second, Kills: 3, NATSRestarts: 1, SlapdRestarts: 1,
		LDAPCuts: 1, CutMin: 2 * time.Second, CutMax: 4 * time.Second,
		Outage: 5 * time.Second, Converge: 2 * time.Minute,
		LeaseTTL: 3 * time.Second, LightdashTimeout: 2 * time.Second,
	}
	longScenario = scenario{
		Name: "long", Users: 400, Groups: 180, NewGroups: 20, Changes: 1200,
		Duration: 9 * time.Minute, Kills: 12, NATSRestarts: 2, SlapdRestarts: 2,
		LDAPCuts: 3, CutMin: 5 * time.Second, CutMax: 20 * time.Second,
		Outage: 30 * time.Second, Converge: 5 * time.Minute,
		LeaseTTL: 3 * time.Second, LightdashTimeout: 2 * time.Second,
	}
)

// eventKind is one fault the timeline injects at a moment.
type eventKind string

const (
	evKill         eventKind = "kill daemon (SIGKILL)"
	evNATSRestart  eventKind = "restart NATS"
	evSlapdRestart eventKind = "restart slapd"
	evCutLDAP      eventKind = "cut network to LDAP"
	evRestoreLDAP  eventKind = "restore network to LDAP"
	evOutageStart  eventKind = "Lightdash outage starts"
	evOutageEnd    eventKind = "Lightdash outage ends"
)

type event struct {
	At   time.Duration // since the faults started
	Kind eventKind
}

func (e event) String() string { return fmt.Sprintf("%6.1fs %s", e.At.Seconds(), e.Kind) }

// timeline places the scenario's discrete faults at random moments drawn
// from rng. Kills fall in the first 75% of the run so that the last daemon
// still sees Lightdash faults its own counters must account for; every
// fault of the network ends before 90%.
func timeline(sc scenario, rng *mrand.Rand) []event {
	d := sc.Duration
	at := func(lo, hi float64) time.Duration {
		return time.Duration((lo + rng.Float64()*(hi-lo)) * float64(d))
	}
	var evs []event
	// Kills: spread over equal slices so that every daemon lives a while.
	slice := 0.70 / float64(sc.Kills)
	for i := range sc.Kills {
		evs = append(evs, event{At: at(0.05+float64(i)*slice, 0.05+float64(i)*slice+slice*0.8), Kind: evKill})
	}
	for range sc.NATSRestarts {
		evs = append(evs, event{At: at(0.05, 0.85), Kind: evNATSRestart})
	}
	for range sc.SlapdRestarts {
		evs = append(evs, event{At: at(0.05, 0.85), Kind: evSlapdRestart})
	}
	for range sc.LDAPCuts {
		start := at(0.05, 0.80)
		dur := sc.CutMin + time.Duration(rng.Float64()*float64(sc.CutMax-sc.CutMin))
		evs = append(evs, event{At: start, Kind: evCutLDAP}, event{At: start + dur, Kind: evRestoreLDAP})
	}
	start := at(0.10, 0.80-float64(sc.Outage)/float64(d))
	evs = append(evs, event{At: start, Kind: evOutageStart}, event{At: start + sc.Outage, Kind: evOutageEnd})
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At < evs[j].At })
	return evs
}
