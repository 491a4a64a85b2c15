{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "global-web-app.fullname" . }}
  labels:
    {{- include "global-web-app.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "global-web-app.selectorLabels" . | nindent 6 }}
{{- end }}
