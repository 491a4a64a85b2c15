#!/usr/bin/env bash
# Sets up everything `make` targets need, from nothing and idempotently:
#   - .venv with the Python dependencies (requirements-dev.txt, which includes requirements.txt);
#     reinstalled only when those files change,
#   - the collections the roles use (they come with the `ansible` package from PyPI),
#   - .collections/ansible_collections/multicloud/fabric -> this checkout, so ansible.cfg's
#     collections_path resolves multicloud.fabric here without copying anything.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
say() { printf '==> %s\n' "$*"; }

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: $PYTHON is missing or older than Python 3.11 (set PYTHON=/path/to/python3.11+)" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV ($("$PYTHON" --version))"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt sandbox/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  say "installing Python dependencies into $VENV (first run: about a minute)"
  start=$SECONDS
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q --upgrade pip
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
    -r requirements-dev.txt | sed -nE 's/^Collecting ([^ ]+).*/    collecting \1/p' || true
  "$VENV/bin/python" -m pip check >/dev/null
  echo "$want" > "$stamp"
  say "Python dependencies installed in $((SECONDS - start))s"
else
  say "$VENV is up to date"
fi

link=.collections/ansible_collections/multicloud/fabric
if [ "$(readlink "$link" 2>/dev/null || true)" != "../../.." ]; then
  say "linking $link to this checkout"
  mkdir -p "$(dirname "$link")"
  ln -sfn ../../.. "$link"
fi

# The roles depend on these collections (galaxy.yml); they come with the ansible package.
for collection in kubernetes.core community.crypto; do
  if ! "$VENV/bin/ansible-galaxy" collection list "$collection" 2>/dev/null | grep -q "^$collection "; then
    echo "error: collection $collection is not installed in $VENV (it comes with the ansible package)" >&2
    exit 1
  fi
done

# The sandbox's VPN data plane runs strongSwan (userspace ESP) and BIRD in network namespaces:
# Debian packages, installed here when running as root; otherwise say so (its tests then skip).
net_packages="strongswan-charon strongswan-swanctl libstrongswan-standard-plugins libcharon-extra-plugins bird2 iputils-ping"
if command -v dpkg-query >/dev/null; then
  missing=""
  for package in $net_packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing Debian packages for the sandbox's VPN data plane:$missing"
      start=$SECONDS
      # shellcheck disable=SC2086
      if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
      fi
      say "Debian packages installed in $((SECONDS - start))s"
    else
      say "note: the sandbox's VPN data plane needs root and the Debian packages$missing; its tests will be skipped"
    fi
  fi
fi
