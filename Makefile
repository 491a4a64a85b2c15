# The two commands a newcomer runs: `make demo` and `make test`.
# Every target bootstraps what it needs (scripts/bootstrap.sh), idempotently.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help bootstrap demo test lint units sandbox-tests sanity integration build clean distclean \
	sandbox-binaries sandbox-up sandbox-down sandbox-status
.PHONY: ee docs helm

help:
	@echo "make demo         run playbooks/site.yml on the local sandbox"
	@echo "make test         every test: lint, units, sanity, integration"
	@echo "make lint         ruff (lint + format check), ansible-lint (production), changelog lint, CI examples"
	@echo "make units        unit tests (pytest tests/unit; PYTEST_ARGS=\"-k retry\" to select)"
	@echo "make sandbox-tests the sandbox's own tests (real control planes; builds binaries once)"
	@echo "make sanity       ansible-test sanity on the built collection"
	@echo "make integration  integration targets against the sandbox"
	@echo "make build        build the collection tarball and the mc-sandbox wheel (DIST=dir)"
	@echo "make ee           execution environment build context in .cache/ee/context, checked complete"
	@echo "make docs         module/plugin/role reference (antsibull-docs) in .cache/docs; warnings fail"
	@echo "make helm         helm on PATH for the roles (the machine's, else built once from its Go module)"
	@echo "make sandbox-up / sandbox-down / sandbox-status   the local rehearsal clouds"
	@echo "make clean        remove build and test outputs (keeps .venv)"
	@echo "make distclean    clean, and remove .venv and .collections"

bootstrap:
	@scripts/bootstrap.sh

demo: sandbox-up helm
	@echo "==> ansible-playbook -i inventories/sandbox playbooks/site.yml"
	ansible-playbook -i inventories/sandbox playbooks/site.yml
	@echo ""
	@echo "Look around:"
	@echo "  export KUBECONFIG=$$PWD/.output/kubeconfig"
	@echo "  kubectl config get-contexts; kubectl --context aws-us-east-1-fabric-aws get nodes   (needs kubectl)"
	@echo "  .venv/bin/mc-sandbox status             the sandbox's clouds, clusters and request counters"
	@echo "  .venv/bin/ansible-inventory -i inventories/sandbox-discovered.clusters.yml --graph"
	@echo "  .venv/bin/ansible-playbook -i inventories/sandbox playbooks/teardown.yml   delete it all"
	@echo "  make sandbox-down                       stop the sandbox"

test: lint units ee docs sandbox-tests sanity integration
	@echo "==> make test: all passed"

lint: bootstrap
	@echo "==> ruff check"
	ruff check .
	@echo "==> ruff format --check"
	ruff format --check .
	@echo "==> ansible-lint (profile: production)"
	ansible-lint --offline
	@echo "==> antsibull-changelog lint"
	antsibull-changelog lint
	@echo "==> actionlint (examples/ci/github; built once into ~/.cache/multicloud-fabric)"
	scripts/actionlint.sh examples/ci/github/workflows/*.yml
	@echo "==> check-jsonschema (examples/ci/gitlab against GitLab's CI schema)"
	check-jsonschema --builtin-schema vendor.gitlab-ci examples/ci/gitlab/.gitlab-ci.yml

# pytest exits 5 when it collected nothing: that must fail, not pass silently.
define pytest
	@echo "==> pytest $(1)"
	@rc=0; python -m pytest $(1) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests in $(1)" >&2; exit 1; fi; exit $$rc
endef

units: bootstrap helm
	$(call pytest,tests/unit)

# As root the VPN data plane's tests must run (bootstrap installed what they need), not skip.
sandbox-tests: export MC_SANDBOX_REQUIRE_NET = 1
sandbox-tests: sandbox-binaries
	$(call pytest,tests/sandbox)

sandbox-binaries: bootstrap
	@sandbox/mc_sandbox/kube/build.sh >/dev/null

sandbox-up: sandbox-binaries
	@mc-sandbox up

sandbox-down: bootstrap
	mc-sandbox down

sandbox-status: bootstrap
	mc-sandbox status

sanity: bootstrap
	@scripts/sanity.sh

integration: bootstrap helm
	@scripts/integration.sh

# helm for the roles that install charts: the machine's own when it has one, else built from
# Helm's Go module once into the cache (scripts/helm.sh) and linked into .venv/bin.
helm: bootstrap
	@if ! command -v helm >/dev/null || [ "$$(command -v helm)" = "$(BIN)/helm" ]; then \
		ln -sfn "$$(scripts/helm.sh --path)" "$(BIN)/helm"; fi

# Cold: a clean virtualenv with the EE's Python requirements (minutes); warm: seconds.
ee: bootstrap
	@scripts/ee.sh

# Rebuilt only when a plugin, role spec or the metadata changed (about a minute); warm: a hash.
docs: bootstrap
	@scripts/docs.sh

# The collection tarball and, next to it, the wheel of the mc-sandbox package that the sandbox
# role runs (the tarball does not hold it); DIST=dir puts both there.
DIST ?= $(CURDIR)
build: bootstrap
	ansible-galaxy collection build --force --output-path "$(DIST)" .
	python -m pip wheel --disable-pip-version-check --quiet --no-deps --wheel-dir "$(DIST)" ./sandbox
	rm -rf sandbox/build

clean:
	rm -rf .cache tests/output multicloud-fabric-*.tar.gz mc_sandbox-*.whl .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .collections
