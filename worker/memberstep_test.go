package worker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// comparePick chooses which members a PATCH compares its list with (F in
// API-NOTES §10): the server reads them with no ORDER BY, so the steps must
// be right whichever it picks. joined is the group's members, oldest first.
type comparePick func(joined, list []string) []string

var comparePicks = map[string]comparePick{
	// keptFirst compares the members the list keeps: the fewest deletions,
	// none at all while at least PatchCompareLimit are kept (adversarial).
	"kept first": func(joined, list []string) []string {
		l := sortedUnique(list)
		return head(slices.Concat(keptOf(joined, l, true), keptOf(joined, l, false)), lightdash.PatchCompareLimit)
	},
	// droppedFirst compares the members the list drops: the most rows to insert.
	"dropped first": func(joined, list []string) []string {
		l := sortedUnique(list)
		return head(slices.Concat(keptOf(joined, l, false), keptOf(joined, l, true)), lightdash.PatchCompareLimit)
	},
	// oldestFirst compares the oldest members: heap order, what a real
	// server's sequential scan usually returns.
	"oldest first": func(joined, _ []string) []string {
		return head(joined, lightdash.PatchCompareLimit)
	},
	"random": func(joined, _ []string) []string {
		f := slices.Clone(joined)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
		return head(f, lightdash.PatchCompareLimit)
	},
}

// keptOf is the members of joined that sorted list holds (in), or lacks.
func keptOf(joined, list []string, in bool) []string {
	var out []string
	for _, u := range joined {
		if _, ok := slices.BinarySearch(list, u); ok == in {
			out = append(out, u)
		}
	}
	return out
}

// simGroup is a group as the server holds it: members in the order they
// joined.
type simGroup struct{ joined []string }

func (g *simGroup) members() []string { return sortedUnique(g.joined) }

// keep drops the members of sorted gone, keeping the order.
func (g *simGroup) drop(gone []string) {
	g.joined = slices.DeleteFunc(g.joined, func(u string) bool {
		_, ok := slices.BinarySearch(gone, u)
		return ok
	})
}

// add appends the users of l not yet members, in l's order.
func (g *simGroup) add(l []string) {
	cur := g.members()
	for _, u := range l {
		if _, ok := slices.BinarySearch(cur, u); !ok {
			g.joined = append(g.joined, u)
		}
	}
}

// simulate runs nextMemberStep against a model of the real server's PATCH
// (GroupsModel.updateGroup) and returns the calls it took; it fails the
// test if a PATCH would insert more rows than the server takes, or if two
// steps in a row (or a per-member step) make no progress, as writeMembers
// would.
func simulate(t *testing.T, pick comparePick, cur, want []string) int {
	t.Helper()
	g := &simGroup{joined: slices.Clone(cur)}
	calls, left, idle := 0, memberDistance(cur, want), false
	var last stepOutcome
	for {
		before := g.members()
		st := nextMemberStep(before, want, last)
		switch st.Op {
		case "":
			return calls
		case opPatch:
			f := sortedUnique(pick(g.joined, st.Users))
			if insert := minus(sortedUnique(st.Users), f); len(insert) > lightdash.MaxMembersPerInsert {
				t.Fatalf("a PATCH inserts %d rows; the server takes %d", len(insert), lightdash.MaxMembersPerInsert)
			}
			g.drop(minus(f, sortedUnique(st.Users)))
			g.add(st.Users)
			calls++
		case opPut:
			g.add(st.Users)
			calls += len(st.Users)
		case opDelete:
			g.drop(st.Users)
			calls += len(st.Users)
		}
		last = stepOutcome{Op: st.Op, Removed: len(minus(before, g.members()))}
		now := memberDistance(g.members(), want)
		if now > left || now == left && (st.Op != opPatch || idle) {
			t.Fatalf("a %s step left %d changes of %d: no progress", st.Op, now, left)
		}
		idle, left = now == left, now
	}
}

func users(from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("u%06d", i))
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func TestMemberStepsAreExactWithinTheLimits(t *testing.T) {
	const ins, cmp = lightdash.MaxMembersPerInsert, lightdash.PatchCompareLimit
	cases := []struct {
		name      string
		cur, want []string
		calls     int            // 0: not asserted, only convergence
		byPick    map[string]int // calls for some compare picks
	}{
		{"no change", users(0, 50), users(0, 50), 0, nil},
		{"small group", users(0, 50), users(10, 70), 1, nil},
		{"empty a small group", users(0, 50), nil, 1, nil},
		{"fill a created group of 25,000", users(0, ins), users(0, 25000), ceilDiv(25000, ins) - 1, nil},
		{"replace 15,000 by another 15,000", users(0, 15000), users(15000, 30000), max(ceilDiv(15000, cmp), ceilDiv(15000, ins)), nil},
		{"replace 7,000 of 12,000", users(0, 12000), users(7000, 19000), 2, nil},
		{"add 30,000 to an empty group", nil, users(0, 30000), ceilDiv(30000, ins), nil},
		{"one removal from 30,000", users(0, 30000), users(1, 30000), 1, nil},
		{"one addition to 30,000", users(0, 30000), users(0, 30001), 1, nil},
		{"grow 30,000 to 33,000", users(0, 30000), users(0, 33000), 0, nil},
		{"shrink 30,000 to 12,000", users(0, 30000), users(0, 12000), 0, nil},
		{"half of 24,000 replaced", users(0, 24000), users(12000, 36000), 0, nil},
		{"drop the oldest 15,000 of 30,000", users(0, 30000), users(15000, 30000), 0, map[string]int{
			"oldest first": ceilDiv(15000, cmp), "dropped first": ceilDiv(15000, cmp),
			"kept first": 1 + 15000, // the PATCH deletes none: one wasted call
		}},
		{"drop the newest 15,000 of 30,000", users(0, 30000), users(0, 15000), 0, map[string]int{
			"oldest first": 1 + 15000, "dropped first": ceilDiv(15000, cmp),
		}},
		{"drop 20 of 30,000", users(0, 30000), users(20, 30000), 20, nil},
		{"drop 10,001 of 20,000", users(0, 20000), users(10001, 20000), 0, map[string]int{"oldest first": 2}},
		{"drop 15,000 of 31,845, add 100", users(0, 31845), users(15000, 31945), 0, nil},
	}
	for _, c := range cases {
		for pname, pick := range comparePicks {
			t.Run(c.name+"/"+pname, func(t *testing.T) {
				calls := simulate(t, pick, c.cur, c.want)
				want, ok := c.byPick[pname]
				if !ok {
					want = c.calls
				}
				if want > 0 && calls != want {
					t.Errorf("got %d calls, want %d", calls, want)
				}
				// At worst one call more than one per changed member.
				if most := 1 + memberDistance(c.cur, c.want); calls > most {
					t.Errorf("got %d calls, more than %d", calls, most)
				}
			})
		}
	}
}
