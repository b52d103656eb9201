package admin

import (
	"strings"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestStatusShowsAccessChanges(t *testing.T) {
	st := Status{LastReconcile: &Reconcile{Result: "ok", Access: []worker.AccessChangeItem{
		{Group: "ad-Sales", Op: worker.AccessChange, ProjectName: "Sales", Role: "editor", OldRole: "viewer", Reason: "the mapping gives editor"},
	}}}
	html, err := renderHTML(st)
	if err != nil {
		t.Fatal(err)
	}
	want := "<tr><td>ad-Sales</td><td>change</td><td>Sales</td><td></td><td>editor</td><td>viewer</td><td>the mapping gives editor</td></tr>"
	if !strings.Contains(string(html), "Access changes (1)") || !strings.Contains(string(html), want) {
		t.Errorf("status page lacks the access change:\n%s", html)
	}
	js, err := renderJSON(st)
	if err != nil {
		t.Fatal(err)
	}
	if compact := strings.Join(strings.Fields(string(js)), ""); !strings.Contains(compact, `"access":[{"key":"","group":"ad-Sales","op":"change"`) {
		t.Errorf("status.json lacks the access change: %s", js)
	}
}
