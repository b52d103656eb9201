package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestLookalikeIdentities: a directory address that Unicode case folding
// turns into another person's ("\u212Aate" with U+212A KELVIN SIGN folds
// to "kate") matches nobody and is not invited; a group whose name holds a
// zero-width or bidirectional character is not created. Both are reported
// in the plan, a metric and a log line, and nothing else is lost.
func TestLookalikeIdentities(t *testing.T) {
	e := newEnv(t)
	e.uuid["kate"] = e.ld.AddUser("kate@example.com", lightdash.RoleMember).UserUUID
	e.dir.Replace([]sources.DirGroup{
		{ID: "g-team", Name: "Team", MemberUsers: []string{"u-ann", "u-kelvin"}},
		{ID: "g-rlo", Name: "Sales\u202Etxt.exe", MemberUsers: []string{"u-ann"}},
		{ID: "g-zwsp", Name: "Fin\u200Bance", MemberUsers: []string{"u-ann"}},
		{ID: "g-rlm", Name: "Ops\u200F", MemberUsers: []string{"u-ann"}},
	}, []sources.DirUser{
		{ID: "u-ann", Email: "ann@example.com"},
		{ID: "u-kelvin", Email: "\u212Aate@example.com"},
	})
	opts := e.options()
	opts.Mapping = worker.Mapping{Rules: []worker.Rule{{Name: "all", Prefix: "ad-"}}}
	opts.Unmatched = worker.UnmatchedInvite
	core, logs := observer.New(zap.WarnLevel)
	reg := prometheus.NewRegistry()
	w, err := worker.New([]sources.Source{e.dir}, e.client(e.ld.AdminToken(), 3), e.store, opts, zap.New(core), reg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Reconcile(context.Background())
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}

	e.wantGroups("ad-Team: ann")
	if len(res.Plan.Invites) != 0 {
		t.Errorf("invites %+v, want none: a refused address is never invited", res.Plan.Invites)
	}
	var kelvin *worker.UnmatchedUser
	for i, u := range res.Plan.Unmatched {
		if u.UserID == "u-kelvin" {
			kelvin = &res.Plan.Unmatched[i]
		}
	}
	if kelvin == nil || !kelvin.InvalidEmail || !strings.Contains(kelvin.Reason, `\u212a`) {
		t.Errorf("u-kelvin unmatched as %+v, want reported with a refused, escaped email", kelvin)
	}
	for _, id := range []string{"g-rlo", "g-zwsp", "g-rlm"} {
		if !hasBlockingProblem(res.Plan, id) {
			t.Errorf("group %s was not reported as a blocking problem; problems: %+v", id, res.Plan.Problems)
		}
	}
	for _, p := range res.Plan.Problems {
		if strings.ContainsAny(p.Name+p.Reason, "\u202E\u200B\u200F") {
			t.Errorf("problem %+q quotes the invisible character raw", p.Name+": "+p.Reason)
		}
	}

	inv := func(kind string) float64 { return gauge(t, reg, "lightdash_sync_invalid_identities", "kind", kind) }
	if got := inv("email"); got != 1 {
		t.Errorf("invalid emails metric = %v, want 1", got)
	}
	if got := inv("name"); got != 3 {
		t.Errorf("invalid names metric = %v, want 3", got)
	}
	if n := logs.FilterMessage("directory user's email refused").FilterField(zap.String("user", "u-kelvin")).Len(); n != 1 {
		t.Errorf("%d log lines about u-kelvin's email, want 1: %v", n, logs.All())
	}
}

// gauge reads one labelled sample of a gauge family from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if mf.GetName() == name && lp.GetName() == label && lp.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
