package worker

import (
	"slices"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
)

// groupIndex finds the planner's Lightdash groups by uuid and by name, and
// the state's owner of a group, building each index on first use. An
// event's plan looks up one group or two among all of them: building every
// index for each event cost more than the rest of its plan at 10,000
// groups (docs/benchmarks.md, *Live latency*).
type groupIndex struct {
	groups []lightdash.GroupWithMembers
	st     *State

	checked, sorted bool // whether groups are sorted by uuid (the view's are)
	byUUID          map[string]*lightdash.GroupWithMembers
	byName          map[string]*lightdash.GroupWithMembers // by trimmed name
	ownerOf         map[string]string                      // Lightdash uuid → owning key (the least, if several)
}

// group returns the group with uuid, or nil: by binary search when the
// groups are sorted by uuid, through a map built once otherwise. Of equal
// uuids, the last wins, as with the map.
func (x *groupIndex) group(uuid string) *lightdash.GroupWithMembers {
	if !x.checked {
		x.checked = true
		x.sorted = slices.IsSortedFunc(x.groups, func(a, b lightdash.GroupWithMembers) int { return strings.Compare(a.UUID, b.UUID) })
	}
	if x.sorted {
		i, ok := findGroup(x.groups, uuid)
		if !ok {
			return nil
		}
		for i+1 < len(x.groups) && x.groups[i+1].UUID == uuid {
			i++
		}
		return &x.groups[i]
	}
	if x.byUUID == nil {
		x.byUUID = make(map[string]*lightdash.GroupWithMembers, len(x.groups))
		for i := range x.groups {
			x.byUUID[x.groups[i].UUID] = &x.groups[i]
		}
	}
	return x.byUUID[uuid]
}

// named returns the group whose trimmed name is name (the last one in
// order, if several), or nil.
func (x *groupIndex) named(name string) *lightdash.GroupWithMembers {
	if x.byName == nil {
		x.byName = make(map[string]*lightdash.GroupWithMembers, len(x.groups))
		for i := range x.groups {
			x.byName[lightdash.TrimName(x.groups[i].Name)] = &x.groups[i]
		}
	}
	return x.byName[name]
}

// owner returns the least state key owning the Lightdash group uuid, or "".
func (x *groupIndex) owner(uuid string) string {
	if x.ownerOf == nil {
		x.ownerOf = make(map[string]string, len(x.st.Groups))
		for k, o := range x.st.Groups {
			if u := o.UUID; u != "" && (x.ownerOf[u] == "" || k < x.ownerOf[u]) {
				x.ownerOf[u] = k
			}
		}
	}
	return x.ownerOf[uuid]
}
