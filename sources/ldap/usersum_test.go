package ldap

import (
	"reflect"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources"
)

// TestUserSumTellsEveryField: the tracker tells a user's change by its sum
// alone, so every field a snapshot carries must change it, and nothing
// else may.
func TestUserSumTellsEveryField(t *testing.T) {
	// A field added to DirUser must be added to sumUser and to the table.
	if n := reflect.TypeFor[sources.DirUser]().NumField(); n != 6 {
		t.Fatalf("DirUser has %d fields; sumUser and this test know 6", n)
	}
	base := sources.DirUser{ID: "u1", DN: "uid=ada,ou=people,dc=x", Email: "ada@x", DisplayName: "Ada", AltEmails: []string{"a@x"}}
	same := base
	same.AltEmails = []string{"a@x"} // equal, not the same slice
	if sumUser(&base) != sumUser(&same) {
		t.Fatal("equal users sum differently")
	}
	for _, tc := range []struct {
		name string
		edit func(*sources.DirUser)
	}{
		{"id", func(u *sources.DirUser) { u.ID = "u2" }},
		{"dn", func(u *sources.DirUser) { u.DN = "uid=ada2,ou=people,dc=x" }},
		{"email", func(u *sources.DirUser) { u.Email = "ada2@x" }},
		{"display name", func(u *sources.DirUser) { u.DisplayName = "Ada L." }},
		{"disabled", func(u *sources.DirUser) { u.Disabled = true }},
		{"alt email added", func(u *sources.DirUser) { u.AltEmails = append(u.AltEmails, "b@x") }},
		{"alt email gone", func(u *sources.DirUser) { u.AltEmails = nil }},
		// Without lengths, "Ada"+"a@x" and "Ad"+"aa@x" would run together.
		{"text moved between fields", func(u *sources.DirUser) { u.DisplayName, u.AltEmails = "Ad", []string{"aa@x"} }},
		{"email moved to alt", func(u *sources.DirUser) { u.Email, u.AltEmails = "", []string{"ada@x", "a@x"} }},
	} {
		u := base
		u.AltEmails = append([]string(nil), base.AltEmails...)
		tc.edit(&u)
		if sumUser(&u) == sumUser(&base) {
			t.Errorf("%s: the sum did not change", tc.name)
		}
	}
}
