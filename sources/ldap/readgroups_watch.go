package ldap

import (
	"fmt"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// Group reads served by the watcher's tracker (ReadGroups): while the
// watcher may serve full runs (fromWatcher), the tracker holds what the
// searches of groupsSnapshot would find, so a live change costs no
// connection, bind or search of its own.

// group read sources, the values of the "from" label of
// lightdash_sync_ldap_group_reads_total.
const (
	groupsFromWatcher   = "watcher"
	groupsFromDirectory = "directory"
)

// canonicalIDs returns groupIDs as the records' ids are written (entryUUID
// in lower case, objectGUID as its canonical string); an id that is not a
// valid objectGUID is an error, as it is for the directory's search.
func (d decoder) canonicalIDs(groupIDs []string) ([]string, error) {
	out := make([]string, 0, len(groupIDs))
	for _, id := range groupIDs {
		if !strings.EqualFold(d.cfg.IDAttribute, "objectGUID") {
			out = append(out, strings.ToLower(id))
			continue
		}
		raw, err := guidBytes(id)
		var guid string
		if err == nil {
			guid, err = guidString(raw)
		}
		if err != nil {
			return nil, fmt.Errorf("group id %q: %w", id, err)
		}
		out = append(out, guid)
	}
	return out, nil
}

// groupsFromTracker is what groupsSnapshot reads for the groups ids (in
// canonical form), taken from t: those groups, every group nested below
// them (cycles cut) and their member users, resolved as a read resolves
// them, each group with the values a read returns (asRead). nil when t
// let its users go.
func (s *Source) groupsFromTracker(t *tracker, ids []string) *sources.Snapshot {
	var level, groups, users []*record
	for _, id := range ids {
		if g := t.recs[id]; g != nil && g.isGroup {
			level = append(level, g)
		}
	}
	taken := map[string]bool{}  // ids of the records taken
	looked := map[string]bool{} // member keys followed
	for len(level) > 0 {
		var next []*record
		for _, g := range level {
			if taken[g.id] {
				continue
			}
			taken[g.id] = true
			g = t.asRead(g)
			groups = append(groups, g)
			for _, m := range g.members {
				if looked[m] {
					continue
				}
				looked[m] = true
				var ok bool
				if next, users, ok = t.follow(m, next, users, taken); !ok {
					return nil
				}
			}
		}
		level = next
	}
	return s.build(users, groups, nil)
}

// follow appends the records member key m names to groups (nested
// groups; never in memberUid mode, whose values name only users) or users
// (unless taken). ok is false when a user's DirUser was let go.
func (t *tracker) follow(m string, groups, users []*record, taken map[string]bool) (_, _ []*record, ok bool) {
	for id := range t.owners(m) {
		r := t.recs[id]
		switch {
		case r.isGroup:
			if !t.uidMode {
				groups = append(groups, r)
			}
		case r.user == nil:
			return nil, nil, false
		case !taken[id]:
			taken[id] = true
			users = append(users, r)
		}
	}
	return groups, users, true
}
