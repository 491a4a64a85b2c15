#!/usr/bin/env bash
# The collection's reference (modules, plugins, roles) as HTML in .cache/docs/build/html, built with
# antsibull-docs from the docs the plugins and roles carry (DOCUMENTATION, argument_specs.yml).
# Any antsibull-docs error or Sphinx warning fails the build. Offline: no intersphinx inventories
# are fetched.
#
# The inputs' hash is kept next to the result, so a warm run whose inputs did not change costs a
# hash; any change to a plugin, role spec, metadata or this recipe rebuilds from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.cache/docs
bin=$root/.venv/bin
export PATH="$bin:$PATH" ANSIBLE_CONFIG="$root/ansible.cfg"
start=$SECONDS

key=$(
  export LC_ALL=C
  {
    git ls-files -co --exclude-standard -- galaxy.yml meta plugins roles scripts/docs.sh | sort |
      while read -r f; do [ -f "$f" ] && { printf '%s\n' "$f"; cat "$f"; }; done
    "$bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null |
      grep -iE '^(ansible-core|antsibull-docs|sphinx|sphinx-ansible-theme)==' || true
  } | sha256sum | cut -d' ' -f1
)
if [ -f "$work/build/html/index.html" ] && [ "$(cat "$work/.inputs.sha256" 2>/dev/null || true)" = "$key" ]; then
  printf '==> docs are up to date (%s)\n' "${work#"$root"/}/build/html/index.html"
  exit 0
fi

rm -rf "$work"
mkdir -p "$work"
# antsibull-docs wants its directories writable by their owner only.
chmod 755 "$work"
printf '==> antsibull-docs sphinx-init\n'
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$work" \
  --project multicloud.fabric --title "multicloud.fabric" --copyright "multicloud.fabric contributors" \
  multicloud.fabric >/dev/null
# Offline and self-contained: the reference links only within itself.
cat >> "$work/conf.py" <<'PY'

# multicloud.fabric: build offline, without fetching intersphinx inventories. The pages antsibull-docs
# writes link to a few pages of Ansible's own documentation; those (and only those) resolve to
# their address there, so any other unresolved reference is still a warning, and fails the build.
extensions = [e for e in extensions if e != "sphinx.ext.intersphinx"]
intersphinx_mapping = {}
_ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
_ANSIBLE_LABELS = {
    "action_plugins": "plugins/action.html",
    "callback_plugins": "plugins/callback.html",
    "inventory_plugins": "plugins/inventory.html",
    "filter_plugins": "plugins/filter.html",
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}


def _ansible_reference(app, env, node, contnode):
    from docutils import nodes

    target = node.get("reftarget", "")
    if node.get("reftype") == "ref" and target in _ANSIBLE_LABELS:
        uri = _ANSIBLE_DOCS + _ANSIBLE_LABELS[target]
    elif node.get("reftype") == "envvar" and target.startswith("ANSIBLE_"):
        uri = _ANSIBLE_DOCS + "reference_appendices/config.html#envvar-" + target
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=uri)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect("missing-reference", _ansible_reference)
PY
mkdir -p "$work/rst"
chmod og-w "$work/rst"
printf '==> antsibull-docs collection multicloud.fabric\n'
antsibull-docs --config-file "$work/antsibull-docs.cfg" collection --cleanup everything --fail-on-error \
  --use-current --squash-hierarchy --dest-dir "$work/rst" multicloud.fabric
printf '==> sphinx-build (warnings are errors)\n'
sphinx-build -M html "$work/rst" "$work/build" -c "$work" -W --keep-going -q
echo "$key" > "$work/.inputs.sha256"
printf '==> docs built in %ss: %s\n' "$((SECONDS - start))" "${work#"$root"/}/build/html/index.html"
