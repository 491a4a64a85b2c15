#!/usr/bin/env bash
# ansible-test sanity on the built collection: build the tarball exactly as it would be
# published, install it into a scratch collections tree and run every sanity test there.
# Extra arguments go to ansible-test (e.g. --test validate-modules).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.cache/sanity
bin=$root/.venv/bin

rm -rf "$work"
mkdir -p "$work/build"
printf '==> building the collection\n'
"$bin/ansible-galaxy" collection build --force --output-path "$work/build" . >/dev/null
tarball=$(ls "$work"/build/multicloud-fabric-*.tar.gz)
ANSIBLE_COLLECTIONS_PATH="$work/collections" "$bin/ansible-galaxy" collection install --no-deps --force -p "$work/collections" "$tarball" >/dev/null

cd "$work/collections/ansible_collections/multicloud/fabric"
# ansible-test lists files with git; give the installed copy its own index so that the parent
# checkout (where .cache is ignored) does not hide them.
printf "/tests/output/\n" > .gitignore
git init -q . && git add -A
if ls tests/sanity/ignore-*.txt >/dev/null 2>&1 && grep -qv '^\s*$' tests/sanity/ignore-*.txt; then
  echo "error: tests/sanity/ignore-*.txt has entries; fix the code instead of ignoring it" >&2
  exit 1
fi
# ansible-test bootstraps pip in its sanity venvs with a script it would download from outside the
# package registries; give it an offline equivalent at the path where it keeps that script.
pip_version=$("$bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])')
get_pip=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
if ! cmp -s "$root/scripts/get_pip_offline.py" "$get_pip"; then
  mkdir -p "$(dirname "$get_pip")"
  cp "$root/scripts/get_pip_offline.py" "$get_pip"
fi
printf '==> ansible-test sanity (first run installs the test tools into ~/.ansible/test)\n'
PATH="$bin:$PATH" "$bin/ansible-test" sanity --local --python 3.11 --color no "$@"
