#!/usr/bin/env bash
# Integration targets (tests/integration/targets/<name>/) run with ansible-test against the
# local sandbox, on the collection as installed from its built tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.venv/bin

targets=$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort)
if [ -z "$targets" ]; then
  echo "==> integration: no targets in tests/integration/targets"
  exit 0
fi

work=$root/.cache/integration
rm -rf "$work"
mkdir -p "$work/build"
printf '==> building the collection\n'
"$bin/ansible-galaxy" collection build --force --output-path "$work/build" . >/dev/null
ANSIBLE_COLLECTIONS_PATH="$work/collections" "$bin/ansible-galaxy" collection install --no-deps --force -p "$work/collections" "$work"/build/multicloud-fabric-*.tar.gz >/dev/null
cd "$work/collections/ansible_collections/multicloud/fabric"
printf "/tests/output/\n" > .gitignore
git init -q . && git add -A
printf '==> ansible-test integration\n'
PATH="$bin:$PATH" "$bin/ansible-test" integration --local --python 3.11 --color no "$@"
