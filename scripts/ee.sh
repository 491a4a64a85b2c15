#!/usr/bin/env bash
# The execution environment's build context: build the collection tarball exactly as it would be
# published, run `ansible-builder create` on ee/execution-environment.yml into .cache/ee/context,
# and check that the context is complete (scripts/ee_check.py: every third-party import of
# plugins/ resolves from the EE's Python requirements in a clean virtualenv).
# Then `podman build -t multicloud-fabric-ee .cache/ee/context` builds the image.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.cache/ee
bin=$root/.venv/bin
start=$SECONDS

rm -rf "$work/dist" "$work/context"
mkdir -p "$work/dist"
printf '==> building the collection\n'
"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" . >/dev/null
# ee/execution-environment.yml names the tarball without its version.
mv "$work"/dist/multicloud-fabric-*.tar.gz "$work/dist/multicloud-fabric.tar.gz"
# helm for the image (ee/execution-environment.yml copies it in), built once from its Go module.
cp "$(scripts/helm.sh --path)" "$work/dist/helm"
printf '==> ansible-builder create (ee/execution-environment.yml)\n'
"$bin/ansible-builder" create --file ee/execution-environment.yml --context "$work/context" \
  --output-filename Containerfile >/dev/null
printf '==> checking the build context\n'
"$bin/python" scripts/ee_check.py "$work/context"
printf '==> make ee: done in %ss (build the image: podman build -t multicloud-fabric-ee %s)\n' \
  "$((SECONDS - start))" "${work#"$root"/}/context"
