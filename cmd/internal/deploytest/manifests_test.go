package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Manifests are the objects of a kustomization, decoded strictly.
type Manifests struct {
	Dir            string
	Deployment     *appsv1.Deployment
	CronJob        *batchv1.CronJob
	ConfigMap      *corev1.ConfigMap
	Secret         *corev1.Secret
	Service        *corev1.Service
	ServiceAccount *corev1.ServiceAccount
	PDB            *policyv1.PodDisruptionBudget
	NetworkPolicy  *networkingv1.NetworkPolicy
}

// LoadManifests decodes every resource of the kustomization in dir,
// following directory resources (bases) first, so an overlay sees the
// objects it builds on.
func LoadManifests(dir string) (*Manifests, error) {
	m := &Manifests{Dir: dir}
	if err := m.load(dir); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manifests) load(dir string) error {
	k, err := LoadKustomization(dir)
	if err != nil {
		return err
	}
	for _, r := range k.Resources {
		path := filepath.Join(dir, r)
		if !yamlFile(r) {
			if err := m.load(path); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := m.add(path, data); err != nil {
			return err
		}
	}
	for i, p := range k.Patches {
		data := []byte(p.Patch)
		if p.Path != "" {
			if data, err = os.ReadFile(filepath.Join(dir, p.Path)); err != nil {
				return err
			}
		}
		if err := m.patch(data); err != nil {
			return fmt.Errorf("%s/kustomization.yaml: patches[%d]: %w", dir, i, err)
		}
	}
	return nil
}

// patch applies a strategic-merge delete patch, the only kind these
// overlays use; any other patch is refused rather than ignored, so the
// checks never look at objects that differ from what kustomize builds.
func (m *Manifests) patch(data []byte) error {
	var p struct {
		Patch    string `json:"$patch"`
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		return err
	}
	if p.Patch != "delete" {
		return fmt.Errorf("only $patch: delete patches are understood by this check")
	}
	name := func(o metav1.Object) bool {
		return o != nil && !reflect.ValueOf(o).IsNil() && o.GetName() == p.Metadata.Name
	}
	switch {
	case p.Kind == "Deployment" && name(m.Deployment):
		m.Deployment = nil
	case p.Kind == "Service" && name(m.Service):
		m.Service = nil
	case p.Kind == "PodDisruptionBudget" && name(m.PDB):
		m.PDB = nil
	case p.Kind == "CronJob" && name(m.CronJob):
		m.CronJob = nil
	default:
		return fmt.Errorf("delete patch: no %s %q to delete", p.Kind, p.Metadata.Name)
	}
	return nil
}

func (m *Manifests) add(path string, data []byte) error {
	apiVersion, kind, err := kindOf(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var into any
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		m.Deployment = &appsv1.Deployment{}
		into = m.Deployment
	case "batch/v1 CronJob":
		m.CronJob = &batchv1.CronJob{}
		into = m.CronJob
	case "v1 ConfigMap":
		m.ConfigMap = &corev1.ConfigMap{}
		into = m.ConfigMap
	case "v1 Secret":
		m.Secret = &corev1.Secret{}
		into = m.Secret
	case "v1 Service":
		m.Service = &corev1.Service{}
		into = m.Service
	case "v1 ServiceAccount":
		m.ServiceAccount = &corev1.ServiceAccount{}
		into = m.ServiceAccount
	case "policy/v1 PodDisruptionBudget":
		m.PDB = &policyv1.PodDisruptionBudget{}
		into = m.PDB
	case "networking.k8s.io/v1 NetworkPolicy":
		m.NetworkPolicy = &networkingv1.NetworkPolicy{}
		into = m.NetworkPolicy
	default:
		return fmt.Errorf("%s: unexpected %s %s", path, apiVersion, kind)
	}
	if err := DecodeStrict(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
