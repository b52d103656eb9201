package lightdashtest

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// maxBindParams is PostgreSQL's limit on the bind parameters of one
// statement: a member list that binds more fails with 500.
const maxBindParams = 65535

// createMembersLocked is the members a create keeps, as
// GroupsModel.addGroupMembers does: the listed users of the organization,
// once each. status is non-zero when the statement fails: the list binds
// one parameter per uuid, the insert three per kept member
// (lightdash.MaxMembersPerInsert).
func createMembersLocked(o *org, list []string) (keep []string, status int) {
	if len(list)+1 > maxBindParams {
		return nil, http.StatusInternalServerError
	}
	seen := make(map[string]bool, len(list))
	for _, m := range list {
		id := strings.ToLower(m)
		if _, inOrg := o.users[id]; inOrg && !seen[id] {
			seen[id] = true
			keep = append(keep, id)
		}
	}
	if len(keep) > lightdash.MaxMembersPerInsert {
		return nil, http.StatusInternalServerError
	}
	return keep, 0
}

// comparedMembersLocked is what a PATCH diffs its list against: at most
// lightdash.PatchCompareLimit members, read with no ORDER BY
// (GroupsModel.updateGroup → getGroupWithMembers(uuid, 10000)), so which
// ones is arbitrary: shuffled like every unordered answer, or the oldest
// with WithPatchCompareOldestFirst.
func (s *Server) comparedMembersLocked(g *group) map[string]*user {
	if len(g.members) <= lightdash.PatchCompareLimit {
		return g.members
	}
	ms := sortedMembers(g)
	if s.oldest {
		slices.SortFunc(ms, func(a, b *user) int { return cmp.Compare(g.joined[a.uuid], g.joined[b.uuid]) })
	} else {
		shuffleLocked(s, ms)
	}
	out := make(map[string]*user, lightdash.PatchCompareLimit)
	for _, u := range ms[:lightdash.PatchCompareLimit] {
		out[u.uuid] = u
	}
	return out
}

// patchMembersLocked is the member half of PATCH as GroupsModel.updateGroup
// does it: listed users not among the compared members are inserted
// (already present ones ignored on conflict, but still counted as rows),
// and compared members not listed are deleted; members beyond the compared
// ones are never deleted. It returns the new member set, or the status of
// the failure: 400 when a user to insert is not in the organization or
// listed twice, 500 when the statement binds too many parameters.
func (s *Server) patchMembersLocked(g *group, list []string) (map[string]*user, int) {
	compared := s.comparedMembersLocked(g)
	listed := make(map[string]bool, len(list))
	var toAdd []string // duplicates kept, as lodash's differenceBy keeps them
	for _, m := range list {
		id := strings.ToLower(m)
		listed[id] = true
		if compared[id] == nil {
			toAdd = append(toAdd, id)
		}
	}
	if len(toAdd)+1 > maxBindParams {
		return nil, http.StatusInternalServerError
	}
	found := make(map[string]*user, len(toAdd))
	for _, id := range toAdd {
		if u, inOrg := g.org.users[id]; inOrg {
			found[id] = u
		}
	}
	if len(found) != len(toAdd) {
		return nil, http.StatusBadRequest
	}
	if len(found) > lightdash.MaxMembersPerInsert {
		return nil, http.StatusInternalServerError
	}
	out := make(map[string]*user, len(g.members)+len(found))
	for id, u := range g.members {
		if compared[id] == nil || listed[id] {
			out[id] = u
		}
	}
	for id, u := range found {
		out[id] = u
	}
	return out, 0
}
