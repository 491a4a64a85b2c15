"""Every program the user docs tell people to run is named in the README's requirements."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Installed into .venv by `make` (scripts/bootstrap.sh), or shell builtins.
PROVIDED = {"ansible-playbook", "ansible-doc", "ansible-inventory", "mc-sandbox", "export", "cd", "source"}


def _commands(markdown):
    """First word of every command in the ```sh blocks of ``markdown``."""
    for block in re.findall(r"```sh\n(.*?)```", markdown, re.S):
        for line in block.splitlines():
            code = line.split("#", 1)[0]
            for command in re.split(r";|&&|\|", code):
                words = command.split()
                if words:
                    yield words[0].rsplit("/", 1)[-1] if words[0].startswith(".venv/") else words[0]


def _requirements(readme):
    """The README's "You need ..." sentence and its Requirements section."""
    need = re.search(r"You need (.*?)\.\n\n", readme, re.S)
    section = re.search(r"## Requirements\n(.*?)\n## ", readme, re.S)
    return (need[1] if need else "") + (section[1] if section else "")


def test_every_program_the_docs_run_is_a_stated_requirement():
    readme = (ROOT / "README.md").read_text()
    stated = _requirements(readme)
    docs = [readme, (ROOT / "docs" / "getting-started.md").read_text()]
    used = {command for text in docs for command in _commands(text)} - PROVIDED
    assert "kubectl" in used
    missing = sorted(tool for tool in used if f"`{tool}`" not in stated)
    assert not missing, f"the docs run {missing} but the README's requirements do not name them"
