package worker

import "github.com/lightdash-sync/lightdash-sync/lightdash"

// Operations of a memberStep.
const (
	opPatch  = "patch"  // PATCH the group with the full list Users
	opPut    = "put"    // PUT each of Users into the group
	opDelete = "delete" // DELETE each of Users from the group
)

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
// scale"). cur and want are sorted and de-duplicated. Pure: the applier
// calls it again with the members each answer shows.
func nextMemberStep(cur, want []string) memberStep {
	add, remove := minus(want, cur), minus(cur, want)
	switch {
	case len(add) == 0 && len(remove) == 0:
		return memberStep{}
	case len(cur) <= lightdash.PatchCompareLimit:
		// A PATCH compares its list with every member: exact.
		return memberStep{opPatch, union(intersect(cur, want), head(add, lightdash.MaxMembersPerInsert))}
	case len(remove) > 0:
		return removeStep(intersect(cur, want), remove)
	}
	return addStep(cur, add)
}

// removeStep shrinks a group above PatchCompareLimit. A PATCH listing only
// the members to keep deletes every compared member not kept: at least
// PatchCompareLimit-len(keep), whichever members the server compares;
// below two that is no better than one DELETE per member.
func removeStep(keep, remove []string) memberStep {
	if lightdash.PatchCompareLimit-len(keep) > 1 {
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
