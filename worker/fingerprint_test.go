package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/internal/ident"
	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
)

// The fingerprint is streamed, but it must stay what marshalling the
// canonical structures with encoding/json gave (plans saved by earlier
// builds carry those hashes). marshalFingerprint* are that earlier code,
// with emails keyed by ident.EmailKey rather than strings.ToLower (the two
// agree on ASCII addresses without surrounding white space).
func marshalFingerprintSnapshots(snaps []*sources.Snapshot) string {
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
		sort.SliceStable(x.Groups, func(i, j int) bool { return x.Groups[i].ID < x.Groups[j].ID })
		for _, u := range s.Users {
			x.Users = append(x.Users, user{ID: u.ID, Email: ident.EmailKey(u.Email), Alt: altEmailKeys(u.AltEmails), Disabled: u.Disabled})
		}
		sort.SliceStable(x.Users, func(i, j int) bool { return x.Users[i].ID < x.Users[j].ID })
		all = append(all, x)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Source < all[j].Source })
	return marshalHash(all)
}

func marshalFingerprintLightdash(cur Current) string {
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
		us = append(us, user{UUID: u.UserUUID, Email: ident.EmailKey(u.Email), Active: u.IsActive, Pending: u.IsPending})
	}
	sort.SliceStable(us, func(i, j int) bool { return us[i].UUID < us[j].UUID })
	var gs []group
	for _, g := range cur.Groups {
		gs = append(gs, group{UUID: g.UUID, Name: g.Name, Members: sorted(g.MemberUUIDs)})
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].UUID < gs[j].UUID })
	return marshalHash(struct {
		Users  []user
		Groups []group
	}{us, gs})
}

func marshalHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// hostileStrings are the strings encoding/json escapes one way or another.
var hostileStrings = []string{"", "plain", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u65e5\u672c", "sep\u2028ara\u2029tor", "bad\xffutf8\xc3", "\xed\xa0\x80surrogate", "emoji \U0001F600"}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return hostileStrings[r.IntN(len(hostileStrings))]
	}
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := append([]string(nil), hostileStrings...)
	for range 5000 {
		cases = append(cases, randomString(r))
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestFingerprintsMatchMarshalledForm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	list := func(n int) []string {
		if n == 0 {
			return [][]string{nil, {}}[r.IntN(2)]
		}
		var l []string
		for range n {
			l = append(l, randomString(r))
		}
		return l
	}
	for i := range 200 {
		var snaps []*sources.Snapshot
		for range r.IntN(3) {
			s := &sources.Snapshot{Source: randomString(r), Complete: r.IntN(2) == 0}
			for range r.IntN(4) {
				s.Groups = append(s.Groups, sources.DirGroup{ID: randomString(r), DN: randomString(r), Name: randomString(r),
					MemberUsers: list(r.IntN(4)), MemberGroups: list(r.IntN(2))})
			}
			for range r.IntN(4) {
				s.Users = append(s.Users, sources.DirUser{ID: randomString(r), Email: randomString(r), AltEmails: list(r.IntN(3)), Disabled: r.IntN(2) == 0})
			}
			snaps = append(snaps, s)
		}
		if r.IntN(5) == 0 {
			snaps = append(snaps, nil)
		}
		var cur Current
		for range r.IntN(4) {
			cur.Users = append(cur.Users, lightdash.OrgMember{UserUUID: randomString(r), Email: randomString(r), IsActive: r.IntN(2) == 0, IsPending: r.IntN(2) == 0})
		}
		for range r.IntN(4) {
			cur.Groups = append(cur.Groups, lightdash.GroupWithMembers{Group: lightdash.Group{UUID: randomString(r), Name: randomString(r)}, MemberUUIDs: list(r.IntN(4))})
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got, want := fingerprintSnapshots(snaps), marshalFingerprintSnapshots(snaps); got != want {
				t.Errorf("directory fingerprint %s, want %s", got, want)
			}
			if got, want := fingerprintLightdash(cur), marshalFingerprintLightdash(cur); got != want {
				t.Errorf("lightdash fingerprint %s, want %s", got, want)
			}
		})
	}
}

// The fingerprint does not depend on the order sources give things in.
func TestFingerprintIgnoresOrder(t *testing.T) {
	a := &sources.Snapshot{Source: "corp", Groups: []sources.DirGroup{{ID: "g1", MemberUsers: []string{"u1", "u2"}}, {ID: "g2"}}, Users: []sources.DirUser{{ID: "u1"}, {ID: "u2"}}}
	b := &sources.Snapshot{Source: "corp", Groups: []sources.DirGroup{{ID: "g2"}, {ID: "g1", MemberUsers: []string{"u2", "u1"}}}, Users: []sources.DirUser{{ID: "u2"}, {ID: "u1"}}}
	if fingerprintSnapshots([]*sources.Snapshot{a}) != fingerprintSnapshots([]*sources.Snapshot{b}) {
		t.Error("reordered snapshot has another fingerprint")
	}
	b.Groups[1].MemberUsers = []string{"u1"}
	if fingerprintSnapshots([]*sources.Snapshot{a}) == fingerprintSnapshots([]*sources.Snapshot{b}) {
		t.Error("a removed member leaves the fingerprint unchanged")
	}
}

// A change of address that Unicode case folding would hide (K to U+212A
// KELVIN SIGN) changes how the user matches, so it changes the fingerprint;
// a change of ASCII case does not.
func TestFingerprintSeesLookalikeEmail(t *testing.T) {
	fp := func(email string) string {
		s := &sources.Snapshot{Source: "corp", Users: []sources.DirUser{{ID: "u1", Email: email, AltEmails: []string{email}}}}
		cur := Current{Users: []lightdash.OrgMember{{UserUUID: "u1", Email: email}}}
		return fingerprintSnapshots([]*sources.Snapshot{s}) + fingerprintLightdash(cur)
	}
	if fp("kate@example.com") != fp("KATE@example.com") {
		t.Error("an ASCII case change changes the fingerprint")
	}
	if fp("kate@example.com") == fp("\u212Aate@example.com") {
		t.Error("kate@ and \\u212Aate@ have one fingerprint, but only one of them matches kate's account")
	}
}
