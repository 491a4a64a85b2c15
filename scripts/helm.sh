#!/usr/bin/env bash
# Helm, built from its Go module once into the cache (scripts/go-tool.sh) for machines that have
# none; `scripts/helm.sh --path` prints the binary's path. Cold: ~150 MB of modules and a few
# minutes on two cores.
#
# Helm 3, not 4: kubernetes.core.helm (6.x) drives Helm 3's command line and output.
set -euo pipefail
version=v3.21.4
# Stamped as Helm's own release build does, so `helm version` (which kubernetes.core.helm reads to
# pick its flags) reports the full version, and lint/template assume the Kubernetes it was built with.
GO_TOOL_LDFLAGS="-X helm.sh/helm/v3/internal/version.version=$version"
GO_TOOL_LDFLAGS+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=36"
GO_TOOL_LDFLAGS+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=36"
export GO_TOOL_LDFLAGS
exec "$(dirname "$0")/go-tool.sh" helm helm.sh/helm/v3/cmd/helm "$version" "$@"
