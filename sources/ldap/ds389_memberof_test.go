package ldap

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lightdash-sync/lightdash-sync/sources"
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

	steps := []struct {
		name    string
		members []string
		moved   []string // users who joined or left: 389-DS sends each again
	}{
		{"two join", []string{ann, bob, cat}, []string{bob, cat}},
		{"one leaves", []string{bob, cat}, []string{ann}},
		{"all leave", nil, []string{bob, cat}},
		{"one joins", []string{ann}, []string{ann}},
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
	}
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
