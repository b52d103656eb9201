package deploytest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"sigs.k8s.io/yaml"
)

// ChartMode is one way of installing the chart and the Kustomize
// manifests that install the same workload.
type ChartMode struct {
	Name string
	// Values are laid over the chart's values.yaml, as `-f` does.
	Values string
	// Kustomize is the kustomization under deploy/kubernetes to compare with.
	Kustomize string
	// HA: several replicas electing a leader (daemon mode).
	HA bool
	// Config changes the Kustomize configuration (as a YAML map) into
	// what this mode should render; nil when they are the same.
	Config func(cfg map[string]any)
	// Monitoring: the ServiceMonitor and PrometheusRule are wanted.
	Monitoring bool
}

// ChartModes are the modes CheckHelm renders the chart in.
var ChartModes = []ChartMode{
	{Name: "default (ha)", Kustomize: "base", HA: true},
	{Name: "single", Values: "ha: {enabled: false}\n", Kustomize: "base",
		Config: func(cfg map[string]any) { delete(cfg["ha"].(map[string]any), "enabled") }},
	{Name: "cronjob", Values: "mode: cronjob\n", Kustomize: "cronjob"},
	{Name: "monitoring", Values: "serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\n", Kustomize: "base", HA: true, Monitoring: true},
}

// CheckHelm checks the Helm chart under deploy/helm: in every ChartMode
// it lints (strict) and renders with Helm's own engine, every object
// decodes strictly, the workload passes the checks of the Kustomize
// manifests, and its essential fields equal those of the Kustomize
// manifests of that mode. The PrometheusRule holds alerts.yaml.
func CheckHelm(deploy string, b *Binary) error {
	if err := checkAlertsCopy(deploy); err != nil {
		return err
	}
	secret, err := os.ReadFile(filepath.Join(deploy, "kubernetes", "secret.example.yaml"))
	if err != nil {
		return err
	}
	kust := map[string]*Manifests{}
	for _, k := range []string{"base", "cronjob"} {
		if kust[k], err = LoadManifests(filepath.Join(deploy, "kubernetes", k)); err != nil {
			return err
		}
	}
	for _, mode := range ChartModes {
		if err := checkChartMode(deploy, mode, kust[mode.Kustomize], secret, b); err != nil {
			return fmt.Errorf("helm chart, %s: %w", mode.Name, err)
		}
	}
	return nil
}

func checkChartMode(deploy string, mode ChartMode, kust *Manifests, secret []byte, b *Binary) error {
	dir := filepath.Join(deploy, ChartDir)
	vals, err := ParseValues([]byte(mode.Values))
	if err != nil {
		return err
	}
	if err := LintChart(dir, vals); err != nil {
		return err
	}
	ch, err := RenderChart(context.Background(), dir, vals)
	if err != nil {
		return err
	}
	if ch.Notes == "" {
		return fmt.Errorf("NOTES.txt renders empty")
	}
	return CheckRendered(ch, deploy, mode, kust, secret, b)
}

// CheckRendered checks a rendered chart in one mode against the Kustomize
// manifests kust of that mode, if any (secret is the example Secret, stubbing the
// one the chart refers to when it creates none).
func CheckRendered(ch *Chart, deploy string, mode ChartMode, kust *Manifests, secret []byte, b *Binary) error {
	m := ch.Manifests
	if m.Secret == nil {
		if err := m.add("kubernetes/secret.example.yaml", secret); err != nil {
			return err
		}
	}
	if mode.Kustomize == "cronjob" {
		if err := checkCronJob(m, b); err != nil {
			return err
		}
	} else if err := checkDaemon(m, b, mode.HA); err != nil {
		return err
	}
	if kust != nil {
		if err := compareWorkloads(m, kust, mode); err != nil {
			return err
		}
	}
	if mode.Monitoring && (m.ServiceMonitor == nil || m.PrometheusRule == nil) {
		return fmt.Errorf("no ServiceMonitor or PrometheusRule")
	}
	return checkMonitoring(m, deploy)
}

// checkAlertsCopy wants the chart's files/alerts.yaml (Helm reads only
// files inside the chart) equal to deploy/monitoring/alerts.yaml.
func checkAlertsCopy(deploy string) error {
	want, err := os.ReadFile(filepath.Join(deploy, "monitoring", "alerts.yaml"))
	if err != nil {
		return err
	}
	got, err := os.ReadFile(filepath.Join(deploy, ChartDir, "files", "alerts.yaml"))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s/files/alerts.yaml differs from monitoring/alerts.yaml: copy it again (cp deploy/monitoring/alerts.yaml deploy/%s/files/)", ChartDir, ChartDir)
	}
	return nil
}

// checkMonitoring wants the ServiceMonitor to scrape the Service's
// metrics port and the PrometheusRule to hold the rules of alerts.yaml.
func checkMonitoring(m *Manifests, deploy string) error {
	if sm := m.ServiceMonitor; sm != nil {
		if m.Service == nil {
			return fmt.Errorf("ServiceMonitor without a Service")
		}
		if ok, _ := labelsSelect(sm.Spec.Selector.MatchLabels, m.Service.Labels); !ok {
			return fmt.Errorf("ServiceMonitor: selector %v does not select the Service %v", sm.Spec.Selector.MatchLabels, m.Service.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != m.Service.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
			return fmt.Errorf("ServiceMonitor: endpoints %+v, want port %s path /metrics", sm.Spec.Endpoints, m.Service.Spec.Ports[0].Name)
		}
	}
	if pr := m.PrometheusRule; pr != nil {
		data, err := os.ReadFile(filepath.Join(deploy, "monitoring", "alerts.yaml"))
		if err != nil {
			return err
		}
		var want map[string]any
		if err := yaml.Unmarshal(data, &want); err != nil {
			return err
		}
		if !reflect.DeepEqual(pr.Spec, want) {
			return fmt.Errorf("PrometheusRule: spec differs from monitoring/alerts.yaml")
		}
	}
	return nil
}
