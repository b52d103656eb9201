package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
)

// Size is the shape of the generated directory.
type Size struct {
	Users       int
	Groups      int
	Memberships int     // direct user memberships over all groups
	Nested      float64 // fraction of groups that also hold another group
	Seed        uint64
}

// Directory is a generated directory: every group's direct user members
// (indexes into the users) and its nested child group, if any.
type Directory struct {
	Size    Size
	Suffix  string
	members [][]int // group -> sorted user indexes
	child   []int   // group -> nested group index, or -1
	isChild []bool  // group is nested inside another group
}

func userUID(i int) string   { return fmt.Sprintf("u%06d", i) }
func userEmail(i int) string { return userUID(i) + "@example.com" }
func groupName(g int) string { return fmt.Sprintf("g%05d", g) }
func (d *Directory) userDN(i int) string {
	return "uid=" + userUID(i) + ",ou=people," + d.Suffix
}
func (d *Directory) groupDN(g int) string {
	return "cn=" + groupName(g) + ",ou=groups," + d.Suffix
}

// matched reports whether user i has a Lightdash account: all but ~1% do,
// so the directory holds unmatched users as real ones do.
func matched(i int) bool { return i%100 != 99 }

// Generate builds the directory deterministically from s.Seed.
func Generate(s Size, suffix string) (*Directory, error) {
	if s.Users <= 0 || s.Groups <= 0 || s.Memberships < s.Groups {
		return nil, fmt.Errorf("size: need users > 0, groups > 0 and memberships >= groups (every groupOfNames needs a member); got %d users, %d groups, %d memberships", s.Users, s.Groups, s.Memberships)
	}
	if s.Nested < 0 || s.Nested > 0.5 {
		return nil, fmt.Errorf("size: nested fraction %v outside [0, 0.5]", s.Nested)
	}
	per := s.Memberships / s.Groups
	if per > s.Users {
		return nil, fmt.Errorf("size: %d memberships per group but only %d users", per, s.Users)
	}
	r := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	d := &Directory{Size: s, Suffix: suffix, members: make([][]int, s.Groups), child: make([]int, s.Groups), isChild: make([]bool, s.Groups)}
	extra := s.Memberships - per*s.Groups
	for g := range s.Groups {
		n := per
		if g < extra {
			n++
		}
		seen := make(map[int]bool, n)
		m := make([]int, 0, n)
		for len(m) < n {
			u := r.IntN(s.Users)
			if !seen[u] {
				seen[u] = true
				m = append(m, u)
			}
		}
		sort.Ints(m)
		d.members[g] = m
		d.child[g] = -1
	}
	// Nested groups: a parent holds one group with a higher index that is
	// itself no parent, so the graph is a forest of depth 1 (no cycles).
	nested := int(float64(s.Groups) * s.Nested)
	for k := range nested {
		parent, child := k, s.Groups-1-k
		if parent >= child {
			break
		}
		d.child[parent] = child
		d.isChild[child] = true
	}
	return d, nil
}

// LDIF is the directory as slapadd input (without the base entries
// ldaptest adds).
func (d *Directory) LDIF() []byte {
	var b bytes.Buffer
	b.Grow(d.Size.Users*200 + d.Size.Memberships*60)
	for i := range d.Size.Users {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %d\nsn: %d\nmail: %s\n\n", d.userDN(i), userUID(i), i, i, userEmail(i))
	}
	for g := range d.Size.Groups {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: %s\n", d.groupDN(g), groupName(g))
		for _, u := range d.members[g] {
			fmt.Fprintf(&b, "member: %s\n", d.userDN(u))
		}
		if c := d.child[g]; c >= 0 {
			fmt.Fprintf(&b, "member: %s\n", d.groupDN(c))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Changeable lists n groups whose change alters exactly one Lightdash
// group: not nested inside another group, spread over the directory.
func (d *Directory) Changeable(n int) []int {
	var out []int
	step := max(1, d.Size.Groups/max(n, 1))
	for g := 0; g < d.Size.Groups && len(out) < n; g += step {
		if !d.isChild[g] {
			out = append(out, g)
		}
	}
	for g := 0; g < d.Size.Groups && len(out) < n; g++ { // fill gaps left by nested groups
		if !d.isChild[g] && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// NewMember returns a matched user not yet a direct member of g, and
// records it as one.
func (d *Directory) NewMember(g, salt int) int {
	for u := (g*7919 + salt*104729) % d.Size.Users; ; u = (u + 1) % d.Size.Users {
		if matched(u) && !contains(d.members[g], u) && !d.inChild(g, u) {
			d.members[g] = append(d.members[g], u)
			sort.Ints(d.members[g])
			return u
		}
	}
}

func (d *Directory) inChild(g, u int) bool {
	c := d.child[g]
	return c >= 0 && contains(d.members[c], u)
}

func contains(xs []int, x int) bool {
	i := sort.SearchInts(xs, x)
	return i < len(xs) && xs[i] == x
}
