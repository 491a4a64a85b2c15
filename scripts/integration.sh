#!/usr/bin/env bash
# Integration targets (tests/integration/targets/<name>/) run with ansible-test against a local
# sandbox of their own, on the collection as installed from its built tarball.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.venv/bin

targets=$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d ! -name 'setup_*' 2>/dev/null | sort)
if [ -z "$targets" ]; then
  echo "==> integration: no targets in tests/integration/targets" >&2
  exit 1
fi

work=$root/.cache/integration
rm -rf "$work"
mkdir -p "$work/build"
printf '==> building the collection\n'
"$bin/ansible-galaxy" collection build --force --output-path "$work/build" . >/dev/null
ANSIBLE_COLLECTIONS_PATH="$work/collections" "$bin/ansible-galaxy" collection install --no-deps --force -p "$work/collections" "$work"/build/multicloud-fabric-*.tar.gz >/dev/null
installed=$work/collections/ansible_collections/multicloud/fabric

export MC_SANDBOX_DIR=$work/sandbox
export MC_SANDBOX_TIME_FACTOR=${MC_SANDBOX_TIME_FACTOR:-0.01}
export MC_SANDBOX_SEED=${MC_SANDBOX_SEED:-20261122}
# EKS tokens live 15 minutes, in the sandbox too; a target that outlives one jumps the sandbox's
# clock (mc-sandbox clock advance) rather than waiting.
export MC_SANDBOX_EKS_TOKEN_MAX_AGE=${MC_SANDBOX_EKS_TOKEN_MAX_AGE:-900}
printf '==> starting a sandbox for the targets (%s)\n' "$MC_SANDBOX_DIR"
"$bin/mc-sandbox" up --json >/dev/null
trap '"$bin/mc-sandbox" down >/dev/null || echo "mc-sandbox down failed" >&2' EXIT

"$bin/python" - "$MC_SANDBOX_DIR/endpoints.yml" "$installed/tests/integration/integration_config.yml" "$bin/mc-sandbox" "$installed" <<'PY'
import os, sys, yaml
endpoints = yaml.safe_load(open(sys.argv[1]))
config = {
    "mc_provider": endpoints["provider_options"],
    "mc_aws_account_id": endpoints["aws"]["account_id"],
    "mc_sandbox_dir": str(sys.argv[1]).rsplit("/", 1)[0],
    "mc_sandbox_cli": sys.argv[3],
    # The installed collection (its playbooks and inventories), for targets that run them.
    "mc_collection_root": sys.argv[4],
    # Seconds the sandbox accepts an EKS token (MC_SANDBOX_EKS_TOKEN_MAX_AGE).
    "mc_eks_token_max_age": int(float(os.environ["MC_SANDBOX_EKS_TOKEN_MAX_AGE"])),
}
with open(sys.argv[2], "w") as out:
    yaml.safe_dump(config, out)
PY
chmod 600 "$installed/tests/integration/integration_config.yml"

cd "$installed"
printf "/tests/output/\n/tests/integration/integration_config.yml\n" > .gitignore
git init -q . && git add -A
printf '==> ansible-test integration\n'
PATH="$bin:$PATH" "$bin/ansible-test" integration --local --python 3.11 --color no "$@"
