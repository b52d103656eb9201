package worker

import "github.com/lightdash-sync/lightdash-sync/lightdash"

// Operations of a memberStep.
const (
	opPatch  = "patch"  // PATCH the group with the full list Users
	opPut    = "put"    // PUT each of Users into the group
	opDelete = "delete" // DELETE each of Users from the group
)

// stepOutcome is what the previous step of the same change did, for
// nextMemberStep to decide whether another PATCH is worth it.
type stepOutcome struct {
	Op      string
	Removed int // members the step removed
}

// minPatchRemovals is the fewest removals a PATCH must be expected to make
// (and, after one, must have made) to be tried above PatchCompareLimit when
// it cannot promise any: a PATCH of the largest list costs the server
// about as much as that many DELETEs (docs/architecture.md).
const minPatchRemovals = 25

// memberStep is the next write of a group's member change; Op is empty
// when there is nothing left to write.
type memberStep struct {
	Op    string
	Users []string
}

// nextMemberStep is the write that brings a group's members from cur to
// want with the fewest calls a real Lightdash's limits allow
// (lightdash.MaxMembersPerInsert, lightdash.PatchCompareLimit; the
// reasoning and call counts are in docs/architecture.md, "Member writes at
// scale"). cur and want are sorted and de-duplicated; last is the outcome
// of the change's previous step. Pure: the applier calls it again with the
// members each answer shows.
func nextMemberStep(cur, want []string, last stepOutcome) memberStep {
	add, remove := minus(want, cur), minus(cur, want)
	switch {
	case len(add) == 0 && len(remove) == 0:
		return memberStep{}
	case len(cur) <= lightdash.PatchCompareLimit:
		// A PATCH compares its list with every member: exact.
		return memberStep{opPatch, union(intersect(cur, want), head(add, lightdash.MaxMembersPerInsert))}
	case len(remove) > 0:
		return removeStep(intersect(cur, want), remove, last)
	}
	return addStep(cur, add)
}

// removeStep shrinks a group above PatchCompareLimit. A PATCH listing only
// the members to keep deletes every compared member not kept: at least
// PatchCompareLimit-len(keep), whichever members the server compares.
// When that promises fewer than two, a PATCH of the kept members may
// still delete many (a real server compares the oldest members first),
// so it is tried while enough removals remain and the previous PATCH made
// enough; what it leaves goes one DELETE per member. Additions wait until
// the removals are done, so that the list stays small enough to PATCH.
func removeStep(keep, remove []string, last stepOutcome) memberStep {
	if lightdash.PatchCompareLimit-len(keep) > 1 {
		return memberStep{opPatch, keep}
	}
	// The compared members hold at least this many kept ones, which the
	// PATCH does not insert again; every other listed member is a row.
	compared := max(0, lightdash.PatchCompareLimit-len(remove))
	fits := len(keep)-compared <= lightdash.MaxMembersPerInsert
	worth := len(remove) >= minPatchRemovals && (last.Op != opPatch || last.Removed >= minPatchRemovals)
	if worth && fits {
		return memberStep{opPatch, keep}
	}
	return memberStep{opDelete, remove}
}

// addStep grows a group above PatchCompareLimit. A PATCH listing every
// member deletes none, but inserts again (as rows) every member it did not
// compare, which leaves room for MaxMembersPerInsert less those.
func addStep(cur, add []string) memberStep {
	room := lightdash.MaxMembersPerInsert - (len(cur) - lightdash.PatchCompareLimit)
	if room > 1 && len(add) > 1 {
		return memberStep{opPatch, union(cur, head(add, room))}
	}
	return memberStep{opPut, add}
}

func head(l []string, n int) []string {
	return l[:min(n, len(l))]
}
