package deploytest

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"
)

// field is one essential field of a workload, from the chart and from
// the Kustomize manifests.
type field struct {
	name      string
	got, want any
}

// compareWorkloads wants the chart's workload to be the Kustomize one in
// everything that decides how it runs: image, args, ports, probes,
// security contexts, resources and env, volumes and the Secret keys
// behind every *_file, the configuration, and the objects around the pod.
// Names of labels and the pod's own labels may differ.
func compareWorkloads(chart, kust *Manifests, mode ChartMode) error {
	cp, kp := podSpecOf(chart), podSpecOf(kust)
	if cp == nil || kp == nil {
		return fmt.Errorf("compare with %s: a workload is missing (chart %v, kustomize %v)", kust.Dir, cp != nil, kp != nil)
	}
	cc, kc := &cp.Containers[0], &kp.Containers[0]
	fields := []field{
		{"container name", cc.Name, kc.Name},
		{"image", cc.Image, kc.Image},
		{"imagePullPolicy", cc.ImagePullPolicy, kc.ImagePullPolicy},
		{"command", cc.Command, kc.Command},
		{"args", cc.Args, kc.Args},
		{"ports", cc.Ports, kc.Ports},
		{"livenessProbe", cc.LivenessProbe, kc.LivenessProbe},
		{"readinessProbe", cc.ReadinessProbe, kc.ReadinessProbe},
		{"env", cc.Env, kc.Env},
		{"resources", cc.Resources, kc.Resources},
		{"container securityContext", cc.SecurityContext, kc.SecurityContext},
		{"pod securityContext", cp.SecurityContext, kp.SecurityContext},
		{"volumeMounts", cc.VolumeMounts, kc.VolumeMounts},
		{"serviceAccountName", cp.ServiceAccountName, kp.ServiceAccountName},
		{"automountServiceAccountToken", cp.AutomountServiceAccountToken, kp.AutomountServiceAccountToken},
		{"restartPolicy", cp.RestartPolicy, kp.RestartPolicy},
		{"terminationGracePeriodSeconds", cp.TerminationGracePeriodSeconds, kp.TerminationGracePeriodSeconds},
		{"volumes other than secrets", volumesBut(cp, "secrets"), volumesBut(kp, "secrets")},
	}
	files, err := secretFields(chart, kust, cp, kp, mode)
	if err != nil {
		return err
	}
	fields = append(fields, files...)
	fields = append(fields, aroundPod(chart, kust, mode)...)
	for _, f := range fields {
		if !equality.Semantic.DeepEqual(f.got, f.want) {
			return fmt.Errorf("%s differs from %s:\nchart:\n%s\nkustomize:\n%s", f.name, kust.Dir, asYAML(f.got), asYAML(f.want))
		}
	}
	return nil
}

// secretFields compares where each *_file of the configuration comes
// from (Secret and key), the secret files' mode, and the configuration.
func secretFields(chart, kust *Manifests, cp, kp *corev1.PodSpec, mode ChartMode) ([]field, error) {
	ccfg, cfiles, err := configOf(chart, cp)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	kcfg, kfiles, err := configOf(kust, kp)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	if mode.Config != nil {
		mode.Config(kcfg)
	}
	return []field{
		{"secret files (config key: secret/key)", cfiles, kfiles},
		{"secret files' mode", secretMode(cp), secretMode(kp)},
		{"configuration", ccfg, kcfg},
	}, nil
}

// aroundPod are the fields of the objects that run and serve the pod.
func aroundPod(chart, kust *Manifests, mode ChartMode) []field {
	var fs []field
	if c, k := chart.CronJob, kust.CronJob; c != nil && k != nil {
		cs, ks := c.Spec, k.Spec
		cs.JobTemplate, ks.JobTemplate = k.Spec.JobTemplate, k.Spec.JobTemplate
		fs = append(fs, field{"CronJob spec", cs, ks},
			field{"Job backoffLimit", c.Spec.JobTemplate.Spec.BackoffLimit, k.Spec.JobTemplate.Spec.BackoffLimit},
			field{"Job activeDeadlineSeconds", c.Spec.JobTemplate.Spec.ActiveDeadlineSeconds, k.Spec.JobTemplate.Spec.ActiveDeadlineSeconds})
	}
	if c, k := chart.Deployment, kust.Deployment; c != nil && k != nil {
		fs = append(fs, field{"Deployment strategy", c.Spec.Strategy, k.Spec.Strategy},
			field{"Deployment revisionHistoryLimit", c.Spec.RevisionHistoryLimit, k.Spec.RevisionHistoryLimit})
		if mode.HA {
			fs = append(fs, field{"replicas", c.Spec.Replicas, k.Spec.Replicas},
				field{"topology spread", spreads(c.Spec.Template.Spec), spreads(k.Spec.Template.Spec)})
		}
	}
	if c, k := chart.Service, kust.Service; c != nil && k != nil {
		fs = append(fs, field{"Service ports", c.Spec.Ports, k.Spec.Ports},
			field{"Service type", c.Spec.Type, k.Spec.Type},
			field{"Service publishNotReadyAddresses", c.Spec.PublishNotReadyAddresses, k.Spec.PublishNotReadyAddresses},
			field{"Service annotations", c.Annotations, k.Annotations})
	}
	if c, k := chart.PDB, kust.PDB; c != nil || k != nil {
		fs = append(fs, field{"PodDisruptionBudget", c != nil, k != nil})
		if c != nil && k != nil {
			fs = append(fs, field{"PodDisruptionBudget maxUnavailable", c.Spec.MaxUnavailable, k.Spec.MaxUnavailable})
		}
	}
	if c, k := chart.NetworkPolicy, kust.NetworkPolicy; c != nil && k != nil {
		fs = append(fs, field{"NetworkPolicy ingress", c.Spec.Ingress, k.Spec.Ingress},
			field{"NetworkPolicy policyTypes", c.Spec.PolicyTypes, k.Spec.PolicyTypes})
	}
	if c, k := chart.ServiceAccount, kust.ServiceAccount; c != nil && k != nil {
		fs = append(fs, field{"ServiceAccount automountServiceAccountToken", c.AutomountServiceAccountToken, k.AutomountServiceAccountToken})
	}
	return fs
}

func podSpecOf(m *Manifests) *corev1.PodSpec {
	switch {
	case m.Deployment != nil:
		return &m.Deployment.Spec.Template.Spec
	case m.CronJob != nil:
		return &m.CronJob.Spec.JobTemplate.Spec.Template.Spec
	}
	return nil
}

// configOf reads the configuration the container gets (the ConfigMap key
// --config names) as a YAML map, and where each *_file comes from.
func configOf(m *Manifests, spec *corev1.PodSpec) (map[string]any, map[string]string, error) {
	c := &spec.Containers[0]
	path := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			path = c.Args[i+1]
		}
	}
	vol, key, err := mountedFile(spec, c, path)
	if err != nil || vol.ConfigMap == nil || m.ConfigMap == nil {
		return nil, nil, fmt.Errorf("--config %q is not a mounted ConfigMap key: %v", path, err)
	}
	data := m.ConfigMap.Data[key]
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(data), &cfg); err != nil {
		return nil, nil, fmt.Errorf("ConfigMap %s: %w", key, err)
	}
	loaded, err := ParseConfig([]byte(data), envOf(c))
	if err != nil {
		return nil, nil, err
	}
	files := map[string]string{}
	for k, p := range loaded.Files {
		vol, key, err := mountedFile(spec, c, p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", k, p, err)
		}
		if vol.Secret == nil {
			return nil, nil, fmt.Errorf("%s %s is not from a Secret", k, p)
		}
		files[k] = p + " <- " + vol.Secret.SecretName + "/" + key
	}
	return cfg, files, nil
}

// secretMode is the file mode of the secrets volume.
func secretMode(spec *corev1.PodSpec) *int32 {
	for _, v := range spec.Volumes {
		switch {
		case v.Name != "secrets":
		case v.Secret != nil:
			return v.Secret.DefaultMode
		case v.Projected != nil:
			return v.Projected.DefaultMode
		}
	}
	return nil
}

func volumesBut(spec *corev1.PodSpec, name string) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range spec.Volumes {
		if v.Name != name {
			out = append(out, v)
		}
	}
	return out
}

// spreads are the topology spread constraints without their label
// selectors (the chart selects on its instance label too).
func spreads(spec corev1.PodSpec) []corev1.TopologySpreadConstraint {
	out := make([]corev1.TopologySpreadConstraint, 0, len(spec.TopologySpreadConstraints))
	for _, t := range spec.TopologySpreadConstraints {
		t.LabelSelector = nil
		out = append(out, t)
	}
	return out
}

func asYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(out)
}
