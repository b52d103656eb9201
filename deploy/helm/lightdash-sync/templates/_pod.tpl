{{/* The pod of the Deployment (subcommand run) and of the CronJob
(subcommand reconcile): call with (dict "root" $ "command" "run"). */}}
{{- define "lightdash-sync.podSpec" -}}
{{- $ := .root }}
{{- $daemon := eq .command "run" }}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
serviceAccountName: {{ include "lightdash-sync.serviceAccountName" $ }}
automountServiceAccountToken: false
{{- if $daemon }}
terminationGracePeriodSeconds: {{ $.Values.terminationGracePeriodSeconds }}
{{- else }}
restartPolicy: Never
{{- end }}
securityContext:
  {{- toYaml $.Values.podSecurityContext | nindent 2 }}
{{- if and $daemon $.Values.ha.enabled }}
# Keep the replicas on different nodes when the cluster can.
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "lightdash-sync.selectorLabels" $ | nindent 8 }}
{{- end }}
{{- with $.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ ternary "lightdash-sync" "reconcile" $daemon }}
    image: {{ include "lightdash-sync.image" $ }}
    imagePullPolicy: {{ $.Values.image.pullPolicy }}
    args: [{{ .command | quote }}, "--config", "/etc/lightdash-sync/config.yaml"]
    {{- if $daemon }}
    ports:
      - name: admin
        containerPort: {{ $.Values.adminPort }}
        protocol: TCP
    livenessProbe:
      httpGet:
        path: /healthz
        port: admin
      {{- toYaml $.Values.livenessProbe | nindent 6 }}
    readinessProbe:
      httpGet:
        path: /readyz
        port: admin
      {{- toYaml $.Values.readinessProbe | nindent 6 }}
    {{- end }}
    env:
      {{- with include "lightdash-sync.goMemLimit" $ }}
      - name: GOMEMLIMIT
        value: {{ . | quote }}
      {{- end }}
      {{- with $.Values.env }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    resources:
      {{- toYaml $.Values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $.Values.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/lightdash-sync
        readOnly: true
      - name: secrets
        mountPath: /run/secrets/lightdash-sync
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- if $.Values.persistence.enabled }}
      - name: state
        mountPath: /var/lib/lightdash-sync
      {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "lightdash-sync.fullname" $ }}
  - name: secrets
    projected:
      # Group-readable for fsGroup 65532, nobody else.
      defaultMode: 0440
      sources:
        {{- range $file, $ref := $.Values.secrets.files }}
        {{- if kindIs "map" $ref }}
        - secret:
            name: {{ get $ref "secretName" | default (include "lightdash-sync.secretName" $) }}
            items:
              - key: {{ get $ref "key" | default $file }}
                path: {{ $file }}
        {{- end }}
        {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
  {{- if $.Values.persistence.enabled }}
  - name: state
    persistentVolumeClaim:
      claimName: {{ $.Values.persistence.existingClaim | default (printf "%s-state" (include "lightdash-sync.fullname" $)) }}
  {{- end }}
{{- end }}
