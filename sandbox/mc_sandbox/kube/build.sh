#!/usr/bin/env bash
# Build the sandbox's multi-call Kubernetes binary (mc-kube) into a cache
# outside the git checkout and print its absolute path on stdout (the only
# thing ever written to stdout; all progress goes to stderr).
#
# The cache key covers everything that decides the binary's content: go.mod,
# go.sum, the Go sources here, the Go toolchain version and target, and the
# build flags below. So a warm call is a hash and a file test, and changing a
# pin (or Go) rebuilds into a new directory while the old binary stays usable.
# Each entry is ~120 MB: every run keeps this key's and the one used before it
# (so going back one pin costs nothing) and deletes the older ones.
#
#   MC_SANDBOX_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/multicloud-fabric)
#   GO                go command (default: go on PATH, else /usr/local/go/bin/go)
#
# Needs only Go and the Go module proxy. Cold (empty module and build caches)
# it downloads ~650 MB of modules and compiles for ~6-8 minutes on two cores,
# peaking at ~2.4 GB of memory (the linker) and leaving ~3 GB in GOCACHE.
set -euo pipefail

log() { printf 'mc-kube build: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
GO=${GO:-$(command -v go || true)}
if [[ -z $GO && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
[[ -n $GO ]] || die "no go command found (set GO=/path/to/go or install Go)"

start=$SECONDS
cd "$here"

goversion=$("$GO" env GOVERSION) || die "'$GO env GOVERSION' failed"
target=$("$GO" env GOOS GOARCH | paste -sd/ -)

# Pure Go, like upstream's server binaries: static, and needs no C compiler.
export CGO_ENABLED=0
build_flags=(-trimpath -buildvcs=false)
ldflags="-s -w"

# Hash names and contents, so renaming a file also changes the key. The glob
# order is stable (LC_ALL=C) so the key is too.
key=$(
  export LC_ALL=C
  {
    for f in go.mod go.sum *.go; do
      [[ -f $f ]] || die "missing $here/$f"
      printf '%s\n' "$f"
      cat "$f"
    done
    # The recipe too, so changing how the binary is built also rebuilds it.
    printf 'GOVERSION=%s %s CGO_ENABLED=%s %s %s\n' "$goversion" "$target" "$CGO_ENABLED" "${build_flags[*]}" "$ldflags"
  } | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16
)

root=${MC_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/multicloud-fabric}
dir="$root/kube/$key"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
bin="$dir/mc-kube"

# Keeps this key's entry and the most recently used other one; deletes the rest,
# except an entry whose build is in progress (a temporary file younger than the
# two hours after which leftovers count as abandoned, see below).
prune() {
  local entry kept=0
  touch "$dir"
  # newest first; the keys are hex, so the names need no quoting
  for entry in $(cd "$root/kube" && ls -1dt -- */ 2>/dev/null); do
    entry=${entry%/}
    [[ $entry == "$key" ]] && continue
    if [[ -n $(find "$root/kube/$entry" -maxdepth 1 -name '.mc-kube.tmp.*' -mmin -120 -print -quit 2>/dev/null) ]]; then
      continue
    fi
    if ((kept == 0)); then
      kept=1
      continue
    fi
    log "removing the old cached binary $root/kube/$entry"
    rm -rf -- "${root:?}/kube/$entry"
  done
}

if [[ -x $bin ]]; then
  log "using cached mc-kube $bin"
  prune
  printf '%s\n' "$bin"
  exit 0
fi

log "no cached binary for key $key ($goversion); building $bin"

# Loading the package graph fetches exactly the modules the build needs
# (go mod download would also fetch every test-only dependency in go.sum).
# go prints its own "go: downloading ..." lines to stderr.
log "downloading modules (if not in $("$GO" env GOMODCACHE) yet)"
"$GO" list -deps . >/dev/null || die "module download / package loading failed"

# Stamp the upstream release into the binary the way kubernetes'
# hack/lib/version.sh does, so the apiserver's /version (and the version of
# every component) reports the real gitVersion instead of v0.0.0-master.
kube_version=$("$GO" list -m -f '{{.Version}}' k8s.io/kubernetes)
[[ $kube_version =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+ ]] || die "unexpected k8s.io/kubernetes version '$kube_version'"
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.buildDate=$build_date"
done

# Leftovers of builds killed with SIGKILL (which no trap can catch).
find "$dir" -maxdepth 1 -name '.mc-kube.tmp.*' -mmin +120 -delete 2>/dev/null || true
# Build next to the final path and rename: a reader sees either no binary or
# a complete one, never a half-written file, even if this script is killed.
tmp=$(mktemp "$dir/.mc-kube.tmp.XXXXXX")
build_pid=
cleanup() {
  # Signal go build's whole process group: killing only go itself would
  # leave its compile/link children (the linker alone peaks at ~2.4 GB)
  # running on as orphans.
  if [[ -n $build_pid ]]; then kill -- "-$build_pid" 2>/dev/null || kill "$build_pid" 2>/dev/null || true; fi
  rm -f "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "compiling kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok (Kubernetes $kube_version; several minutes when cold)"
build_start=$SECONDS
set -m # job control: the background build gets its own process group (see cleanup)
"$GO" build "${build_flags[@]}" -ldflags "$ldflags" -o "$tmp" . >&2 &
build_pid=$!
set +m
# A heartbeat so a long cold build is visibly alive rather than hung.
while kill -0 "$build_pid" 2>/dev/null; do
  for _ in $(seq 30); do
    sleep 1
    kill -0 "$build_pid" 2>/dev/null || break 2
  done
  log "still compiling... $((SECONDS - build_start))s elapsed"
done
status=0
wait "$build_pid" || status=$?
build_pid=
[[ $status -eq 0 ]] || die "go build failed (exit $status)"

chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
prune
log "built $bin ($(du -h "$bin" | cut -f1)) in $((SECONDS - start))s (compile $((SECONDS - build_start))s)"
printf '%s\n' "$bin"
