package ldap

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/lightdash"
	"github.com/lightdash-sync/lightdash-sync/lightdash/lightdashtest"
	"github.com/lightdash-sync/lightdash-sync/sources"
	"github.com/lightdash-sync/lightdash-sync/worker"
)

// TestSyncrepl389DSMemberOfResends: with the memberOf plugin on, 389-DS
// sends every user whose memberOf a group change altered, with state add
// or modify, next to the group. Nothing the source maps changed in those
// users, so only the group's change may reach the worker.
func TestSyncrepl389DSMemberOfResends(t *testing.T) {
	d := newDSDir(t)
	ann, bob, cat := d.addUser("ann", false), d.addUser("bob", false), d.addUser("cat", true)
	zed := d.addUser("zed", false) // in no group: its changes mark how far the watcher got
	eng := d.addGroup("eng", ann)
	reg := prometheus.NewRegistry()
	src, err := New(d.config(), nil, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, src)
	w.waitReady(t)
	ld, wk, names := lightdashFor(t, src, "ann", "bob", "cat")
	if got, _ := ld.GroupMembers("ds-eng", names); !slices.Equal(got, []string{"ann"}) {
		t.Fatalf("after the first full run ds-eng holds %v, want ann", got)
	}

	steps := []struct {
		name    string
		members []string
		moved   []string // users who joined or left: 389-DS sends each again
		// inLightdash is the group in Lightdash after the worker ran on
		// the changes (cat is locked).
		inLightdash string
	}{
		{"two join", []string{ann, bob, cat}, []string{bob, cat}, "ann,bob"},
		{"one leaves", []string{bob, cat}, []string{ann}, "bob"},
		{"all leave", nil, []string{bob, cat}, ""},
		{"one joins", []string{ann}, []string{ann}, "ann"},
	}
	for i, s := range steps {
		before := gathered(t, reg, "lightdash_sync_ldap_entries_read_total", "kind", "syncrepl")
		if err := d.SetMembers(context.Background(), eng, s.members, nil); err != nil {
			t.Fatal(err)
		}
		d.markUser(zed, i)
		got := w.changesUntil(t, s.name, zed)
		// 389-DS 2.3 sends each such user twice; at least once is the point.
		if sent := gathered(t, reg, "lightdash_sync_ldap_entries_read_total", "kind", "syncrepl") - before; sent < float64(len(s.moved)+2) {
			t.Fatalf("%s: syncrepl sent %v entries, want at least %d: the group, the mark and the users whose memberOf changed",
				s.name, sent, len(s.moved)+2)
		}
		want := []sources.Change{{Source: "corp", GroupIDs: []string{eng}, UserIDs: slices.Sorted(slices.Values(s.moved)), Reason: "syncrepl modify"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: changes %+v, want only the group's %+v", s.name, got, want)
		}
		ld.ResetRequests()
		for _, c := range got {
			if _, err := wk.ReconcileGroups(context.Background(), c.Source, c.GroupIDs); err != nil {
				t.Fatal(err)
			}
		}
		if n := ld.WriteCount(); n != 1 || ld.RequestCount("PATCH /api/v1/groups/{groupUuid}") != 1 {
			t.Errorf("%s: the worker made %d writes (%+v), want one PATCH of the group", s.name, n, ld.Requests())
		}
		if got, _ := ld.GroupMembers("ds-eng", names); strings.Join(got, ",") != s.inLightdash {
			t.Errorf("%s: ds-eng holds %v, want %s", s.name, got, s.inLightdash)
		}
	}
}

// lightdashFor is a fake Lightdash holding users of the given names (at
// example.com), their names by Lightdash uuid, and a worker syncing src's
// groups into it as "ds-<name>", after a first full run.
func lightdashFor(t *testing.T, src sources.Source, users ...string) (*lightdashtest.Server, *worker.Worker, map[string]string) {
	t.Helper()
	ld := lightdashtest.NewServer()
	t.Cleanup(ld.Close)
	names := map[string]string{}
	for _, u := range users {
		names[ld.AddUser(u+"@example.com", lightdash.RoleViewer).UserUUID] = u
	}
	client := &lightdash.Client{BaseURL: ld.URL(), Token: ld.AdminToken(), HTTPClient: ld.Client()}
	wk, err := worker.New([]sources.Source{src}, client, &worker.MemoryStore{}, worker.Options{
		Mapping:     worker.Mapping{Rules: []worker.Rule{{Prefix: "ds-"}}},
		PlanOptions: worker.PlanOptions{AllowDeletions: true}, // a test group loses most of its members
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wk.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ld, wk, names
}

// markUser renames the user id, in no group, for step i of a test: a
// change that names only that user.
func (d *dsDir) markUser(id string, i int) {
	d.t.Helper()
	u := sources.DirUser{ID: id, DisplayName: "mark " + strconv.Itoa(i), Email: "zed@example.com"}
	if err := d.UpdateUser(context.Background(), u); err != nil {
		d.t.Fatal(err)
	}
}

// changesUntil returns the changes that arrive before the first one naming
// the user mark: syncrepl sends entries in the order they changed, so the
// changes before it are all those of the entries changed before mark.
func (w *watching) changesUntil(t *testing.T, what, mark string) []sources.Change {
	t.Helper()
	deadline := time.After(eventTimeout)
	var got []sources.Change
	for {
		select {
		case c := <-w.changes:
			if len(c.UserIDs) == 1 && c.UserIDs[0] == mark && len(c.GroupIDs) == 0 {
				return got
			}
			got = append(got, c)
		case <-deadline:
			t.Fatalf("%s: the mark's change did not arrive within %v; got %+v", what, eventTimeout, got)
		}
	}
}
