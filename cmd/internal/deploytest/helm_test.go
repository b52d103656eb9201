package deploytest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"sigs.k8s.io/yaml"
)

// ChartDir is the Helm chart, relative to the deploy directory.
const ChartDir = "helm/lightdash-sync"

// ReleaseName and ReleaseNamespace are what the chart is rendered as: the
// names the Kustomize base uses, so the two can be compared object by object.
const (
	ReleaseName      = "lightdash-sync"
	ReleaseNamespace = "lightdash-sync"
)

// Chart is a chart rendered by Helm's own engine, as `helm template` does.
type Chart struct {
	*Manifests
	// Notes is the rendered NOTES.txt.
	Notes string
}

// ParseValues reads a values file (YAML) into the form Helm takes.
func ParseValues(data []byte) (map[string]any, error) {
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return vals, nil
}

// LintChart runs `helm lint --strict` on the chart in dir with vals:
// warnings are errors.
func LintChart(dir string, vals map[string]any) error {
	l := action.NewLint()
	l.Strict = true
	l.Namespace = ReleaseNamespace
	res := l.Run([]string{dir}, vals)
	if len(res.Errors) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(res.Messages))
	for _, m := range res.Messages {
		msgs = append(msgs, m.Error())
	}
	return fmt.Errorf("helm lint %s: %w (%s)", dir, errors.Join(res.Errors...), strings.Join(msgs, "; "))
}

// RenderChart loads the chart in dir and renders it with vals the way
// `helm template` does (a client-side dry-run install: values.schema.json
// checked, `fail` honoured, NOTES.txt rendered), then decodes every
// object strictly into the Kubernetes API types.
func RenderChart(ctx context.Context, dir string, vals map[string]any) (*Chart, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = ReleaseName
	install.Namespace = ReleaseNamespace
	r, err := install.RunWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("helm template %s: %w", dir, err)
	}
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("helm template %s: unexpected release type %T", dir, r)
	}
	m := &Manifests{Dir: dir}
	docs := releaseutil.SplitManifests(rel.Manifest)
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(names))
	for _, name := range names {
		if err := m.add(filepath.Join(dir, sourceOf(docs[name])), []byte(docs[name])); err != nil {
			return nil, err
		}
	}
	return &Chart{Manifests: m, Notes: rel.Info.Notes}, nil
}

// sourceOf is the template a rendered document came from ("# Source: ...").
func sourceOf(doc string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(doc), "\n")
	if src, ok := strings.CutPrefix(first, "# Source: "); ok {
		return src
	}
	return "?"
}

// readValuesFile reads a values file from disk.
func readValuesFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseValues(data)
}
