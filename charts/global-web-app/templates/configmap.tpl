apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "global-web-app.fullname" . }}
  labels:
    {{- include "global-web-app.labels" . | nindent 4 }}
data:
  app.py: |
    {{- .Files.Get "files/app.py" | nindent 4 }}
