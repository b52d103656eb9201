{{/* The chart's name, or nameOverride. */}}
{{- define "lightdash-sync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object names: fullnameOverride, else the release name when it already
contains the chart's name, else release-chart. */}}
{{- define "lightdash-sync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lightdash-sync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "lightdash-sync.labels" -}}
helm.sh/chart: {{ include "lightdash-sync.chart" . }}
{{ include "lightdash-sync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lightdash-sync
{{- end }}

{{/* Labels that select the pods. */}}
{{- define "lightdash-sync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lightdash-sync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lightdash-sync.serviceAccountName" -}}
{{- default (include "lightdash-sync.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "lightdash-sync.secretName" -}}
{{- default (include "lightdash-sync.fullname" .) .Values.secrets.name }}
{{- end }}

{{- define "lightdash-sync.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The configuration given: config, or files/config.yaml when empty. */}}
{{- define "lightdash-sync.givenConfig" -}}
{{- if .Values.config }}
{{- toYaml .Values.config }}
{{- else }}
{{- .Files.Get "files/config.yaml" }}
{{- end }}
{{- end }}

{{/* The configuration file: the given one with admin.listen and
ha.enabled set by the chart, after the checks of lightdash-sync.validate. */}}
{{- define "lightdash-sync.config" -}}
{{- include "lightdash-sync.validate" . }}
{{- $cfg := include "lightdash-sync.givenConfig" . | fromYaml }}
{{- $admin := get $cfg "admin" | default dict }}
{{- $_ := set $admin "listen" (printf "0.0.0.0:%d" (int .Values.adminPort)) }}
{{- $_ := set $cfg "admin" $admin }}
{{- if .Values.ha.enabled }}
{{- $ha := get $cfg "ha" | default dict }}
{{- $_ := set $ha "enabled" true }}
{{- $_ := set $cfg "ha" $ha }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Fails the render with a message naming the value when the values
cannot make a working release. */}}
{{- define "lightdash-sync.validate" -}}
{{- $cfg := include "lightdash-sync.givenConfig" . | fromYaml }}
{{- $admin := get $cfg "admin" | default dict }}
{{- if hasKey $admin "listen" }}
{{- fail "config.admin.listen is set by the chart (0.0.0.0:<adminPort>, so the probes and Prometheus reach it): remove it and set adminPort instead" }}
{{- end }}
{{- $ha := get $cfg "ha" | default dict }}
{{- if hasKey $ha "enabled" }}
{{- fail "config.ha.enabled is set by the chart: remove it and set ha.enabled instead" }}
{{- end }}
{{- $state := get $cfg "state" | default dict }}
{{- $stateType := get $state "type" | default "file" }}
{{- if and .Values.ha.enabled (ne $stateType "nats") }}
{{- fail (printf "ha.enabled needs NATS state: set config.state.type: nats and config.state.source to a nats source (it is %q; several replicas cannot share a state file), or set ha.enabled: false" $stateType) }}
{{- end }}
{{- if eq $stateType "nats" }}
{{- $src := get $state "source" | default "" }}
{{- $found := false }}
{{- range (get $cfg "sources" | default list) }}
{{- if and (eq (get . "name" | default "") $src) (eq (get . "type" | default "") "nats") }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "config.state.type nats needs config.state.source to name a source of type nats in config.sources (it is %q)" $src) }}
{{- end }}
{{- end }}
{{- if and (eq $stateType "file") (not .Values.persistence.enabled) }}
{{- fail "config.state.type file keeps the ownership state in a file that must outlive the pod: set persistence.enabled (a PersistentVolumeClaim at /var/lib/lightdash-sync; set config.state.path under it) or use config.state.type nats" }}
{{- end }}
{{- if and .Values.persistence.enabled .Values.ha.enabled (eq .Values.mode "daemon") }}
{{- fail "persistence.enabled with ha.enabled: several replicas cannot share a state file; keep the state in NATS" }}
{{- end }}
{{- if and .Values.secrets.create (not .Values.secrets.name) }}
{{- range $file, $ref := .Values.secrets.files }}
{{- if and (kindIs "map" $ref) (not (hasKey $.Values.secrets.values (default $file (get $ref "key")))) }}
{{- fail (printf "secrets.create: secrets.values has no %q for the file %s (set it, or set secrets.files.%s to null)" (default $file (get $ref "key")) $file $file) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* GOMEMLIMIT: goMemLimitPercent of resources.limits.memory, in MiB. */}}
{{- define "lightdash-sync.goMemLimit" -}}
{{- $limit := dig "limits" "memory" "" .Values.resources }}
{{- if not (kindIs "string" $limit) }}
{{- $limit = printf "%d" (int64 $limit) }}
{{- end }}
{{- if $limit }}
{{- $m := regexFindAll "^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$" $limit 1 }}
{{- if not $m }}
{{- fail (printf "resources.limits.memory %q: write a whole number with an optional Ki, Mi, Gi, Ti, k, M, G or T suffix (GOMEMLIMIT is derived from it)" $limit) }}
{{- end }}
{{- $num := regexFind "^[0-9]+" $limit | int64 }}
{{- $unit := regexReplaceAll "^[0-9]+" $limit "" }}
{{- $mult := get (dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000) $unit | int64 }}
{{- $bytes := mul $num $mult }}
{{- printf "%dMiB" (div (mul $bytes (int64 .Values.goMemLimitPercent)) 104857600) }}
{{- end }}
{{- end }}
