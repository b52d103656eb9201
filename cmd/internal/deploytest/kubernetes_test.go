package deploytest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// DecodeStrict decodes one Kubernetes manifest into a typed API object
// the way the API server does with strict field validation
// (`kubectl apply --validate=strict`): field names match case-sensitively
// (encoding/json alone would take stringdata for stringData), and an
// unknown or repeated field is an error, so a manifest cannot drift into
// something the server would silently drop.
func DecodeStrict(data []byte, into any) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	strict, err := kjson.UnmarshalStrict(js, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return fmt.Errorf("decode %T: %w", into, err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("decode %T: %w", into, errors.Join(strict...))
	}
	return nil
}

// Kustomization is the part of kustomize's Kustomization these manifests
// use; decoding into it strictly catches a misspelt key.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	} `json:"labels,omitempty"`
	Patches []struct {
		Path  string `json:"path,omitempty"`
		Patch string `json:"patch,omitempty"`
	} `json:"patches,omitempty"`
}

// LoadKustomization reads dir/kustomization.yaml and checks that every
// resource it lists exists and that every YAML file in dir is listed (a
// manifest left out would never be applied).
func LoadKustomization(dir string) (*Kustomization, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k Kustomization
	if err := DecodeStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("%s/kustomization.yaml: apiVersion/kind %s/%s, want kustomize.config.k8s.io/v1beta1 Kustomization", dir, k.APIVersion, k.Kind)
	}
	listed := map[string]bool{"kustomization.yaml": true}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			return nil, fmt.Errorf("%s/kustomization.yaml: resource %s: %w", dir, r, err)
		}
		listed[r] = true
	}
	for _, p := range k.Patches {
		if p.Path != "" {
			listed[p.Path] = true
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			return nil, fmt.Errorf("%s is not listed in %s/kustomization.yaml", f, dir)
		}
	}
	return &k, nil
}

// kindOf reads apiVersion and kind, to pick the Go type to decode into.
func kindOf(data []byte) (apiVersion, kind string, err error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return "", "", err
	}
	return tm.APIVersion, tm.Kind, nil
}

// yamlFile reports whether a resource entry is a file (not a directory).
func yamlFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}
