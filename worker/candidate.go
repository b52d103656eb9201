package worker

import (
	"fmt"
	"strings"
)

// candidate is a desired group on its way into the plan.
type candidate struct {
	dg       DesiredGroup
	want     []string
	invitees []string
	upd      *UpdateGroup // existing group (owned, adopted or transferred)
	create   *CreateGroup
	cur      []string // current members of upd's group (sorted and unique once diff has run)
	renameTo string
}

// diff fills Add, Remove and Added of c.upd. prevAdded are the members the
// worker added before; authoritative removes every unwanted member,
// preserve-manual only unwanted members it added. c.want is sorted and
// unique; the other lists are sorted copies, and the sets are computed by
// merging sorted lists: building maps per group cost most of a plan's
// allocations at 10,000 groups.
func (c *candidate) diff(prevAdded []string, authoritative bool) {
	c.cur = sortedUnique(c.cur) // a copy when it needs sorting: the view's lists are shared
	cur := c.cur
	prev := sortedUnique(prevAdded)
	add := minus(c.want, cur)
	remove := minus(cur, c.want)
	if !authoritative {
		remove = intersect(remove, prev)
	}
	c.upd.Add, c.upd.Remove = add, remove
	// Owned after the write: what it added before and is still there, and
	// what it adds now.
	c.upd.Added = union(minus(intersect(prev, cur), remove), add)
}

func (c *candidate) dropRemovals() {
	// Members kept back stay owned, so a later run may still remove them.
	c.upd.Added = union(c.upd.Added, c.upd.Remove)
	c.upd.Remove = nil
}

// members is the full member list to send: current minus removed plus
// added, sorted and de-duplicated (Lightdash answers 400 to a duplicate).
func (c *candidate) members() []string {
	return union(minus(sortedUnique(c.cur), c.upd.Remove), c.upd.Add)
}

// changeDetail spells out an update's changes for its reason.
func changeDetail(u *UpdateGroup) string {
	var parts []string
	if u.NewName != "" {
		parts = append(parts, fmt.Sprintf("rename %q to %q", u.Name, u.NewName))
	}
	if len(u.Add) > 0 || len(u.Remove) > 0 {
		parts = append(parts, fmt.Sprintf("members +%d -%d", len(u.Add), len(u.Remove)))
	}
	if len(u.Invitees) > 0 {
		parts = append(parts, fmt.Sprintf("%d invited", len(u.Invitees)))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}
