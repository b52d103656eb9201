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
// be right whichever it picks.
type comparePick func(cur, list []string) []string

var comparePicks = map[string]comparePick{
	// keptFirst compares the members the list keeps: the fewest deletions.
	"kept first": func(cur, list []string) []string {
		return head(slices.Concat(intersect(cur, list), minus(cur, list)), lightdash.PatchCompareLimit)
	},
	// droppedFirst compares the members the list drops: the most rows to insert.
	"dropped first": func(cur, list []string) []string {
		return head(slices.Concat(minus(cur, list), intersect(cur, list)), lightdash.PatchCompareLimit)
	},
	"random": func(cur, _ []string) []string {
		f := slices.Clone(cur)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
		return head(f, lightdash.PatchCompareLimit)
	},
}

// simulate runs nextMemberStep against a model of the real server's PATCH
// (GroupsModel.updateGroup) and returns the calls it took; it fails the
// test if a PATCH would insert more rows than the server takes.
func simulate(t *testing.T, pick comparePick, cur, want []string) int {
	t.Helper()
	calls, left := 0, memberDistance(cur, want)
	for {
		st := nextMemberStep(cur, want)
		switch st.Op {
		case "":
			return calls
		case opPatch:
			f := sortedUnique(pick(cur, st.Users))
			insert := minus(st.Users, f)
			if len(insert) > lightdash.MaxMembersPerInsert {
				t.Fatalf("a PATCH inserts %d rows; the server takes %d", len(insert), lightdash.MaxMembersPerInsert)
			}
			cur = union(minus(cur, minus(f, st.Users)), insert)
			calls++
		case opPut:
			cur, calls = union(cur, st.Users), calls+len(st.Users)
		case opDelete:
			cur, calls = minus(cur, st.Users), calls+len(st.Users)
		}
		now := memberDistance(cur, want)
		if now >= left {
			t.Fatalf("a %s step left %d changes of %d: no progress", st.Op, now, left)
		}
		left = now
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
		calls     int // 0: not asserted, only convergence
	}{
		{"no change", users(0, 50), users(0, 50), 0},
		{"small group", users(0, 50), users(10, 70), 1},
		{"empty a small group", users(0, 50), nil, 1},
		{"fill a created group of 25,000", users(0, ins), users(0, 25000), ceilDiv(25000, ins) - 1},
		{"replace 15,000 by another 15,000", users(0, 15000), users(15000, 30000), max(ceilDiv(15000, cmp), ceilDiv(15000, ins))},
		{"replace 7,000 of 12,000", users(0, 12000), users(7000, 19000), 2},
		{"add 30,000 to an empty group", nil, users(0, 30000), ceilDiv(30000, ins)},
		{"one removal from 30,000", users(0, 30000), users(1, 30000), 1},
		{"one addition to 30,000", users(0, 30000), users(0, 30001), 1},
		{"grow 30,000 to 33,000", users(0, 30000), users(0, 33000), 0},
		{"shrink 30,000 to 12,000", users(0, 30000), users(0, 12000), 0},
		{"half of 24,000 replaced", users(0, 24000), users(12000, 36000), 0},
	}
	for _, c := range cases {
		for pname, pick := range comparePicks {
			t.Run(c.name+"/"+pname, func(t *testing.T) {
				calls := simulate(t, pick, c.cur, c.want)
				if c.calls > 0 && calls != c.calls {
					t.Errorf("got %d calls, want %d", calls, c.calls)
				}
			})
		}
	}
}
