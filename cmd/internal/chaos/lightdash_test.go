package chaos

import (
	"context"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
)

// faultSlot is one kind of Lightdash fault the rotator switches on for a
// short slot: the fake holds one failure rate at a time, so the mix is
// made by rotating slots. Over a run a request meets a 5xx with
// probability Share×Rate = 20%, a 429 10%, a hang 5% and a dropped
// connection 5%, as issue 10 asks.
type faultSlot struct {
	Name  string
	Share float64 // of the slots
	Rate  float64 // of the requests within a slot
	Make  func(rng *mrand.Rand) lightdashtest.Fault
}

var faultSlots = []faultSlot{
	{Name: "5xx", Share: 0.5, Rate: 0.4, Make: func(rng *mrand.Rand) lightdashtest.Fault {
		// After: the change happened and only the answer failed, the
		// case where a blind retry of a create would duplicate a group.
		return lightdashtest.Fault{Status: []int{500, 502, 503, 504}[rng.IntN(4)], After: rng.IntN(3) == 0}
	}},
	{Name: "429", Share: 0.2, Rate: 0.5, Make: func(*mrand.Rand) lightdashtest.Fault {
		return lightdashtest.Fault{Status: 429, RetryAfter: time.Second}
	}},
	{Name: "hang", Share: 0.15, Rate: 1.0 / 3, Make: func(*mrand.Rand) lightdashtest.Fault {
		return lightdashtest.Fault{Hang: true}
	}},
	{Name: "drop", Share: 0.15, Rate: 1.0 / 3, Make: func(rng *mrand.Rand) lightdashtest.Fault {
		return lightdashtest.Fault{Drop: true, After: rng.IntN(3) == 0}
	}},
}

const slotLength = 200 * time.Millisecond

// rotateFaults switches the fake's failure rate slot by slot until ctx
// ends, then clears it.
func rotateFaults(ctx context.Context, ld *lightdashtest.Server, rng *mrand.Rand) {
	defer ld.ClearFaults()
	t := time.NewTicker(slotLength)
	defer t.Stop()
	for {
		x := rng.Float64()
		slot := faultSlots[len(faultSlots)-1]
		for _, s := range faultSlots {
			if x < s.Share {
				slot = s
				break
			}
			x -= s.Share
		}
		ld.SetFailureRate(slot.Rate, slot.Make(rng))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// faultKind names a logged fault by kind: "5xx", "5xx after handling",
// "429", "hang", "drop", "drop after handling".
func faultKind(f string) string {
	code, after := strings.CutSuffix(f, " after handling")
	switch {
	case code == "hang" || code == "drop" || code == "429":
	case strings.HasPrefix(code, "5"):
		code = "5xx"
	}
	if after {
		code += " after handling"
	}
	return code
}

// lightdashGroups is the fake's groups: name → sorted member emails, and
// how many groups carry each name.
func lightdashGroups(ld *lightdashtest.Server) (map[string][]string, map[string]int) {
	email := map[string]string{}
	for _, u := range ld.Users() {
		email[u.UserUUID] = strings.ToLower(u.Email)
	}
	got, count := map[string][]string{}, map[string]int{}
	for _, g := range ld.Groups() {
		count[g.Name]++
		var ms []string
		for _, m := range g.MemberUUIDs {
			ms = append(ms, email[m])
		}
		sort.Strings(ms)
		got[g.Name] = ms
	}
	return got, count
}
