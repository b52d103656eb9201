package nats

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// resolver turns view records into the worker's directory model. Members
// named by id become that user; members named by email only become the
// user with that primary email if the view knows one, else a user whose id
// is the lower-cased email. Members that are deleted users are dropped;
// members by id that no user.upserted described are kept with the email
// their group event gave, if any.
type resolver struct {
	userRecs map[string]*record // user records by id; absent when unknown
	byEmail  func(email string) (string, bool)

	users map[string]*sources.DirUser
}

func (r *resolver) group(g *record, live map[string]bool) sources.DirGroup {
	dg := sources.DirGroup{ID: g.ID, Name: g.Name}
	member := make(map[string]bool, len(g.Members))
	for _, m := range g.Members {
		id, email := memberUserID(m, r.byEmail), m.Email
		if _, seen := r.users[id]; !seen {
			switch u := r.userRecs[id]; {
			case u != nil && u.Deleted:
				continue
			case u != nil:
				r.users[id] = dirUser(u)
			default:
				r.users[id] = &sources.DirUser{ID: id, Email: email}
			}
		}
		if r.users[id].Email == "" && email != "" {
			r.users[id].Email = email
		}
		if !member[id] {
			member[id] = true
			dg.MemberUsers = append(dg.MemberUsers, id)
		}
	}
	for _, sub := range g.MemberGroups {
		if live[sub] {
			dg.MemberGroups = append(dg.MemberGroups, sub)
		}
	}
	return dg
}

// memberUserID is the user a member stands for: its id, else the user
// byEmail finds by its email, else its email as ident.EmailKey has it.
func memberUserID(m Member, byEmail func(email string) (string, bool)) string {
	if m.ID != "" {
		return m.ID
	}
	if id, ok := byEmail(m.Email); ok {
		return id
	}
	return ident.EmailKey(m.Email)
}

func dirUser(u *record) *sources.DirUser {
	return &sources.DirUser{
		ID: u.ID, Email: u.Email, AltEmails: slices.Clone(u.AltEmails),
		DisplayName: u.DisplayName, Disabled: u.Disabled,
	}
}

func (r *resolver) userList() []sources.DirUser {
	out := make([]sources.DirUser, 0, len(r.users))
	for _, u := range r.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b sources.DirUser) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// fullSnapshot builds the directory from every record: all live groups and
// all live users (members or not). It does no I/O.
func fullSnapshot(recs []*record) (groups []sources.DirGroup, users []sources.DirUser) {
	userRecs := map[string]*record{}
	byEmail := map[string]string{}
	live := map[string]bool{}
	for _, r := range recs {
		switch {
		case r.Kind == kindUser:
			userRecs[r.ID] = r
			if !r.Deleted && r.Email != "" {
				byEmail[ident.EmailKey(r.Email)] = r.ID
			}
		case r.Kind == kindGroup && !r.Deleted:
			live[r.ID] = true
		}
	}
	res := &resolver{
		userRecs: userRecs,
		byEmail:  func(e string) (string, bool) { id, ok := byEmail[ident.EmailKey(e)]; return id, ok },
		users:    map[string]*sources.DirUser{},
	}
	for _, u := range userRecs {
		if !u.Deleted {
			res.users[u.ID] = dirUser(u)
		}
	}
	for _, r := range recs {
		if r.Kind == kindGroup && !r.Deleted {
			groups = append(groups, res.group(r, live))
		}
	}
	slices.SortFunc(groups, func(a, b sources.DirGroup) int { return strings.Compare(a.ID, b.ID) })
	return groups, res.userList()
}

// readGroups reads the named groups, every group nested below them, and
// their member users, with one key-value read each.
func (v *view) readGroups(ctx context.Context, ids []string) ([]sources.DirGroup, []sources.DirUser, error) {
	var recs []*record
	live := map[string]bool{}
	queue := slices.Clone(ids)
	seen := map[string]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		r, _, err := v.get(ctx, kvKey(kindGroup, id))
		if err != nil {
			return nil, nil, fmt.Errorf("read group: %w", err)
		}
		if r == nil || r.Deleted {
			continue // unknown or deleted: absent from the snapshot
		}
		recs = append(recs, r)
		live[id] = true
		queue = append(queue, r.MemberGroups...)
	}
	users, err := v.readUsers(ctx, recs)
	if err != nil {
		return nil, nil, fmt.Errorf("read member users: %w", err)
	}
	res := &resolver{
		userRecs: users,
		byEmail:  v.idx.userIDByEmail,
		users:    map[string]*sources.DirUser{},
	}
	groups := make([]sources.DirGroup, 0, len(recs))
	for _, r := range recs {
		groups = append(groups, res.group(r, live))
	}
	slices.SortFunc(groups, func(a, b sources.DirGroup) int { return strings.Compare(a.ID, b.ID) })
	return groups, res.userList(), nil
}

// readUsers reads the user record of every member of groups, nil for
// members no user event described. A burst names groups of hundreds of
// members: they are read in batches (getMany), not one round trip each.
func (v *view) readUsers(ctx context.Context, groups []*record) (map[string]*record, error) {
	var ids, keys []string
	seen := map[string]bool{}
	for _, g := range groups {
		for _, m := range g.Members {
			if id := memberUserID(m, v.idx.userIDByEmail); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
				keys = append(keys, kvKey(kindUser, id))
			}
		}
	}
	recs, err := v.getMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*record, len(ids))
	for i, id := range ids {
		out[id] = recs[keys[i]]
	}
	return out, nil
}
