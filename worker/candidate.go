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
	cur      []string // current members of upd's group
	renameTo string
}

// diff fills Add, Remove and Added of c.upd. prevAdded are the members the
// worker added before; authoritative removes every unwanted member,
// preserve-manual only unwanted members it added.
func (c *candidate) diff(prevAdded []string, authoritative bool) {
	cur := setOf(c.cur)
	want := setOf(c.want)
	prev := setOf(prevAdded)
	var add, remove []string
	for _, u := range c.want {
		if !cur[u] {
			add = append(add, u)
		}
	}
	for _, u := range sortedKeys(cur) {
		if !want[u] && (authoritative || prev[u]) {
			remove = append(remove, u)
		}
	}
	c.upd.Add, c.upd.Remove = add, remove
	c.updateAdded(prev)
}

func (c *candidate) updateAdded(prev map[string]bool) {
	cur := setOf(c.cur)
	rm := setOf(c.upd.Remove)
	added := map[string]bool{}
	for u := range prev {
		if cur[u] && !rm[u] {
			added[u] = true
		}
	}
	for _, u := range c.upd.Add {
		added[u] = true
	}
	c.upd.Added = sortedKeys(added)
}

func (c *candidate) dropRemovals() {
	keep := setOf(c.upd.Remove)
	c.upd.Remove = nil
	// Members kept back stay owned, so a later run may still remove them.
	added := setOf(c.upd.Added)
	for u := range keep {
		added[u] = true
	}
	c.upd.Added = sortedKeys(added)
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
