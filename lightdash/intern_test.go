package lightdash

import (
	"encoding/json"
	"strings"
	"testing"
	"unsafe"
)

// TestInternerUUIDsOnlyKeepsNoSummaries: a read of member uuids only keeps
// one string per user in its interner, no member summary, and still gives
// every mention of a user one shared string.
func TestInternerUUIDsOnlyKeepsNoSummaries(t *testing.T) {
	const a, b = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	body := `{"uuid":"g1","name":"one","memberUuids":["` + a + `","` + b + `"],"members":[{"userUuid":"` + a + `","email":"a@x"}]}
{"uuid":"g2","name":"two","memberUuids":["` + b + `"]}`
	dec := json.NewDecoder(strings.NewReader(body))
	in := newInterner(nil)
	in.uuidsOnly = true
	var g1, g2 GroupWithMembers
	for _, g := range []*GroupWithMembers{&g1, &g2} {
		if err := g.decodeItem(dec, in); err != nil {
			t.Fatal(err)
		}
	}
	if len(in.people) != 0 || len(in.uuids.m) != 2 {
		t.Errorf("interner holds %d summaries and %d uuids, want 0 and 2", len(in.people), len(in.uuids.m))
	}
	if g1.Members != nil {
		t.Errorf("members decoded: %+v", g1.Members)
	}
	if unsafe.StringData(g1.MemberUUIDs[1]) != unsafe.StringData(g2.MemberUUIDs[0]) {
		t.Error("the two mentions of one user are two strings")
	}
}

// TestMemberUUIDsKnownCostNoString: memberUuids read in uuids-only mode
// give a uuid the interner holds its string without allocating one, and
// an unknown uuid one string, kept for the next mention.
func TestMemberUUIDsKnownCostNoString(t *testing.T) {
	const a, b = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	in := newInterner(nil)
	known := strings.Clone(a)
	in.uuid(known)
	l := memberUUIDs{in: in}
	text := []byte(`[ "` + a + `", "` + b + `" ]`)
	if err := l.UnmarshalJSON(text); err != nil {
		t.Fatal(err)
	}
	if len(l.list) != 2 || unsafe.StringData(l.list[0]) != unsafe.StringData(known) || l.list[1] != b {
		t.Fatalf("got %q, want the interner's %s and a new %s", l.list, a, b)
	}
	unknown := l.list[1]
	if n := testing.AllocsPerRun(10, func() { _ = l.UnmarshalJSON(text) }); n != 1 {
		t.Errorf("a list of two known uuids cost %v allocations, want 1 (the list)", n)
	}
	if unsafe.StringData(l.list[1]) != unsafe.StringData(unknown) {
		t.Error("the once unknown uuid was allocated again")
	}
}
