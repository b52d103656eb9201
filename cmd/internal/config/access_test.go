package config

import (
	"reflect"
	"testing"

	"github.com/lightdash-sync/lightdash-sync/worker"
)

func TestAccessMapsOntoTheWorker(t *testing.T) {
	cfg, err := Parse([]byte(`
lightdash: {url: https://lightdash.example.com, token: abc}
sources: [{name: corp, type: nats, nats: {urls: [nats://127.0.0.1:4222]}}]
sync: {access: preserve-manual}
mapping:
  rules:
    - name: ld
      role_regex: '^LD-\w+-(\w+)$'
      projects: [{project: Sales}, {project: Ops, role: viewer}]
      spaces: [{project: Sales, space: Pipeline, role: editor}]
  overrides:
    - {group: Admins, name: admins, projects: [{project: Sales, role: admin}]}
`), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Mapping.Worker()
	wantRule := worker.Rule{Name: "ld", RoleRegex: `^LD-\w+-(\w+)$`,
		Projects: []worker.ProjectAccess{{Project: "Sales"}, {Project: "Ops", Role: "viewer"}},
		Spaces:   []worker.SpaceAccess{{Project: "Sales", Space: "Pipeline", Role: "editor"}}}
	if !reflect.DeepEqual(m.Rules[0], wantRule) {
		t.Errorf("rule: got %+v, want %+v", m.Rules[0], wantRule)
	}
	if got := m.Overrides[0].Projects; !reflect.DeepEqual(got, []worker.ProjectAccess{{Project: "Sales", Role: "admin"}}) {
		t.Errorf("override projects: got %+v", got)
	}
	if got := PlanOptions(cfg.Identity, cfg.Sync).Access; got != worker.AccessPreserveManual {
		t.Errorf("access mode: got %q", got)
	}
}
