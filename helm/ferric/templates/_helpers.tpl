{{/* The roles, as `ferric <role>` names them. */}}
{{- define "ferric.roles" -}}
gateway deploy power bootnet imagecache
{{- end -}}

{{- define "ferric.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ferric.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "ferric.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "ferric.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ferric.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ferric.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ferric
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "deploy"). */}}
{{- define "ferric.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferric.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ferric.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ferric.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ferric.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ferric.tlsSecret" -}}
{{- default (printf "%s-tls" (include "ferric.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{- define "ferric.etcdEndpoints" -}}
{{- if .Values.etcd.enabled -}}
{{- $full := include "ferric.fullname" . -}}
{{- $list := list -}}
{{- range $i := until (int .Values.etcd.bundled.replicas) -}}
{{- $list = append $list (printf "http://%s-etcd-%d.%s-etcd.%s.svc:2379" $full $i $full $.Release.Namespace) -}}
{{- end -}}
{{- toJson $list -}}
{{- else -}}
{{- if not .Values.etcd.endpoints -}}
{{- fail "etcd.enabled is false: set etcd.endpoints to the external cluster's client URLs" -}}
{{- end -}}
{{- toJson .Values.etcd.endpoints -}}
{{- end -}}
{{- end -}}

{{/*
The configuration the chart owns, merged under .Values.config (which wins), as a
dict. Listens bind every address in the pod; advertised addresses come per pod
from the environment.
*/}}
{{- define "ferric.configDict" -}}
{{- $owned := dict
  "state_dir" .Values.stateDir.path
  "store" (dict "backend" "etcd" "etcd_endpoints" (include "ferric.etcdEndpoints" . | fromJsonArray))
  "gateway" (dict "listen" (printf "0.0.0.0:%d" (int .Values.gateway.port)))
  "deploy" (dict "listen" (printf "0.0.0.0:%d" (int .Values.deploy.grpcPort)))
  "power" (dict "listen" (printf "0.0.0.0:%d" (int .Values.power.grpcPort)))
  "bootnet" (dict "listen" (printf "0.0.0.0:%d" (int .Values.bootnet.grpcPort)))
  "imagecache" (dict "listen" (printf "0.0.0.0:%d" (int .Values.imagecache.grpcPort)) "http_listen" (printf "0.0.0.0:%d" (int .Values.imagecache.httpPort)) "cache_dir" "/var/cache/ferric/images")
-}}
{{- if .Values.tls.enabled -}}
{{- $_ := set $owned "tls" (dict "cert" "/etc/ferric/tls/tls.crt" "key" "/etc/ferric/tls/tls.key" "ca" "/etc/ferric/tls/ca.crt") -}}
{{- end -}}
{{- if or .Values.gateway.htpasswd.existingSecret .Values.gateway.htpasswd.content -}}
{{- $_ := set $owned.gateway "http_basic_auth_user_file" "/etc/ferric/htpasswd/htpasswd" -}}
{{- end -}}
{{- toJson (mustMergeOverwrite $owned (deepCopy .Values.config)) -}}
{{- end -}}

{{/* One TOML value: integers without Helm's ".0", inline arrays and tables. */}}
{{- define "ferric.tomlValue" -}}
{{- $v := . -}}
{{- if kindIs "string" $v -}}
{{- toJson $v -}}
{{- else if kindIs "bool" $v -}}
{{- $v -}}
{{- else if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) -}}
{{- if eq (float64 $v) (float64 (int64 $v)) -}}{{ int64 $v }}{{- else -}}{{ $v }}{{- end -}}
{{- else if kindIs "slice" $v -}}
[{{ range $i, $e := $v }}{{ if $i }}, {{ end }}{{ include "ferric.tomlValue" $e }}{{ end }}]
{{- else if kindIs "map" $v -}}
{ {{- range $i, $k := keys $v | sortAlpha }}{{ if $i }}, {{ end }}{{ toJson $k }} = {{ include "ferric.tomlValue" (index $v $k) }}{{ end -}} }
{{- else if kindIs "invalid" $v -}}
{{- fail "ferric config: null values cannot be written to TOML; leave the key out instead" -}}
{{- else -}}
{{- toJson $v -}}
{{- end -}}
{{- end -}}

{{/* The whole config file: top-level scalars, then one [section] per table. */}}
{{- define "ferric.toml" -}}
{{- $config := include "ferric.configDict" . | fromJson -}}
{{- range $k := keys $config | sortAlpha }}
{{- $v := index $config $k }}
{{- if not (kindIs "map" $v) }}
{{ $k }} = {{ include "ferric.tomlValue" $v }}
{{- end }}
{{- end }}
{{- range $k := keys $config | sortAlpha }}
{{- $v := index $config $k }}
{{- if kindIs "map" $v }}

[{{ $k }}]
{{- range $kk := keys $v | sortAlpha }}
{{ $kk }} = {{ include "ferric.tomlValue" (index $v $kk) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Whether bootnet needs NET_RAW: an interface to bind (SO_BINDTODEVICE, RA socket). */}}
{{- define "ferric.bootnetNetRaw" -}}
{{- $config := include "ferric.configDict" . | fromJson -}}
{{- if or .Values.bootnet.netRaw (and $config.bootnet.interface (ne (toString $config.bootnet.dhcp_mode) "off")) -}}true{{- end -}}
{{- end -}}
