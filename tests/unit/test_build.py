# -*- coding: utf-8 -*-
"""The published tarball holds the collection and nothing of a developer's working tree."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
JUNK = [
    ".venv/bin/python",
    ".cache/sanity/x.txt",
    ".collections/ansible_collections/x.txt",
    ".sandbox/state.json",
    ".output/summary.json",
    "tests/output/junit/x.xml",
    "plugins/module_utils/common/__pycache__/x.cpython-311.pyc",
    "multicloud-fabric-0.0.1.tar.gz",
]


def test_tarball_excludes_working_tree_files(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", ".collections", "__pycache__"))
    for junk in JUNK:
        path = tree / junk
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("junk")
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    out = tmp_path / "out"
    subprocess.run(
        [galaxy, "collection", "build", "--output-path", str(out), str(tree)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (tarball,) = out.glob("multicloud-fabric-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert "MANIFEST.json" in names
    assert "plugins/module_utils/common/retry.py" in names
    assert "meta/runtime.yml" in names
    assert "roles/sandbox/meta/argument_specs.yml" in names
    top = {".venv", ".cache", ".collections", ".sandbox", ".output", "sandbox"}
    leaked = sorted(n for n in names if n.split("/")[0] in top or n.startswith("tests/sandbox"))
    leaked += sorted(n for n in names if n.startswith("tests/output") or "__pycache__" in n or n.endswith(".tar.gz"))
    leaked += sorted(n for n in names if n in {"ansible.cfg", "Makefile", ".ci/run", ".gitignore"})
    assert leaked == []
