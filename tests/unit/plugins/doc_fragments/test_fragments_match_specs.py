# -*- coding: utf-8 -*-
"""The documentation fragments and the argument-spec builders describe the same options.

Checked twice: on the fragments' own YAML, and on what ``ansible-doc`` shows for a module that
extends every fragment, so that the docs users read cannot drift from what modules accept.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import yaml

from ansible_collections.multicloud.fabric.plugins.module_utils.common import args as A

ROOT = pathlib.Path(__file__).resolve().parents[4]  # the checkout: tests/unit/plugins/doc_fragments/<this file>
TABLES = {**A.PROVIDER_OPTIONS, "wait": A.WAIT_OPTIONS}


def fragment_options(name):
    module = importlib.import_module(f"ansible_collections.multicloud.fabric.plugins.doc_fragments.{name}")
    return yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"]


def assert_same(documented, table):
    assert sorted(documented) == sorted(table)
    for name, option in table.items():
        doc = documented[name]
        where = f"option {name}"
        assert doc.get("type", "str") == option["type"], where
        assert doc.get("default") == option.get("default"), where
        assert doc.get("choices") == option.get("choices"), where
        assert doc.get("elements") == option.get("elements"), where
        assert bool(doc.get("required", False)) == bool(option.get("required", False)), where
        description = " ".join(doc["description"] if isinstance(doc["description"], list) else [doc["description"]])
        for variable in option.get("env", ()):
            assert f"E({variable})" in description, f"{where} does not document environment variable {variable}"
        if option.get("no_log"):
            assert "Never logged" in description, f"{where} is no_log but its doc does not say so"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_fragment_yaml_matches_table(name):
    assert_same(fragment_options(name), TABLES[name])


def test_argument_spec_builders_use_env_fallbacks():
    spec = A.provider_argument_spec("aws", "gcp", "azure")
    assert spec["aws_secret_key"]["no_log"] is True
    assert spec["gcp_project"]["fallback"][1] == [
        "GCP_PROJECT",
        "GOOGLE_CLOUD_PROJECT",
        "CLOUDSDK_CORE_PROJECT",
        "GCE_PROJECT",
    ]
    assert all("env" not in option for option in spec.values())
    # builders hand out copies: a module changing its spec cannot change another module's
    spec["gcp_scopes"]["default"].append("x")
    assert A.provider_argument_spec("gcp")["gcp_scopes"]["default"] == [
        "https://www.googleapis.com/auth/cloud-platform"
    ]
    with pytest.raises(ValueError, match="unknown provider 'oci'"):
        A.provider_argument_spec("oci")


def test_option_names_are_unique_across_providers():
    names = [name for table in TABLES.values() for name in table]
    assert len(names) == len(set(names))


def test_provider_params():
    params = {"aws_profile": "prod", "gcp_project": "p", "aws_access_key": None}
    assert A.provider_params(params, "aws") == {
        "aws_access_key": None,
        "aws_secret_key": None,
        "aws_session_token": None,
        "aws_profile": "prod",
        "aws_endpoint_url": None,
        "aws_ca_bundle": None,
    }


PROBE = '''
DOCUMENTATION = r"""
module: probe
short_description: Extends every multicloud.fabric fragment
description: [Used by the unit tests only.]
author: [multicloud.fabric maintainers]
options: {}
extends_documentation_fragment:
  - multicloud.fabric.attributes
  - multicloud.fabric.aws
  - multicloud.fabric.gcp
  - multicloud.fabric.azure
  - multicloud.fabric.cloudflare
  - multicloud.fabric.wait
"""
'''


def test_ansible_doc_expands_the_fragments(tmp_path):
    modules = tmp_path / "ansible_collections" / "probe" / "probe" / "plugins" / "modules"
    modules.mkdir(parents=True)
    (modules / "probe.py").write_text(textwrap.dedent(PROBE))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=f"{tmp_path}:{ROOT}/.collections")
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    out = subprocess.run(
        [ansible_doc, "--json", "probe.probe.probe"], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)["probe.probe.probe"]["doc"]
    every = {name: option for table in TABLES.values() for name, option in table.items()}
    assert_same(doc["options"], every)
    assert doc["attributes"]["action_group"]["membership"] == ["multicloud.fabric.mc"]
    assert doc["attributes"]["check_mode"]["support"] == "full"
