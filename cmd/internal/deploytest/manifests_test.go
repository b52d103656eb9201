package deploytest

import (
	"fmt"
	"path/filepath"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Manifests are the objects of a kustomization or of a rendered chart,
// decoded strictly.
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
	PVC            *corev1.PersistentVolumeClaim
	ServiceMonitor *ServiceMonitor
	PrometheusRule *PrometheusRule
}

// ServiceMonitor is the part of the Prometheus Operator's ServiceMonitor
// the chart writes; strict decoding refuses any other field.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// PrometheusRule is the Prometheus Operator's PrometheusRule; its spec
// is a Prometheus rule file, compared with deploy/monitoring/alerts.yaml.
type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              map[string]any `json:"spec"`
}

// LoadManifests builds the kustomization in dir with kustomize itself
// (sigs.k8s.io/kustomize/api, what `kubectl apply -k` runs) and decodes
// every object it produces strictly. Before that it checks that every
// YAML file of dir and of the bases it names is listed (kustomize builds
// a file left out without a word, and it would never be applied).
func LoadManifests(dir string) (*Manifests, error) {
	if err := checkListed(dir); err != nil {
		return nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	m := &Manifests{Dir: dir}
	for _, r := range res.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		if err := m.add(fmt.Sprintf("%s: %s", dir, r.CurId()), data); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkListed runs LoadKustomization on dir and on every directory
// resource (a base) it names.
func checkListed(dir string) error {
	k, err := LoadKustomization(dir)
	if err != nil {
		return err
	}
	for _, r := range k.Resources {
		if !yamlFile(r) {
			if err := checkListed(filepath.Join(dir, r)); err != nil {
				return err
			}
		}
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
	case "v1 PersistentVolumeClaim":
		m.PVC = &corev1.PersistentVolumeClaim{}
		into = m.PVC
	case "monitoring.coreos.com/v1 ServiceMonitor":
		m.ServiceMonitor = &ServiceMonitor{}
		into = m.ServiceMonitor
	case "monitoring.coreos.com/v1 PrometheusRule":
		m.PrometheusRule = &PrometheusRule{}
		into = m.PrometheusRule
	default:
		return fmt.Errorf("%s: unexpected %s %s", path, apiVersion, kind)
	}
	if err := DecodeStrict(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
