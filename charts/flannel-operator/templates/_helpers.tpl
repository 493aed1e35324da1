{{/* Names, labels and images shared by the templates. */}}

{{- define "flannel-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "flannel-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "flannel-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "flannel-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flannel-operator
{{- end -}}

{{- define "flannel-operator.controllerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "flannel-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "flannel-operator.controllerServiceAccount" -}}
{{- if .Values.serviceAccount.controller.create -}}
{{- default (printf "%s-controller" (include "flannel-operator.fullname" .)) .Values.serviceAccount.controller.name -}}
{{- else -}}
{{- required "serviceAccount.controller.name is required when serviceAccount.controller.create=false" .Values.serviceAccount.controller.name -}}
{{- end -}}
{{- end -}}

{{- define "flannel-operator.agentServiceAccount" -}}
{{- if .Values.serviceAccount.agent.create -}}
{{- default (printf "%s-agent" (include "flannel-operator.fullname" .)) .Values.serviceAccount.agent.name -}}
{{- else -}}
{{- required "serviceAccount.agent.name is required when serviceAccount.agent.create=false" .Values.serviceAccount.agent.name -}}
{{- end -}}
{{- end -}}

{{/* repository:tag (tag defaults to the chart's appVersion) of an {repository, tag} value. */}}
{{- define "flannel-operator.image" -}}
{{- $img := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- printf "%s:%s" $img.repository (default $ctx.Chart.AppVersion ($img.tag | toString) | toString) -}}
{{- end -}}

{{- define "flannel-operator.operatorImage" -}}
{{- include "flannel-operator.image" (list .Values.image .) -}}
{{- end -}}

{{/* The agent runs the operator image unless flannel.image.repository names another. */}}
{{- define "flannel-operator.agentImage" -}}
{{- if .Values.flannel.image.repository -}}
{{- include "flannel-operator.image" (list .Values.flannel.image .) -}}
{{- else -}}
{{- include "flannel-operator.image" (list (dict "repository" .Values.image.repository "tag" (default .Values.image.tag .Values.flannel.image.tag)) .) -}}
{{- end -}}
{{- end -}}

{{- define "flannel-operator.cniPluginImage" -}}
{{- include "flannel-operator.image" (list .Values.flannel.flannel_cni.image .) -}}
{{- end -}}

{{- define "flannel-operator.netpolImage" -}}
{{- include "flannel-operator.image" (list .Values.netpol.image .) -}}
{{- end -}}

{{/* Agent pod settings for the controller (env FLANNEL_OPERATOR_DATAPLANE, validated by the controller). */}}
{{- define "flannel-operator.dataplaneConfig" -}}
{{- $cfg := dict
  "cniBinDir" .Values.flannel.cniBinDir
  "cniConfDir" .Values.flannel.cniConfDir
  "imagePullPolicy" .Values.image.pullPolicy
  "tolerations" .Values.flannel.tolerations
  "priorityClassName" .Values.flannel.priorityClassName
  "metricsPort" (int .Values.flannel.metrics.port)
  "healthPort" (int .Values.flannel.healthz.port)
  "logLevel" .Values.flannel.logLevel
-}}
{{- with .Values.flannel.resources }}{{ $_ := set $cfg "agentResources" . }}{{ end -}}
{{- with .Values.netpol.resources }}{{ $_ := set $cfg "netpolResources" . }}{{ end -}}
{{- with .Values.flannel.nodeSelector }}{{ $_ := set $cfg "nodeSelector" . }}{{ end -}}
{{- with .Values.flannel.args }}{{ $_ := set $cfg "extraArgs" . }}{{ end -}}
{{- if eq (toString .Values.flannel.enableNFTables) "true" }}{{ $_ := set $cfg "netfilter" "nftables" }}{{ end -}}
{{- if eq (toString .Values.flannel.enableNFTables) "false" }}{{ $_ := set $cfg "netfilter" "iptables" }}{{ end -}}
{{- with .Values.global.imagePullSecrets }}
{{- $names := list -}}
{{- range . }}{{ $names = append $names .name }}{{ end -}}
{{- $_ := set $cfg "imagePullSecrets" $names -}}
{{- end -}}
{{- $cfg | toJson -}}
{{- end -}}
