"""mc_sandbox/kube/build.sh's cache: the current pin's binary and one previous stay, older ones go."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time

from mc_sandbox.core import config

BUILD = config.KUBE_SOURCE / "build.sh"


def build(**env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(BUILD)], env=dict(os.environ, **env), capture_output=True, text=True, timeout=1800, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def entry(kube: pathlib.Path, name: str, hours_ago: float, *files: str) -> pathlib.Path:
    path = kube / name
    path.mkdir(parents=True)
    for file in files:
        (path / file).write_text("a binary of another pin")
    when = time.time() - hours_ago * 3600
    for item in (*path.iterdir(), path):
        os.utime(item, (when, when))
    return path


def test_old_binaries_are_pruned_keeping_the_current_pin_and_one_previous(tmp_path):
    real = pathlib.Path(build().stdout.strip().splitlines()[-1])
    key = real.parent.name
    kube = tmp_path / "cache" / "kube"
    (kube / key).mkdir(parents=True)
    (kube / key / "mc-kube").symlink_to(real)  # this pin, already built: no compile
    os.utime(kube / key, (time.time() - 500 * 3600,) * 2)  # used long ago, still the current pin
    entry(kube, "00000000000000a1", 300, "mc-kube")
    entry(kube, "00000000000000a2", 200, "mc-kube")
    entry(kube, "00000000000000a3", 100, "mc-kube")  # the previous pin: used last before this one
    building = entry(kube, "00000000000000b1", 400)  # another pin being built right now
    (building / ".mc-kube.tmp.x1y2z3").write_text("half a binary")

    result = build(MC_SANDBOX_CACHE=str(tmp_path / "cache"))
    assert result.stdout.strip() == str(kube.resolve() / key / "mc-kube")
    assert sorted(p.name for p in kube.iterdir()) == sorted([key, "00000000000000a3", "00000000000000b1"])
    assert "removing the old cached binary" in result.stderr

    # the next run keeps what it kept; the current pin's entry is now the most recently used
    build(MC_SANDBOX_CACHE=str(tmp_path / "cache"))
    assert sorted(p.name for p in kube.iterdir()) == sorted([key, "00000000000000a3", "00000000000000b1"])
    assert (kube / key).stat().st_mtime > (kube / "00000000000000a3").stat().st_mtime
    assert (kube / key / "mc-kube").resolve() == real and real.is_file()
