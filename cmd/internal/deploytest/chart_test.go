package deploytest_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/deploytest"
)

var chartDir = filepath.Join(deploy, deploytest.ChartDir)

func render(t *testing.T, values string) (*deploytest.Chart, error) {
	t.Helper()
	vals, err := deploytest.ParseValues([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	return deploytest.RenderChart(context.Background(), chartDir, vals)
}

// exampleConfig is the chart's files/config.yaml with mutate applied,
// as values (config: ...) followed by extra values.
func exampleConfig(t *testing.T, mutate func(cfg map[string]any), extra string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "files", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	mutate(cfg)
	out, err := yaml.Marshal(map[string]any{"config": cfg})
	if err != nil {
		t.Fatal(err)
	}
	return string(out) + extra
}

func fileState(cfg map[string]any) {
	cfg["state"] = map[string]any{"type": "file", "path": "/var/lib/lightdash-sync/state.json"}
}

// TestChartRefuses renders values that cannot make a working release and
// wants `helm template` to fail with a message naming the value.
func TestChartRefuses(t *testing.T) {
	same := func(map[string]any) {}
	tests := []struct {
		name   string
		config func(cfg map[string]any)
		values string
		want   string
	}{
		{"ha without nats state", fileState, "", "ha.enabled needs NATS state: set config.state.type: nats"},
		{"ha with state in no nats source", func(cfg map[string]any) { cfg["state"].(map[string]any)["source"] = "corp-ldap" }, "",
			`config.state.source to name a source of type nats in config.sources (it is "corp-ldap")`},
		{"file state on no volume", fileState, "ha: {enabled: false}\n", "set persistence.enabled"},
		{"file state shared by replicas", fileState, "persistence: {enabled: true}\n", "ha.enabled needs NATS state"},
		{"admin listen set twice", func(cfg map[string]any) { cfg["admin"].(map[string]any)["listen"] = "127.0.0.1:9464" }, "",
			"config.admin.listen is set by the chart"},
		{"ha set in the config", func(cfg map[string]any) { cfg["ha"].(map[string]any)["enabled"] = false }, "",
			"config.ha.enabled is set by the chart"},
		{"memory limit unreadable", same, "resources: {limits: {memory: 0.5Gi}}\n", `resources.limits.memory "0.5Gi"`},
		{"unknown value", same, "replicas: 3\n", "replicas"},
		{"unknown mode", same, "mode: statefulset\n", "mode"},
		{"created secret without a value", same, "secrets: {create: true, values: {lightdash-token: t}}\n",
			`secrets.values has no "admin-token"`},
		{"network policy admitting everyone", same, "networkPolicy: {from: []}\n", "networkPolicy.from is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, exampleConfig(t, tt.config, tt.values))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestChartFileState: one replica keeping its state file on a claim.
func TestChartFileState(t *testing.T) {
	ch, err := render(t, exampleConfig(t, fileState, "ha: {enabled: false}\npersistence: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.PVC == nil || ch.Deployment.Spec.Strategy.Type != "Recreate" || *ch.Deployment.Spec.Replicas != 1 {
		t.Fatalf("PVC %v, strategy %s, replicas %d: want a claim, Recreate, 1", ch.PVC != nil, ch.Deployment.Spec.Strategy.Type, *ch.Deployment.Spec.Replicas)
	}
	mounted := false
	for _, vm := range ch.Deployment.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (vm.MountPath == "/var/lib/lightdash-sync" && !vm.ReadOnly)
	}
	if !mounted {
		t.Fatal("/var/lib/lightdash-sync is not mounted writable")
	}
}

func TestChartGoMemLimit(t *testing.T) {
	for limit, want := range map[string]string{"512Mi": "409MiB", "1Gi": "819MiB", "2G": "1525MiB", "1073741824": "819MiB"} {
		ch, err := render(t, "resources: {limits: {memory: "+limit+"}}\n")
		if err != nil {
			t.Fatal(err)
		}
		env := ch.Deployment.Spec.Template.Spec.Containers[0].Env
		if len(env) != 1 || env[0].Name != "GOMEMLIMIT" || env[0].Value != want {
			t.Errorf("limit %s: env %v, want GOMEMLIMIT=%s", limit, env, want)
		}
	}
}

// TestChartSecrets: files from other Secrets and keys, or a Secret the
// chart creates; a file set to null is not mounted.
func TestChartSecrets(t *testing.T) {
	ch, err := render(t, `secrets:
  name: corp
  files:
    lightdash-token: {secretName: ld, key: token}
    nats.creds: null
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range ch.Deployment.Spec.Template.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			for _, it := range s.Secret.Items {
				got = append(got, s.Secret.Name+"/"+it.Key+"->"+it.Path)
			}
		}
	}
	want := "corp/admin-token->admin-token corp/ldap-bind-password->ldap-bind-password ld/token->lightdash-token"
	if strings.Join(got, " ") != want {
		t.Fatalf("projected %v, want %s", got, want)
	}

	ch, err = render(t, "secrets: {create: true, values: {lightdash-token: a, ldap-bind-password: b, nats.creds: c, admin-token: d}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Secret == nil || ch.Secret.Name != "lightdash-sync" || ch.Secret.StringData["nats.creds"] != "c" {
		t.Fatalf("created Secret %+v, want lightdash-sync holding the values", ch.Secret)
	}
}

func TestChartNames(t *testing.T) {
	ch, err := render(t, "fullnameOverride: ldsync\n")
	if err != nil {
		t.Fatal(err)
	}
	d := ch.Deployment
	if d.Name != "ldsync" || ch.ConfigMap.Name != "ldsync" || d.Spec.Template.Spec.ServiceAccountName != "ldsync" {
		t.Fatalf("names %s %s %s, want ldsync", d.Name, ch.ConfigMap.Name, d.Spec.Template.Spec.ServiceAccountName)
	}
	for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"} {
		if d.Labels[l] == "" {
			t.Errorf("Deployment has no label %s: %v", l, d.Labels)
		}
	}
}

// readmeValues is the values file of the README's Helm section.
var readmeValues = regexp.MustCompile("(?s)<!-- helm-values -->\\s*```yaml\\n(.*?)```")

// TestREADMEHelmExample renders the README's Helm example as a newcomer
// would install it and wants a valid release carrying their configuration.
func TestREADMEHelmExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := readmeValues.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no <!-- helm-values --> yaml block")
	}
	ch, err := render(t, string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile(filepath.Join(deploy, "kubernetes", "secret.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// One replica with its state on a claim: the daemon's checks, no
	// comparison with the base (which runs two replicas on NATS).
	if err := deploytest.CheckRendered(ch, deploy, deploytest.ChartMode{Name: "readme"}, nil, secret, bin); err != nil {
		t.Fatal(err)
	}
	// The configuration given, plus the one key the chart sets.
	var given struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(m[1], &given); err != nil {
		t.Fatal(err)
	}
	given.Config["admin"].(map[string]any)["listen"] = "0.0.0.0:9464"
	var got map[string]any
	if err := yaml.Unmarshal([]byte(ch.ConfigMap.Data["config.yaml"]), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, given.Config) {
		t.Fatalf("rendered configuration\n%s\nwant the README's\n%s", ch.ConfigMap.Data["config.yaml"], m[1])
	}
}
