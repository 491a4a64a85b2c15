#!/usr/bin/env bash
# actionlint (the GitHub Actions workflow checker), built from its Go module once into the cache
# (scripts/go-tool.sh; cold: ~10 MB of modules and about a minute on two cores).
set -euo pipefail
exec "$(dirname "$0")/go-tool.sh" actionlint github.com/rhysd/actionlint/cmd/actionlint v1.7.12 "$@"
