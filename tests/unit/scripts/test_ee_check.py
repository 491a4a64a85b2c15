# -*- coding: utf-8 -*-
"""scripts/ee_check.py: which imports of plugins/ the execution environment must satisfy."""

from __future__ import annotations

import importlib.util
import pathlib
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("ee_check", ROOT / "scripts" / "ee_check.py")
ee_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ee_check)


def _imports(source):
    return {entry[:2] for entry in ee_check.imports_of(textwrap.dedent(source), "x.py")}


def test_static_imports_inside_try_and_functions_count():
    found = _imports(
        """
        import boto3
        try:
            from google.cloud import container_v1
        except ImportError:
            container_v1 = None

        def late():
            from azure.mgmt.network import NetworkManagementClient
            return NetworkManagementClient
        """
    )
    assert found == {
        ("boto3", None),
        ("google.cloud", "container_v1"),
        ("azure.mgmt.network", "NetworkManagementClient"),
    }


def test_fallbacks_in_import_error_handlers_are_not_required():
    found = _imports(
        """
        try:
            from azure.mgmt.resource.resources import ResourceManagementClient
        except ImportError:
            from azure.mgmt.resource import ResourceManagementClient
        """
    )
    assert found == {("azure.mgmt.resource.resources", "ResourceManagementClient")}


def test_import_module_with_a_literal_also_through_a_helper():
    found = _imports(
        """
        import importlib

        def _sdk(module):
            return importlib.import_module(module)

        def networks(service):
            sdk = _sdk("google.cloud.compute_v1")
            transports = _sdk(f"google.cloud.compute_v1.services.{service}.transports.rest")
            return importlib.import_module("kubernetes.client"), sdk, transports
        """
    )
    assert ("google.cloud.compute_v1", None) in found
    # An f-string: its literal part up to the last full dot.
    assert ("google.cloud.compute_v1.services", None) in found
    assert ("kubernetes.client", None) in found


def test_stdlib_and_collection_imports_are_not_third_party(tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "modules").mkdir(parents=True)
    (plugins / "modules" / "m.py").write_text(
        "from __future__ import annotations\nimport json\n"
        "from ansible_collections.multicloud.fabric.plugins.module_utils.common import args\n"
        "from ansible.module_utils.basic import AnsibleModule\nimport yaml\nfrom . import sibling\n"
    )
    found = ee_check.third_party_imports(plugins)
    assert set(found) == {("ansible.module_utils.basic", "AnsibleModule"), ("yaml", None)}
    assert found[("yaml", None)] == ["plugins/modules/m.py:5"]


def test_the_collections_plugins_are_scanned_whole():
    found = ee_check.third_party_imports(ROOT / "plugins")
    tops = {key[0].split(".")[0] for key in found}
    assert {"ansible", "boto3", "botocore", "google", "azure", "kubernetes", "requests", "yaml"} <= tops
    # The lazily imported Compute SDK is found although no import statement names it.
    assert ("google.cloud.compute_v1", None) in found


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("boto3>=1.34.0", "boto3"),
        ("PyYAML>=6.0  # from collection multicloud.fabric", "pyyaml"),
        ("google_auth>=2.28.0", "google-auth"),
    ],
)
def test_requirement_names_are_canonical(line, name):
    assert ee_check.requirement_name(line) == name


def test_containerfile_introspect_options_and_refs():
    text = (
        'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.17.0,<2.20 ansible-runner>=2.4.0,<2.5"\n'
        "RUN $PYCMD /output/scripts/introspect.py introspect --user-pip=requirements.txt "
        "--write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt\n"
    )
    assert ee_check.containerfile_args(text)["ANSIBLE_INSTALL_REFS"].split() == [
        "ansible-core>=2.17.0,<2.20",
        "ansible-runner>=2.4.0,<2.5",
    ]
    options = ee_check.introspect_options(text)
    assert options["user-pip"] == "requirements.txt"
    assert ee_check.in_context(pathlib.Path("/ctx/_build"), options["user-pip"]) == pathlib.Path(
        "/ctx/_build/requirements.txt"
    )
