{{/* Names, labels and the pieces every workload shares. */}}

{{- define "app.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The image's console script has the chart's name: both are the project slug. */}}
{{- define "app.cli" -}}
{{- .Chart.Name -}}
{{- end -}}

{{- define "app.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "app.secretName" -}}
{{- .Values.existingSecret | default (include "app.fullname" .) -}}
{{- end -}}

{{- define "app.labels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: pass (dict "ctx" . "component" "api"). */}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Non-secret settings as an env list, for the bootstrap hook (it runs before the ConfigMap exists). */}}
{{- define "app.envList" -}}
{{- range $name, $value := .Values.env }}
{{- if ne (toString $value) "" }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Environment of the long-running workloads: the ConfigMap, then the Secret (which wins). */}}
{{- define "app.envFrom" -}}
- configMapRef:
    name: {{ include "app.fullname" . }}
- secretRef:
    name: {{ include "app.secretName" . }}
{{- end -}}

{{- define "app.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.serviceAccountName }}
serviceAccountName: {{ .Values.serviceAccountName }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Writable paths under a read-only root filesystem: /tmp and the request-log spill folder. */}}
{{- define "app.volumes" -}}
- name: tmp
  emptyDir: {}
- name: spill
  {{- if .Values.spill.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.spill.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ .Values.spill.sizeLimit }}
  {{- end }}
{{- end -}}

{{- define "app.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: spill
  mountPath: /app/.data
{{- end -}}
