package deploytest_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// drift is one artefact broken in one way, and what the check must say.
type drift struct {
	name     string
	file     string // relative to deploy/
	old, new string // old must occur exactly once
	check    string // a key of checks
	want     string // in the error
}

var drifts = []drift{
	// Dockerfile
	{"root user", "Dockerfile", "USER 65532:65532", "USER root", "dockerfile", "non-root USER"},
	{"cgo on", "Dockerfile", "CGO_ENABLED=0 go build", "go build", "dockerfile", "CGO_ENABLED=0"},
	{"ldflags var renamed", "Dockerfile", "-X main.version=", "-X main.Version=", "dockerfile", "no string variable Version"},
	{"healthcheck subcommand", "Dockerfile", `"/lightdash-sync", "health",`, `"/lightdash-sync", "healthz",`, "dockerfile", `unknown subcommand "healthz"`},
	{"healthcheck flag", "Dockerfile", `"--url", "http://127.0.0.1:9464/healthz"`, `"--addr", "127.0.0.1:9464"`, "dockerfile", `unknown flag "--addr"`},
	{"healthcheck port", "Dockerfile", `"http://127.0.0.1:9464/healthz"`, `"http://127.0.0.1:8080/healthz"`, "dockerfile", "HEALTHCHECK probes"},
	{"no healthcheck", "Dockerfile", "HEALTHCHECK --interval", "# HEALTHCHECK --interval", "dockerfile", "no HEALTHCHECK"},
	{"entrypoint path", "Dockerfile", `ENTRYPOINT ["/lightdash-sync"]`, `ENTRYPOINT ["/usr/bin/lightdash-sync"]`, "dockerfile", "ENTRYPOINT runs"},
	{"fat final image", "Dockerfile", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM debian:12", "dockerfile", "final image"},
	{"copies another file", "Dockerfile", "COPY --from=build /out/lightdash-sync /lightdash-sync", "COPY --from=build /out/other /lightdash-sync", "dockerfile", "the final stage copies"},

	// Kubernetes base
	{"one replica", "kubernetes/base/deployment.yaml", "replicas: 2", "replicas: 1", "kubernetes", "at least 2 replicas"},
	{"misspelt field", "kubernetes/base/deployment.yaml", "revisionHistoryLimit: 5", "revisionHistoryLimits: 5", "kubernetes", "unknown field"},
	{"unknown flag", "kubernetes/base/deployment.yaml", `args: ["run", "--config",`, `args: ["run", "--config-file",`, "kubernetes", `unknown flag "--config-file"`},
	{"config not mounted", "kubernetes/base/deployment.yaml", "mountPath: /etc/lightdash-sync", "mountPath: /etc/sync", "kubernetes", "--config /etc/lightdash-sync/config.yaml"},
	{"secrets elsewhere", "kubernetes/base/deployment.yaml", "mountPath: /run/secrets/lightdash-sync", "mountPath: /run/secrets/sync", "kubernetes", "no volume is mounted there"},
	{"readiness path", "kubernetes/base/deployment.yaml", "path: /readyz", "path: /ready", "kubernetes", "readinessProbe path /ready"},
	{"writable root", "kubernetes/base/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "kubernetes", "readOnlyRootFilesystem"},
	{"capabilities kept", "kubernetes/base/deployment.yaml", `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "kubernetes", "drop ALL"},
	{"no memory limit", "kubernetes/base/deployment.yaml", "              memory: 512Mi\n", "", "kubernetes", "no memory limit"},
	{"admin on loopback", "kubernetes/base/configmap.yaml", "listen: 0.0.0.0:9464", "listen: 127.0.0.1:9464", "kubernetes", "binds 127.0.0.1"},
	{"admin port differs", "kubernetes/base/configmap.yaml", "listen: 0.0.0.0:9464", "listen: 0.0.0.0:9000", "kubernetes", "admin.listen port is 9000"},
	{"config key misspelt", "kubernetes/base/configmap.yaml", "rate_limit: 5", "rate_limt: 5", "kubernetes", "unknown key"},
	{"no leader election", "kubernetes/base/configmap.yaml", "ha:\n      enabled: true", "ha:\n      enabled: false", "kubernetes", "ha.enabled"},
	{"secret key missing", "kubernetes/secret.example.yaml", "admin-token: REPLACE", "admin-tokn: REPLACE", "kubernetes", `has no key "admin-token"`},
	{"secret misspelt field", "kubernetes/secret.example.yaml", "stringData:", "stringdata:", "kubernetes", "unknown field"},
	{"service port", "kubernetes/base/service.yaml", "targetPort: admin", "targetPort: metrics", "kubernetes", "targetPort"},
	{"pdb selects nothing", "kubernetes/base/poddisruptionbudget.yaml", "matchLabels:\n      app.kubernetes.io/name: lightdash-sync", "matchLabels:\n      app.kubernetes.io/name: other", "kubernetes", "PodDisruptionBudget: selector"},
	{"resource not listed", "kubernetes/base/kustomization.yaml", "  - service.yaml\n", "", "kubernetes", "service.yaml is not listed"},
	{"no network policy", "kubernetes/base/kustomization.yaml", "  - networkpolicy.yaml\n", "", "kubernetes", "networkpolicy.yaml is not listed"},
	{"network policy without sources", "kubernetes/base/networkpolicy.yaml", "    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: monitoring\n          podSelector:\n            matchLabels:\n              app.kubernetes.io/name: prometheus\n      ports:", "    - ports:", "kubernetes", "admits every source"},
	{"network policy opens another port", "kubernetes/base/networkpolicy.yaml", "        - port: admin", "        - port: 8080", "kubernetes", "not the admin port"},
	{"network policy selects nothing", "kubernetes/base/networkpolicy.yaml", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: lightdash-sync", "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: other", "kubernetes", "NetworkPolicy: podSelector"},
	{"network policy egress only", "kubernetes/base/networkpolicy.yaml", "policyTypes: [Ingress]", "policyTypes: [Egress]", "kubernetes", "leave ingress open"},
	// Kubernetes CronJob overlay
	{"cron concurrency", "kubernetes/cronjob/cronjob.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow", "kubernetes", "Forbid"},
	{"cron subcommand", "kubernetes/cronjob/cronjob.yaml", `args: ["reconcile",`, `args: ["sync",`, "kubernetes", `unknown subcommand "sync"`},
	{"cron schedule", "kubernetes/cronjob/cronjob.yaml", `schedule: "*/30 * * * *"`, `schedule: "every half hour"`, "kubernetes", "schedule"},
	{"daemon kept", "kubernetes/cronjob/kustomization.yaml", "      kind: Deployment\n", "      kind: StatefulSet\n", "kubernetes", `no resource matches strategic merge patch "StatefulSet.v1.apps/lightdash-sync`},

	// Helm chart
	{"chart readiness path", "helm/lightdash-sync/templates/_pod.tpl", "path: /readyz", "path: /ready", "helm", "readinessProbe path /ready"},
	{"chart writable root", "helm/lightdash-sync/values.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "helm", "readOnlyRootFilesystem"},
	{"chart misspelt field", "helm/lightdash-sync/templates/service.yaml", "publishNotReadyAddresses: true", "publishNotReadyAdresses: true", "helm", "unknown field"},
	{"chart secret file renamed", "helm/lightdash-sync/values.yaml", "    admin-token: {}\n", "    admin-tokn: {}\n", "helm", "has no file admin-token"},
	{"chart config differs from base", "helm/lightdash-sync/files/config.yaml", "rate_limit: 5", "rate_limit: 6", "helm", "configuration differs"},
	{"chart config invalid", "helm/lightdash-sync/files/config.yaml", "watch: auto", "watch: sometimes", "helm", "watch"},
	{"chart cron concurrency", "helm/lightdash-sync/templates/cronjob.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow", "helm", "Forbid"},
	{"chart network policy egress only", "helm/lightdash-sync/templates/networkpolicy.yaml", "policyTypes: [Ingress]", "policyTypes: [Egress]", "helm", "leave ingress open"},
	{"chart not lintable", "helm/lightdash-sync/Chart.yaml", "version: 0.1.0", "version: one", "helm", "version"},
	{"chart alerts copy stale", "monitoring/alerts.yaml", "summary: lightdash-sync full reconciliations are failing", "summary: failing", "helm", "differs from monitoring/alerts.yaml"},
	{"base grace period", "kubernetes/base/deployment.yaml", "terminationGracePeriodSeconds: 45", "terminationGracePeriodSeconds: 30", "helm", "terminationGracePeriodSeconds differs"},
	{"base GOMEMLIMIT", "kubernetes/base/deployment.yaml", `value: "409MiB"`, `value: "400MiB"`, "helm", "env differs"},
	{"cronjob overlay schedule", "kubernetes/cronjob/cronjob.yaml", "startingDeadlineSeconds: 600", "startingDeadlineSeconds: 300", "helm", "CronJob spec differs"},

	// systemd
	{"misspelt hardening", "systemd/lightdash-sync.service", "ProtectSystem=strict", "ProtectSytem=strict", "systemd", "ProtectSytem"},
	{"weaker hardening", "systemd/lightdash-sync-reconcile.service", "NoNewPrivileges=yes", "NoNewPrivileges=no", "systemd", "NoNewPrivileges=yes"},
	{"unit flag", "systemd/lightdash-sync.service", "run --config", "run --conf", "systemd", `unknown flag "--conf"`},
	{"oneshot subcommand", "systemd/lightdash-sync-reconcile.service", "lightdash-sync reconcile --config", "lightdash-sync run --config", "systemd", `want "reconcile"`},
	{"config paths differ", "systemd/lightdash-sync-reconcile.service", "reconcile --config /etc/lightdash-sync/config.yaml", "reconcile --config /etc/lightdash-sync/sync.yaml", "systemd", "same file"},
	{"credential not loaded", "systemd/lightdash-sync.service", "LoadCredential=admin-token:/etc/lightdash-sync/credentials/admin-token\n", "", "systemd", "LoadCredential="},
	{"credential renamed in config", "systemd/config.yaml", "${CREDENTIALS_DIRECTORY}/lightdash-token", "${CREDENTIALS_DIRECTORY}/ld-token", "systemd", "LoadCredential="},
	{"reload signal", "systemd/lightdash-sync.service", "kill -HUP $MAINPID", "kill -USR1 $MAINPID", "systemd", "ExecReload"},
	{"timer unit", "systemd/lightdash-sync-reconcile.timer", "Unit=lightdash-sync-reconcile.service", "Unit=lightdash-sync.service", "systemd", "timer"},
	{"state outside StateDirectory", "systemd/config.yaml", "path: ${STATE_DIRECTORY}/state.json", "path: /srv/state.json", "systemd", "StateDirectory"},
	{"systemd config invalid", "systemd/config.yaml", "policy: sync", "policy: mirror", "systemd", "sync.policy"},

	// compose
	{"other dockerfile", "compose/compose.yaml", "dockerfile: deploy/Dockerfile", "dockerfile: Dockerfile", "compose", "deploy/Dockerfile"},
	{"compose flag", "compose/compose.yaml", `command: ["run", "--config",`, `command: ["run", "-c",`, "compose", `unknown flag "-c"`},
	{"token env missing", "compose/compose.yaml", "LIGHTDASH_TOKEN: ${LIGHTDASH_TOKEN:-}", "LD_TOKEN: ${LIGHTDASH_TOKEN:-}", "compose", "${LIGHTDASH_TOKEN}"},
	{"compose misspelt key", "compose/compose.yaml", "restart: on-failure", "restrat: on-failure", "compose", "restrat"},
	{"groups flag off", "compose/compose.yaml", `GROUPS_ENABLED: "true"`, `GROUPS_ENABLED: "false"`, "compose", "GROUPS_ENABLED=true"},
	{"config mounted elsewhere", "compose/compose.yaml", "./config.yaml:/etc/lightdash-sync/config.yaml:ro", "./config.yaml:/config.yaml:ro", "compose", "nothing is mounted"},
	{"unknown host", "compose/config.yaml", "url: http://lightdash:8080", "url: http://lightdash-app:8080", "compose", "lightdash-app is not a compose service"},
	{"compose admin port", "compose/config.yaml", "listen: 0.0.0.0:9464", "listen: 0.0.0.0:9000", "compose", "admin.listen"},
	{"compose config invalid", "compose/config.yaml", "watch: poll", "watch: sometimes", "compose", "watch"},
	{"seed user email", "compose/seed.ldif", "mail: ada@example.com", "mail: ada@example.org", "compose", "no entry for demo user u-ada"},
	{"demo directory changed", "demo/directory.yaml", "name: marketing, members: [u-ken]", "name: marketing, members: [u-ken, u-ada]", "compose", "group marketing has members"},

	// monitoring
	{"alert metric renamed", "monitoring/alerts.yaml", "lightdash_sync_nats_events_dead_lettered_total[1h]", "lightdash_sync_nats_events_deadlettered_total[1h]", "alerts", "lightdash_sync_nats_events_deadlettered_total is not registered"},
	{"alert dropped", "monitoring/alerts.yaml", "lightdash_sync_nats_events_dead_lettered_total[1h]", "lightdash_sync_nats_events_poison_total[1h]", "alerts", "no alert watches lightdash_sync_nats_events_dead_lettered_total"},
	{"alert unbalanced", "monitoring/alerts.yaml", "(lightdash_sync_held_back) > 0", "(lightdash_sync_held_back > 0", "alerts", "unclosed"},
	{"alert misspelt key", "monitoring/alerts.yaml", "    rules:\n", "    rulez:\n", "alerts", "rulez"},
	{"alert bad for", "monitoring/alerts.yaml", "for: 1h\n", "for: an hour\n", "alerts", "for:"},
	{"dashboard metric renamed", "monitoring/grafana-dashboard.json", "lightdash_request_duration_seconds_bucket", "lightdash_request_latency_seconds_bucket", "dashboard", "lightdash_request_latency_seconds_bucket is not registered"},
	{"dashboard panel dropped", "monitoring/grafana-dashboard.json", "sum(lightdash_sync_queue_pending{", "sum(lightdash_sync_queue_in_flight{", "dashboard", "no panel shows lightdash_sync_queue_pending"},
	{"dashboard invalid json", "monitoring/grafana-dashboard.json", `"uid": "lightdash-sync",`, `"uid": "lightdash-sync",,`, "dashboard", "invalid character"},
	{"dashboard query on another metric", "monitoring/grafana-dashboard.json", `"expr": "max(lightdash_sync_unmatched_users{job=~\"$job\"})"`, `"expr": "max(up)"`, "dashboard", "uses no lightdash metric"},
}

// TestDriftFails breaks each artefact in one way, in a copy of deploy/,
// and wants the check to say so: every check above can fail.
func TestDriftFails(t *testing.T) {
	for _, d := range drifts {
		t.Run(d.name, func(t *testing.T) {
			dir := copyDeploy(t)
			path := filepath.Join(dir, d.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(data), d.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: the mutation no longer applies", d.file, d.old, n)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(data), d.old, d.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			err = checks[d.check](dir)
			if err == nil {
				t.Fatalf("%s check passed on %s with %q replaced by %q", d.check, d.file, d.old, d.new)
			}
			if !strings.Contains(err.Error(), d.want) {
				t.Fatalf("error %q, want it to mention %q", err, d.want)
			}
		})
	}
}

// copyDeploy copies deploy/ (and go.mod, which marks the build context)
// into a temporary repository root and returns the copy's deploy dir.
func copyDeploy(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	if err := copyFile(filepath.Join(root, "go.mod"), filepath.Join(tmp, "go.mod")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(tmp, "deploy")
	err := filepath.WalkDir(deploy, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(deploy, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}
