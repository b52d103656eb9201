package deploytest

import (
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CheckKubernetes checks deploy/kubernetes: the base (the daemon) and the
// cronjob overlay decode strictly into the API types, and agree with each
// other and with the binary.
func CheckKubernetes(deploy string, b *Binary) error {
	secret, err := os.ReadFile(filepath.Join(deploy, "kubernetes", "secret.example.yaml"))
	if err != nil {
		return err
	}
	base, err := LoadManifests(filepath.Join(deploy, "kubernetes", "base"))
	if err != nil {
		return err
	}
	// The Secret is an example beside the kustomizations, never applied
	// by them (that would overwrite the real one with placeholders); the
	// pods must still find in it every key they read.
	if base.Secret != nil {
		return fmt.Errorf("kubernetes/base: the base creates a Secret; applying it would overwrite the real one")
	}
	if err := base.add("kubernetes/secret.example.yaml", secret); err != nil {
		return err
	}
	if err := checkBase(base, b); err != nil {
		return fmt.Errorf("kubernetes/base: %w", err)
	}
	cron, err := LoadManifests(filepath.Join(deploy, "kubernetes", "cronjob"))
	if err != nil {
		return err
	}
	if err := cron.add("kubernetes/secret.example.yaml", secret); err != nil {
		return err
	}
	if err := checkCronJob(cron, b); err != nil {
		return fmt.Errorf("kubernetes/cronjob: %w", err)
	}
	return nil
}

func checkBase(m *Manifests, b *Binary) error {
	return checkDaemon(m, b, true)
}

// checkDaemon checks the objects of the daemon: the Deployment and what
// serves it. ha: several replicas electing a leader; else exactly one.
func checkDaemon(m *Manifests, b *Binary, ha bool) error {
	for name, missing := range map[string]bool{"Deployment": m.Deployment == nil, "ConfigMap": m.ConfigMap == nil, "Secret": m.Secret == nil,
		"Service": m.Service == nil, "PodDisruptionBudget": m.PDB == nil, "ServiceAccount": m.ServiceAccount == nil,
		"NetworkPolicy": m.NetworkPolicy == nil} {
		if missing {
			return fmt.Errorf("no %s", name)
		}
	}
	d := m.Deployment
	if ha && (d.Spec.Replicas == nil || *d.Spec.Replicas < 2) {
		return fmt.Errorf("Deployment: want at least 2 replicas for leader election")
	}
	if !ha && (d.Spec.Replicas == nil || *d.Spec.Replicas != 1) {
		return fmt.Errorf("Deployment: without leader election, want exactly 1 replica")
	}
	pod := &d.Spec.Template
	if d.Spec.Selector == nil {
		return fmt.Errorf("Deployment: no selector")
	}
	sel, err := labelsSelect(d.Spec.Selector.MatchLabels, pod.Labels)
	if err != nil || !sel {
		return fmt.Errorf("Deployment: selector %v does not select the pod labels %v", d.Spec.Selector.MatchLabels, pod.Labels)
	}
	c, args, err := checkPod(m, &pod.Spec, b, "run")
	if err != nil {
		return fmt.Errorf("Deployment: %w", err)
	}
	cfg := args.cfg
	if ha && (!cfg.HA.Enabled || cfg.State.Type != "nats") {
		return fmt.Errorf("Deployment: %d replicas need ha.enabled and state.type nats in the ConfigMap", *d.Spec.Replicas)
	}
	host, port, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil {
		return fmt.Errorf("ConfigMap: admin.listen %q: %w", cfg.Admin.Listen, err)
	}
	if host != "0.0.0.0" && host != "" && host != "::" {
		return fmt.Errorf("ConfigMap: admin.listen %q binds %s: the kubelet's probes and Prometheus cannot reach it; use 0.0.0.0:%s", cfg.Admin.Listen, host, port)
	}
	adminPort := portByName(c, "admin")
	if fmt.Sprint(adminPort) != port {
		return fmt.Errorf("Deployment: containerPort admin is %d, admin.listen port is %s", adminPort, port)
	}
	for _, p := range []struct {
		name, path string
		probe      *corev1.Probe
	}{{"livenessProbe", "/healthz", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			return fmt.Errorf("Deployment: no %s httpGet", p.name)
		}
		if p.probe.HTTPGet.Path != p.path {
			return fmt.Errorf("Deployment: %s path %s, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if resolvePort(c, p.probe.HTTPGet.Port) != adminPort {
			return fmt.Errorf("Deployment: %s port %s is not the admin port %d", p.name, p.probe.HTTPGet.Port.String(), adminPort)
		}
	}
	svc := m.Service
	if ok, _ := labelsSelect(svc.Spec.Selector, pod.Labels); !ok || len(svc.Spec.Selector) == 0 {
		return fmt.Errorf("Service: selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
	}
	if len(svc.Spec.Ports) == 0 || resolvePort(c, svc.Spec.Ports[0].TargetPort) != adminPort {
		return fmt.Errorf("Service: targetPort is not the admin port %d", adminPort)
	}
	if m.PDB.Spec.Selector == nil {
		return fmt.Errorf("PodDisruptionBudget: no selector")
	}
	if ok, _ := labelsSelect(m.PDB.Spec.Selector.MatchLabels, pod.Labels); !ok {
		return fmt.Errorf("PodDisruptionBudget: selector %v does not select the pods %v", m.PDB.Spec.Selector.MatchLabels, pod.Labels)
	}
	if m.PDB.Spec.MinAvailable == nil && m.PDB.Spec.MaxUnavailable == nil {
		return fmt.Errorf("PodDisruptionBudget: set minAvailable or maxUnavailable")
	}
	if err := checkNetworkPolicy(m.NetworkPolicy, pod.Labels, c, adminPort); err != nil {
		return fmt.Errorf("NetworkPolicy: %w", err)
	}
	return nil
}

// checkNetworkPolicy wants the pods' ingress restricted: the policy
// selects them, covers Ingress, and every rule names its sources (a rule
// without from admits everyone) and only the admin port.
func checkNetworkPolicy(np *networkingv1.NetworkPolicy, podLabels map[string]string, c *corev1.Container, adminPort int32) error {
	if ok, _ := labelsSelect(np.Spec.PodSelector.MatchLabels, podLabels); !ok || len(np.Spec.PodSelector.MatchLabels) == 0 {
		return fmt.Errorf("podSelector %v does not select the pods %v", np.Spec.PodSelector.MatchLabels, podLabels)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		return fmt.Errorf("policyTypes %v leave ingress open", np.Spec.PolicyTypes)
	}
	for i, r := range np.Spec.Ingress {
		if len(r.From) == 0 {
			return fmt.Errorf("ingress[%d] has no from: it admits every source", i)
		}
		if len(r.Ports) == 0 {
			return fmt.Errorf("ingress[%d] has no ports: it opens every port", i)
		}
		for _, p := range r.Ports {
			if p.Port == nil || resolvePort(c, *p.Port) != adminPort {
				return fmt.Errorf("ingress[%d] opens a port that is not the admin port %d", i, adminPort)
			}
		}
	}
	return nil
}

func checkCronJob(m *Manifests, b *Binary) error {
	if m.CronJob == nil {
		return fmt.Errorf("no CronJob")
	}
	if m.Deployment != nil {
		return fmt.Errorf("the overlay still holds the Deployment: the daemon and the CronJob would write at once")
	}
	cj := m.CronJob
	if cj.Spec.ConcurrencyPolicy != "Forbid" {
		return fmt.Errorf("CronJob: concurrencyPolicy %q, want Forbid so two runs never write at once", cj.Spec.ConcurrencyPolicy)
	}
	if _, err := cronSchedule(cj.Spec.Schedule); err != nil {
		return fmt.Errorf("CronJob: schedule: %w", err)
	}
	pod := &cj.Spec.JobTemplate.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		return fmt.Errorf("CronJob: restartPolicy %q", pod.RestartPolicy)
	}
	if _, _, err := checkPod(m, pod, b, "reconcile"); err != nil {
		return fmt.Errorf("CronJob: %w", err)
	}
	return nil
}

type podArgs struct {
	cfg *LoadedConfig
}

// checkPod checks the one container of a pod: runs the wanted subcommand
// with flags the binary has, reads the ConfigMap's configuration where
// --config points, finds every *_file secret mounted from the Secret,
// and is locked down.
func checkPod(m *Manifests, spec *corev1.PodSpec, b *Binary, subcommand string) (*corev1.Container, podArgs, error) {
	if m.ConfigMap == nil || m.Secret == nil {
		return nil, podArgs{}, fmt.Errorf("the pods need the ConfigMap and the Secret")
	}
	if len(spec.Containers) != 1 {
		return nil, podArgs{}, fmt.Errorf("want one container, got %d", len(spec.Containers))
	}
	c := &spec.Containers[0]
	if len(c.Command) > 0 {
		return nil, podArgs{}, fmt.Errorf("container sets command %v: the image's ENTRYPOINT is the binary; use args", c.Command)
	}
	vals, err := b.CheckArgs(c.Args)
	if err != nil {
		return nil, podArgs{}, fmt.Errorf("args %v: %w", c.Args, err)
	}
	if c.Args[0] != subcommand {
		return nil, podArgs{}, fmt.Errorf("runs %q, want %q", c.Args[0], subcommand)
	}
	if spec.ServiceAccountName != "" && (m.ServiceAccount == nil || m.ServiceAccount.Name != spec.ServiceAccountName) {
		return nil, podArgs{}, fmt.Errorf("serviceAccountName %q is not in the kustomization", spec.ServiceAccountName)
	}
	// The configuration: --config must be a key of the mounted ConfigMap.
	cfgPath := vals["config"]
	if cfgPath == "" {
		return nil, podArgs{}, fmt.Errorf("args set no --config")
	}
	vol, key, err := mountedFile(spec, c, cfgPath)
	if err != nil {
		return nil, podArgs{}, fmt.Errorf("--config %s: %w", cfgPath, err)
	}
	if vol.ConfigMap == nil || vol.ConfigMap.Name != m.ConfigMap.Name {
		return nil, podArgs{}, fmt.Errorf("--config %s is not in ConfigMap %s", cfgPath, m.ConfigMap.Name)
	}
	data, ok := m.ConfigMap.Data[key]
	if !ok {
		return nil, podArgs{}, fmt.Errorf("--config %s: ConfigMap %s has no key %q", cfgPath, m.ConfigMap.Name, key)
	}
	cfg, err := ParseConfig([]byte(data), envOf(c))
	if err != nil {
		return nil, podArgs{}, fmt.Errorf("ConfigMap %s key %s: %w", m.ConfigMap.Name, key, err)
	}
	// Every *_file: a key of the mounted Secret.
	for k, p := range cfg.Files {
		vol, key, err := mountedFile(spec, c, p)
		if err != nil {
			return nil, podArgs{}, fmt.Errorf("ConfigMap %s: %s %s: %w", m.ConfigMap.Name, k, p, err)
		}
		if vol.Secret == nil || vol.Secret.SecretName != m.Secret.Name {
			return nil, podArgs{}, fmt.Errorf("ConfigMap: %s %s is not mounted from Secret %s", k, p, m.Secret.Name)
		}
		_, inData := m.Secret.Data[key]
		_, inString := m.Secret.StringData[key]
		if !inData && !inString {
			return nil, podArgs{}, fmt.Errorf("ConfigMap: %s reads %s, but Secret %s has no key %q", k, p, m.Secret.Name, key)
		}
	}
	if err := checkLockedDown(spec, c); err != nil {
		return nil, podArgs{}, err
	}
	return c, podArgs{cfg: cfg}, nil
}

// checkLockedDown wants the restricted Pod Security Standard and a
// bounded container.
func checkLockedDown(spec *corev1.PodSpec, c *corev1.Container) error {
	ps, sc := spec.SecurityContext, c.SecurityContext
	if sc == nil {
		return fmt.Errorf("container has no securityContext")
	}
	nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (ps != nil && ps.RunAsNonRoot != nil && *ps.RunAsNonRoot)
	seccomp := (sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault) ||
		(ps != nil && ps.SeccompProfile != nil && ps.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault)
	switch {
	case !nonRoot:
		return fmt.Errorf("securityContext: runAsNonRoot is not true")
	case !seccomp:
		return fmt.Errorf("securityContext: seccompProfile is not RuntimeDefault")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		return fmt.Errorf("securityContext: allowPrivilegeEscalation is not false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		return fmt.Errorf("securityContext: readOnlyRootFilesystem is not true")
	case sc.Privileged != nil && *sc.Privileged:
		return fmt.Errorf("securityContext: privileged")
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0:
		return fmt.Errorf("securityContext: capabilities must drop ALL and add none")
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			return fmt.Errorf("resources: no %s request", r)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		return fmt.Errorf("resources: no memory limit")
	}
	return nil
}

// mountedFile finds the volume that provides file p in the container and
// the key (file name inside the volume) it maps to.
func mountedFile(spec *corev1.PodSpec, c *corev1.Container, p string) (*corev1.Volume, string, error) {
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(p, strings.TrimSuffix(vm.MountPath, "/")+"/")
		if !ok {
			continue
		}
		if vm.SubPath != "" {
			continue
		}
		for i := range spec.Volumes {
			v := &spec.Volumes[i]
			if v.Name != vm.Name {
				continue
			}
			if v.Projected != nil {
				return projectedFile(v, rel)
			}
			var items []corev1.KeyToPath
			if v.ConfigMap != nil {
				items = v.ConfigMap.Items
			} else if v.Secret != nil {
				items = v.Secret.Items
			}
			for _, it := range items {
				if path.Clean(it.Path) == rel {
					return v, it.Key, nil
				}
			}
			if len(items) > 0 {
				return nil, "", fmt.Errorf("volume %s does not project %s", v.Name, rel)
			}
			return v, rel, nil
		}
		return nil, "", fmt.Errorf("volumeMount %s has no volume", vm.Name)
	}
	return nil, "", fmt.Errorf("no volume is mounted there")
}

// projectedFile finds file rel among the Secret sources of a projected
// volume (each must list its items) and returns it as a plain Secret
// volume of that Secret, so callers see one shape.
func projectedFile(v *corev1.Volume, rel string) (*corev1.Volume, string, error) {
	for _, src := range v.Projected.Sources {
		if src.Secret == nil {
			continue
		}
		for _, it := range src.Secret.Items {
			if path.Clean(it.Path) == rel {
				one := &corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
					Secret: &corev1.SecretVolumeSource{SecretName: src.Secret.Name},
				}}
				return one, it.Key, nil
			}
		}
	}
	return nil, "", fmt.Errorf("projected volume %s has no file %s", v.Name, rel)
}

func envOf(c *corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

func portByName(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func resolvePort(c *corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.String {
		return portByName(c, p.StrVal)
	}
	return p.IntVal
}

func labelsSelect(selector, podLabels map[string]string) (bool, error) {
	if len(selector) == 0 {
		return false, nil
	}
	return labels.SelectorFromSet(selector).Matches(labels.Set(podLabels)), nil
}
