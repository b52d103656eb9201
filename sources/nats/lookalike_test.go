package nats

import (
	"context"
	"slices"
	"testing"
)

// TestEmailLookalikeIsNotAnotherUser: a member named by an address that
// Unicode case folding turns into a known user's ("\u212Aate" with U+212A
// KELVIN SIGN folds to "kate") is not that user; an ASCII case difference
// is. Both Snapshot and ReadGroups hold to it.
func TestEmailLookalikeIsNotAnotherUser(t *testing.T) {
	srv := runServer(t)
	h := start(t, srv, testConfig(srv))
	for _, e := range []*Event{
		ev(TypeUserUpserted, "u-kate", Data{Email: "kate@example.com"}),
		ev(TypeGroupUpserted, "fake", Data{Name: "Fake", Members: []Member{{Email: "\u212Aate@example.com"}}}),
		ev(TypeGroupUpserted, "real", Data{Name: "Real", Members: []Member{{Email: "KATE@example.com"}}}),
	} {
		h.publish(e)
		h.next().Done(nil)
	}
	ctx := context.Background()
	full, err := h.src.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	some, err := h.src.ReadGroups(ctx, []string{"fake", "real"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		how  string
		fake []string
		real []string
	}{
		{"Snapshot", group(t, full, "fake").MemberUsers, group(t, full, "real").MemberUsers},
		{"ReadGroups", group(t, some, "fake").MemberUsers, group(t, some, "real").MemberUsers},
	} {
		if slices.Contains(s.fake, "u-kate") {
			t.Errorf("%s: group fake has members %+q: \\u212Aate@ was taken for kate@", s.how, s.fake)
		}
		if !slices.Equal(s.real, []string{"u-kate"}) {
			t.Errorf("%s: group real has members %+q, want [u-kate]", s.how, s.real)
		}
	}
}
