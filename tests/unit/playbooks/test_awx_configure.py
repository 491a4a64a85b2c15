# -*- coding: utf-8 -*-
"""playbooks/awx/configure.yml against the awx.awx modules' own argument specs.

The playbook cannot run against a Controller here, so every awx.awx task's arguments are checked
against the argument spec that module really builds: each module's ``main()`` runs with
``AnsibleModule.__init__`` replaced by a function that captures its arguments and stops. An
unknown or misspelled option (or suboption), a missing required option, a literal value outside
an option's choices or two mutually exclusive options fail the test.
"""

from __future__ import annotations

import importlib
import pathlib
from collections.abc import Mapping

import pytest
import yaml
from ansible.module_utils import basic

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK = ROOT / "playbooks" / "awx" / "configure.yml"
CREDENTIAL_TYPES = sorted((ROOT / "extensions" / "awx" / "credential_types").glob("*.yml"))


class _Captured(Exception):
    def __init__(self, kwargs):
        super().__init__("argument spec captured")
        self.kwargs = kwargs


_SPECS = {}


def module_spec(fqcn):
    """The keyword arguments (argument_spec, mutually_exclusive, ...) awx.awx's module gives AnsibleModule."""
    if fqcn not in _SPECS:
        namespace, collection, name = fqcn.split(".")
        module = importlib.import_module(f"ansible_collections.{namespace}.{collection}.plugins.modules.{name}")

        def capture(self, *args, **kwargs):
            if args:
                kwargs["argument_spec"] = args[0]
            raise _Captured(kwargs)

        original = basic.AnsibleModule.__init__
        basic.AnsibleModule.__init__ = capture
        try:
            module.main()
        except _Captured as captured:
            _SPECS[fqcn] = captured.kwargs
        else:  # pragma: no cover - every awx.awx module builds an AnsibleModule
            raise AssertionError(f"{fqcn}.main() built no AnsibleModule")
        finally:
            basic.AnsibleModule.__init__ = original
    return _SPECS[fqcn]


def _templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_args(args, spec, where, mutually_exclusive=(), required_one_of=()):
    """Problems of one set of arguments (a task's, or a suboption's) against an argument spec."""
    problems = []
    names = {}
    for option, entry in spec.items():
        names[option] = option
        for alias in entry.get("aliases") or ():
            names[alias] = option
    for key, value in args.items():
        if key not in names:
            problems.append(f"{where}: unknown option {key!r} (expected one of {', '.join(sorted(spec))})")
            continue
        entry = spec[names[key]]
        if _templated(value):
            continue
        choices = entry.get("choices")
        if choices and entry.get("type") != "list" and value not in choices and str(value) not in map(str, choices):
            problems.append(f"{where}.{key}: {value!r} is not one of {choices}")
        suboptions = entry.get("options")
        if suboptions and isinstance(value, Mapping) and entry.get("type", "str") == "dict":
            problems.extend(check_args(value, suboptions, f"{where}.{key}"))
        if suboptions and isinstance(value, list) and entry.get("elements") == "dict":
            for index, element in enumerate(value):
                if isinstance(element, Mapping):
                    problems.extend(check_args(element, suboptions, f"{where}.{key}[{index}]"))
    given = {names[key] for key in args if key in names}
    for option, entry in spec.items():
        if entry.get("required") and option not in given:
            problems.append(f"{where}: required option {option!r} is missing")
    for group in mutually_exclusive or ():
        both = [option for option in group if option in given]
        if len(both) > 1:
            problems.append(f"{where}: {both} are mutually exclusive")
    for group in required_one_of or ():
        if not any(option in given for option in group):
            problems.append(f"{where}: one of {list(group)} is required")
    return problems


def awx_tasks(playbook):
    """(task name, module FQCN, arguments) of every awx.awx task of the playbook."""
    for play in playbook:
        for task in play.get("tasks") or []:
            modules = [key for key in task if key.startswith("awx.awx.")]
            for fqcn in modules:
                yield task.get("name", fqcn), fqcn, task[fqcn] or {}


def problems_of(playbook):
    problems = []
    for name, fqcn, args in awx_tasks(playbook):
        kwargs = module_spec(fqcn)
        problems.extend(
            check_args(
                args,
                kwargs["argument_spec"],
                f"{name} ({fqcn})",
                kwargs.get("mutually_exclusive"),
                kwargs.get("required_one_of"),
            )
        )
    return problems


@pytest.fixture(scope="module")
def playbook():
    return yaml.safe_load(PLAYBOOK.read_text())


def test_every_awx_task_matches_its_modules_argument_spec(playbook):
    tasks = list(awx_tasks(playbook))
    modules = {task[1] for task in tasks}
    # What the playbook is for: each of these objects is created as code.
    assert modules >= {
        "awx.awx.organization",
        "awx.awx.execution_environment",
        "awx.awx.credential_type",
        "awx.awx.credential",
        "awx.awx.project",
        "awx.awx.inventory",
        "awx.awx.inventory_source",
        "awx.awx.job_template",
        "awx.awx.workflow_job_template",
        "awx.awx.schedule",
    }
    assert problems_of(playbook) == []


def test_a_misspelled_option_and_suboption_fail(playbook):
    broken = yaml.safe_load(PLAYBOOK.read_text())
    for task in broken[0]["tasks"]:
        if task.get("awx.awx.project"):
            task["awx.awx.project"]["scm_update_on_lauch"] = task["awx.awx.project"].pop("scm_update_on_launch")
        if task.get("awx.awx.job_template", {}).get("survey_enabled"):
            task["awx.awx.job_template"]["job_type"] = "drill"
    problems = problems_of(broken)
    assert any("unknown option 'scm_update_on_lauch'" in p for p in problems), problems
    assert any("job_type: 'drill' is not one of" in p for p in problems), problems


def test_spec_capture_sees_the_authentication_options():
    spec = module_spec("awx.awx.job_template")["argument_spec"]
    # From the module itself and from ControllerModule's shared authentication options.
    assert {"name", "playbook", "survey_spec", "controller_host", "controller_oauthtoken"} <= set(spec)


@pytest.mark.parametrize("path", CREDENTIAL_TYPES, ids=[p.stem for p in CREDENTIAL_TYPES])
def test_credential_type_definitions_are_complete(path):
    definition = yaml.safe_load(path.read_text())
    spec = module_spec("awx.awx.credential_type")["argument_spec"]
    assert check_args(definition, spec, path.name) == []
    fields = {field["id"]: field for field in definition["inputs"]["fields"]}
    assert set(definition["inputs"].get("required", [])) <= set(fields)
    injected = yaml.safe_dump(definition["injectors"])
    # Every input reaches the job, and every secret input is marked secret.
    for field_id, field in fields.items():
        assert "{{ " + field_id + " }}" in injected, f"{path.name}: input {field_id} is never injected"
        if any(word in field_id for word in ("token", "key", "endpoints")):
            assert field.get("secret"), f"{path.name}: input {field_id} is not secret"
    # File templates are referenced by the variables that name their paths.
    for template in definition["injectors"].get("file", {}):
        suffix = template.split(".", 1)[1] if "." in template else None
        reference = "tower.filename" + (f".{suffix}" if suffix else "")
        assert reference in injected, f"{path.name}: the file {template} is never named to the job"
