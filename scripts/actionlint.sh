#!/usr/bin/env bash
# Build actionlint (the GitHub Actions workflow checker) from its Go module once into a cache
# outside the checkout, then run it with the given arguments.
#
# The cache key is the pinned version, the Go toolchain and the target, so a warm call is a hash
# and a file test; changing the pin (or Go) builds into a new directory.
#
#   MC_SANDBOX_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/multicloud-fabric)
#   GO                go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Needs only Go and the Go module proxy. Cold it downloads ~10 MB of modules and compiles for
# about a minute on two cores.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12
log() { printf 'actionlint build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

GO=${GO:-$(command -v go || true)}
if [[ -z $GO && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi

root=${MC_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/multicloud-fabric}
# Without Go, a binary built earlier for this version still serves.
if [[ -z $GO ]]; then
  for bin in "$root"/actionlint/"$ACTIONLINT_VERSION"-*/actionlint; do
    [[ -x $bin ]] && exec "$bin" "$@"
  done
  die "no go command found (set GO=/path/to/go or install Go)"
fi

goversion=$("$GO" env GOVERSION) || die "'$GO env GOVERSION' failed"
target=$("$GO" env GOOS GOARCH | paste -sd- -)
key=$(printf '%s %s %s\n' "$ACTIONLINT_VERSION" "$goversion" "$target" | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-12)
dir="$root/actionlint/$ACTIONLINT_VERSION-$key"
bin="$dir/actionlint"

if [[ ! -x $bin ]]; then
  log "no cached binary for $ACTIONLINT_VERSION ($goversion $target); building $bin (about a minute)"
  start=$SECONDS
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # go prints its own "go: downloading ..." lines to stderr as it fetches the modules.
  CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS=-buildvcs=false \
    "$GO" install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" \
    || die "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION failed"
  # An interrupted build never leaves a half-written binary at the cached path.
  mv "$tmp/actionlint" "$bin"
  log "built in $((SECONDS - start))s"
fi
exec "$bin" "$@"
