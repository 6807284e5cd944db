{{/* Labels on every object of the release. */}}
{{- define "commitlog-operator.labels" -}}
app.kubernetes.io/component: operator
app.kubernetes.io/name: commitlog-operator
app.kubernetes.io/part-of: commitlog
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
