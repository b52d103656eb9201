package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
)

// fingerprintSnapshots hashes the directory content a plan depends on, in
// a canonical order: sources give groups, users and members in no
// particular order, and the hash must not change with it.
func fingerprintSnapshots(snaps []*Snapshot) string {
	type user struct {
		ID, Email, Alt string
		Disabled       bool
	}
	type group struct {
		ID, DN, Name  string
		Users, Groups []string
	}
	type src struct {
		Source   string
		Complete bool
		Groups   []group
		Users    []user
	}
	var all []src
	for _, s := range snaps {
		if s == nil {
			continue
		}
		x := src{Source: s.Source, Complete: s.Complete}
		for _, g := range s.Groups {
			x.Groups = append(x.Groups, group{ID: g.ID, DN: g.DN, Name: g.Name, Users: sorted(g.MemberUsers), Groups: sorted(g.MemberGroups)})
		}
		sort.Slice(x.Groups, func(i, j int) bool { return x.Groups[i].ID < x.Groups[j].ID })
		for _, u := range s.Users {
			x.Users = append(x.Users, user{ID: u.ID, Email: strings.ToLower(u.Email), Alt: strings.ToLower(strings.Join(u.AltEmails, ",")), Disabled: u.Disabled})
		}
		sort.Slice(x.Users, func(i, j int) bool { return x.Users[i].ID < x.Users[j].ID })
		all = append(all, x)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Source < all[j].Source })
	return hashJSON(all)
}

// fingerprintLightdash hashes the Lightdash users and groups a plan depends on.
func fingerprintLightdash(cur Current) string {
	type user struct {
		UUID, Email     string
		Active, Pending bool
	}
	type group struct {
		UUID, Name string
		Members    []string
	}
	var us []user
	for _, u := range cur.Users {
		us = append(us, user{UUID: u.UserUUID, Email: strings.ToLower(u.Email), Active: u.IsActive, Pending: u.IsPending})
	}
	sort.Slice(us, func(i, j int) bool { return us[i].UUID < us[j].UUID })
	var gs []group
	for _, g := range cur.Groups {
		gs = append(gs, group{UUID: g.UUID, Name: g.Name, Members: sorted(g.MemberUUIDs)})
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].UUID < gs[j].UUID })
	return hashJSON(struct {
		Users  []user
		Groups []group
	}{us, gs})
}

func sorted(l []string) []string {
	out := append([]string(nil), l...)
	sort.Strings(out)
	return out
}

func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Plain structs of strings and bools always marshal.
		panic("worker: fingerprint: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
