#!/usr/bin/env bash
# Build a Go command from its module once into a cache outside the checkout, then run it:
#
#   scripts/go-tool.sh NAME PACKAGE VERSION [--path] [ARGS...]
#
# e.g. `scripts/go-tool.sh helm helm.sh/helm/v3/cmd/helm v3.21.4 version`. With --path it prints
# the cached binary's path instead of running it (building it first when needed).
#
# The cache key is the pinned version, the Go toolchain and the target, so a warm call is a hash
# and a file test; changing the pin (or Go) builds into a new directory. Without Go, a binary
# built earlier for the same version still serves.
#
#   GO_TOOL_LDFLAGS   extra -ldflags (e.g. -X flags that stamp the version), part of the cache key
#   MC_SANDBOX_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/multicloud-fabric)
#   GO                go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Needs only Go and the Go module proxy.
set -euo pipefail

[[ $# -ge 3 ]] || { echo "usage: $0 NAME PACKAGE VERSION [--path] [ARGS...]" >&2; exit 2; }
name=$1 package=$2 version=$3
shift 3
print_path=false
if [[ ${1:-} == --path ]]; then print_path=true; shift; fi

log() { printf '%s build: %s\n' "$name" "$*" >&2; }
die() { log "error: $*"; exit 1; }
run() { if $print_path; then printf '%s\n' "$1"; exit 0; fi; exec "$@"; }

GO=${GO:-$(command -v go || true)}
if [[ -z $GO && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi

root=${MC_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/multicloud-fabric}
if [[ -z $GO ]]; then
  for bin in "$root/$name/$version"-*/"$name"; do
    [[ -x $bin ]] && run "$bin" "$@"
  done
  die "no go command found (set GO=/path/to/go or install Go)"
fi

goversion=$("$GO" env GOVERSION) || die "'$GO env GOVERSION' failed"
target=$("$GO" env GOOS GOARCH | paste -sd- -)
ldflags="-s -w ${GO_TOOL_LDFLAGS:-}"
key=$(printf '%s %s %s %s %s\n' "$package" "$version" "$goversion" "$target" "$ldflags" | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-12)
dir="$root/$name/$version-$key"
bin="$dir/$name"

if [[ ! -x $bin ]]; then
  log "no cached binary for $version ($goversion $target); building $bin from $package@$version"
  start=$SECONDS
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT  # a failed or interrupted build
  # go prints its own "go: downloading ..." lines to stderr as it fetches the modules.
  CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false \
    "$GO" install -trimpath -ldflags "$ldflags" "$package@$version" \
    || die "go install $package@$version failed"
  # An interrupted build never leaves a half-written binary at the cached path.
  mv "$tmp/$(basename "$package")" "$bin"
  rm -rf "$tmp"  # exec below skips the EXIT trap
  log "built in $((SECONDS - start))s"
fi
run "$bin" "$@"
