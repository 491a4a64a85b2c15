# -*- coding: utf-8 -*-
"""The thin module wrapper: results and failures come out masked and well formed."""

from __future__ import annotations

import contextlib
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import (
    provider_argument_spec,
    wait_argument_spec,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.diff import MASK, build_diff
from ansible_collections.multicloud.fabric.plugins.module_utils.common.module import FabricModule, run

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 / 2.18

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


TOKEN = "aws-secret-0123456789"
SPEC = {"name": {"type": "str", "required": True}, **provider_argument_spec("aws"), **wait_argument_spec()}


def run_module(handler, args):
    """Run handler through FabricModule/run and return the exit code."""
    with patch_module_args(args), pytest.raises(SystemExit) as done:
        run(FabricModule(argument_spec=SPEC), handler)
    return done.value.code


def output(capsys):
    return json.loads(capsys.readouterr().out)


def test_exit_with_result_and_diff_masked(capsys):
    def handler(module):
        assert module.params["wait_timeout"] == 1800
        after = {"name": module.params["name"], "auth": f"Bearer {TOKEN}"}
        return {"changed": True, "diff": build_diff(None, after), "pool": after}

    code = run_module(handler, {"name": "p1", "aws_secret_key": TOKEN, "_ansible_diff": True})
    out = output(capsys)
    assert code == 0
    assert out["changed"] is True
    assert out["pool"]["auth"] == f"Bearer {MASK}"
    assert out["diff"]["after"]["auth"] == f"Bearer {MASK}"
    assert TOKEN not in json.dumps(out)


def test_diff_left_out_unless_diff_mode(capsys):
    run_module(lambda m: {"changed": False, "diff": {"before": {}, "after": {}}}, {"name": "p"})
    out = output(capsys)
    assert out["changed"] is False
    assert "diff" not in out


def test_typed_error_fails_with_readable_message_and_no_secret(capsys):
    def handler(module):
        raise E.AuthenticationError(
            f"token {TOKEN} is invalid", cloud="aws", resource="pool p1", call="pools.create", status=401
        )

    code = run_module(handler, {"name": "p1", "aws_secret_key": TOKEN})
    out = output(capsys)
    assert code == 1
    assert out["failed"] is True
    assert out["msg"].startswith("aws: pool p1: pools.create failed (401): token ")
    assert "What to do: check the credentials" in out["msg"]
    assert out["error"]["kind"] == "authentication"
    assert TOKEN not in json.dumps(out)


def test_unexpected_error_is_reported_with_masked_traceback(capsys):
    def handler(module):
        raise RuntimeError(f"bug while using {TOKEN}")

    code = run_module(handler, {"name": "p1", "aws_secret_key": TOKEN})
    out = output(capsys)
    assert code == 1
    assert out["msg"].startswith("unexpected error in multicloud.fabric (RuntimeError): bug while using")
    assert TOKEN not in json.dumps(out)


def test_token_from_environment_is_masked_too(capsys, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TOKEN)

    def handler(module):
        assert module.params["aws_secret_key"] == TOKEN
        return {"changed": False, "echo": module.params["aws_secret_key"]}

    run_module(handler, {"name": "p1"})
    assert output(capsys)["echo"] == MASK


def test_module_deadline_comes_from_wait_timeout(capsys):
    seen = {}

    def handler(module):
        deadline = module.deadline()
        seen["timeout"] = deadline.timeout
        seen["same"] = module.deadline() is deadline
        seen["retrier"] = module.retrier("aws").deadline is deadline
        return {}

    run_module(handler, {"name": "p1", "wait_timeout": 42})
    capsys.readouterr()
    assert seen == {"timeout": 42.0, "same": True, "retrier": True}


def test_bad_input_names_the_field(capsys):
    with patch_module_args({"name": "p1", "wait_timeout": "soon"}), pytest.raises(SystemExit) as done:
        FabricModule(argument_spec=SPEC)
    out = output(capsys)
    assert done.value.code == 1
    assert "wait_timeout" in out["msg"]


# A list of dictionaries given something else: the error names the element (node_pools[0]), not only
# Ansible's "dictionary requested, could not parse JSON or key=value".
POOLS_SPEC = {
    "name": {"type": "str", "required": True},
    "node_pools": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "count": {"type": "int"},
            "taints": {"type": "list", "elements": "dict", "options": {"key": {"type": "str"}}},
        },
    },
    **provider_argument_spec("aws"),
}


def fail_with(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as done:
        run(FabricModule(argument_spec=POOLS_SPEC), lambda m: pytest.fail("the handler must not run"))
    assert done.value.code == 1
    return output(capsys)


@pytest.mark.parametrize(
    ("node_pools", "field", "said"),
    [
        ("system", "node_pools[0]", "got a string (node_pools is a string; it takes a list of dictionaries)"),
        (["system"], "node_pools[0]", "with name, count, taints; got a string"),
        ([{"name": "system"}, 3], "node_pools[1]", "with name, count, taints; got int"),
        ([{"name": "a", "taints": ["NoSchedule"]}], "node_pools[0].taints[0]", "with key; got a string"),
    ],
)
def test_list_of_dictionaries_given_something_else_names_the_element(capsys, node_pools, field, said):
    out = fail_with(capsys, {"name": "c", "node_pools": node_pools, "aws_secret_key": TOKEN})
    assert out["error"]["field"] == field, out["msg"]
    assert f"invalid value for '{field}'" in out["msg"] and said in out["msg"], out["msg"]
    assert TOKEN not in json.dumps(out)


def test_elements_ansible_can_read_as_dictionaries_still_work(capsys):
    seen = {}

    def handler(module):
        seen["pools"] = module.params["node_pools"]
        return {}

    with patch_module_args({"name": "c", "node_pools": ["name=system count=2"]}), pytest.raises(SystemExit):
        run(FabricModule(argument_spec=POOLS_SPEC), handler)
    capsys.readouterr()
    assert seen["pools"] == [{"name": "system", "count": 2, "taints": None}]


def test_other_errors_of_the_spec_still_come_from_ansible(capsys):
    out = fail_with(capsys, {"name": "c", "node_pools": [{"count": 1}]})
    assert "name" in out["msg"] and "node_pools" in out["msg"] and "error" not in out
