package main

import (
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/sources/ldap/ldaptest"
)

// TestDemo runs `lightdash-sync demo --exit`, the README's first command,
// and checks that each scripted change reached the simulated Lightdash.
func TestDemo(t *testing.T) { testDemo(t) }

// TestDemoLDAP runs the same script against a real slapd (demo --ldap).
func TestDemoLDAP(t *testing.T) {
	ldaptest.RequireSlapd(t)
	testDemo(t, "--ldap")
}

func testDemo(t *testing.T, extra ...string) {
	code, out, errOut := runMain(t, append([]string{"demo", "--exit"}, extra...)...)
	if code != exitOK {
		t.Fatalf("demo --exit exited %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"SIMULATED Lightdash",
		"dir-data-engineering  alan@example.com, edsger@example.com",
		"2. ada@example.com joins analysts",
		"3. analysts is renamed to data-analysts",
		"4. grace@example.com is disabled",
		"deletion HELD BACK",
		"reconcile --allow-deletions: deleted 1 group(s)",
		"dir-data-analysts     ada@example.com, katherine@example.com",
		"dir-analysts is editor on project Analytics",
		"dir-data-analysts is editor on project Analytics",
		"Not in Lightdash (reported as unmatched, added once they sign up): ken@example.com",
		"Status page: http://127.0.0.1:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	final := out[strings.LastIndex(out, "Groups in the simulated Lightdash:"):]
	if strings.Contains(final, "dir-marketing ") || strings.Contains(final, "dir-analysts ") {
		t.Errorf("the final table still holds a removed or renamed group:\n%s", final)
	}
	// A live change is one Lightdash write per affected group, and no reads.
	step3 := between(out, "3. analysts is renamed", "4. grace")
	if !strings.Contains(step3, "with 1 calls:") || !strings.Contains(step3, "1 × PATCH /api/v1/groups/{groupUuid} → 200") {
		t.Errorf("the rename did not cost exactly one PATCH:\n%s", step3)
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		s = s[:j]
	}
	return s
}
