{{- /* The labels of every object the chart writes. */ -}}
{{- define "kfed.labels" -}}
app.kubernetes.io/name: kfed
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- /* The labels that select the manager's pods (the same as config/manager's). */ -}}
{{- define "kfed.selectorLabels" -}}
app.kubernetes.io/name: kfed
app.kubernetes.io/component: manager
{{- end }}

{{- define "kfed.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- /* Leader election: on when asked, and refused off with several replicas. */ -}}
{{- define "kfed.leaderElect" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs leaderElection.enabled: true (only one replica may act)" -}}
{{- end -}}
{{- .Values.leaderElection.enabled -}}
{{- end }}
