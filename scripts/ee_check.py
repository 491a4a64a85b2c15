#!/usr/bin/env python3
"""Check that an execution environment build context (ansible-builder create) is complete.

The check does what the image build would do, without a container:

1. reads the generated Containerfile and ``_build/`` as the build would: the ansible-core and
   ansible-runner packages (``ANSIBLE_INSTALL_REFS``), the galaxy requirements and the
   collection tarballs they name, the options of the ``introspect.py introspect`` step;
2. unpacks the collection tarballs into a collections tree, adds every collection they depend on
   (from this machine's Ansible installation, at a version that meets the dependency), and runs the
   context's own ``introspect.py`` on it, which yields the Python requirements the image installs;
3. installs those requirements and ansible-core/ansible-runner into a clean virtualenv, cached by
   the hash of that list (a warm run creates nothing);
4. finds every import in the collection's ``plugins/`` with ``ast`` (static imports, and
   ``importlib.import_module`` with a literal name, also through a helper that passes its
   argument on; not the fallbacks in ``except ImportError`` handlers) and imports each
   third-party one in that virtualenv, in isolated mode;
5. checks that the distribution each import comes from is declared by the collection itself (its
   own requirements file) or is ansible-core, not merely present as another package's dependency,
   and that no requirement is declared twice.

Usage: ee_check.py CONTEXT_DIR [--plugins DIR] [--cache DIR]. Exit status 0 when complete, 1 with
one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

COLLECTION = ("multicloud", "fabric")
# How many virtualenvs (one per distinct requirement list) the cache keeps.
KEEP_VENVS = 2

# Run inside the clean virtualenv: imports each name and says which distribution it came from.
PROBE = r"""
import importlib, importlib.metadata as md, json, os, sys
wanted = json.load(sys.stdin)
results = {}
files = {}
for name, attr in wanted:
    key = name + (":" + attr if attr else "")
    try:
        mod = importlib.import_module(name)
        if attr and not hasattr(mod, attr):
            mod = importlib.import_module(name + "." + attr)
    except Exception as exc:  # ImportError, or any error raised while importing
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    path = getattr(mod, "__file__", None)
    results[key] = {"file": os.path.realpath(path) if path else None}
    if path:
        files.setdefault(os.path.realpath(path), []).append(key)
dists = {}
for dist in md.distributions():
    for f in dist.files or ():
        real = os.path.realpath(dist.locate_file(f))
        for key in files.get(real, ()):
            dists[key] = dist.metadata["Name"]
for key, dist in dists.items():
    results[key]["distribution"] = dist
json.dump(results, sys.stdout)
"""


def say(message):
    print(f"==> {message}", flush=True)


class Problems(list):
    def add(self, message):
        self.append(message)


# --- 1. the build context --------------------------------------------------------------------


def containerfile_args(text):
    """The ARG defaults of a Containerfile: {name: value}."""
    args = {}
    for match in re.finditer(r'^ARG (\w+)="(.*)"$', text, flags=re.MULTILINE):
        args[match.group(1)] = match.group(2)
    return args


def introspect_options(text):
    """The options of the ``introspect.py introspect`` RUN step, or None when the step is absent."""
    for line in text.splitlines():
        if "/output/scripts/introspect.py introspect" in line:
            words = shlex.split(line)
            options = {}
            for word in words[words.index("introspect") + 1 :]:
                if word.startswith("--") and "=" in word:
                    key, value = word[2:].split("=", 1)
                    options[key] = value
            return options
    return None


def in_context(build_dir, container_path):
    """A path of the galaxy/builder stages (WORKDIR /build holds _build/) inside the context."""
    path = Path(container_path)
    if path.is_absolute():
        path = path.relative_to("/build") if path.is_relative_to("/build") else None
    return None if path is None else build_dir / path


# --- 2. the collections and their Python requirements -----------------------------------------


def read_manifest(tar):
    member = tar.extractfile("MANIFEST.json")
    return json.load(member)["collection_info"]


def installed_collections():
    """{(namespace, name): (version, path)} of the collections this Python's Ansible has."""
    found = {}
    for entry in sys.path:
        root = Path(entry or ".") / "ansible_collections"
        if not root.is_dir():
            continue
        for manifest in root.glob("*/*/MANIFEST.json"):
            info = json.loads(manifest.read_text())["collection_info"]
            found.setdefault((info["namespace"], info["name"]), (info["version"], manifest.parent))
    return found


def meets(version, constraint):
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements  # noqa: PLC0415

    return meets_requirements(version, constraint)


def collections_tree(tarballs, tree, problems):
    """Unpack the tarballs into tree/ansible_collections and link in what they depend on."""
    installed = installed_collections()
    present = {}
    pending = []
    for tarball in tarballs:
        with tarfile.open(tarball) as tar:
            info = read_manifest(tar)
            dest = tree / "ansible_collections" / info["namespace"] / info["name"]
            dest.mkdir(parents=True)
            tar.extractall(dest, filter="data")
        present[(info["namespace"], info["name"])] = info["version"]
        pending.extend((info["namespace"], info["name"], dep, c) for dep, c in info["dependencies"].items())
    while pending:
        parent_ns, parent_name, dep, constraint = pending.pop()
        key = tuple(dep.split(".", 1))
        if key in present:
            continue
        if key not in installed:
            problems.add(f"{parent_ns}.{parent_name} depends on {dep} {constraint}, which is not installed here")
            continue
        version, path = installed[key]
        if not meets(version, constraint):
            problems.add(f"{parent_ns}.{parent_name} needs {dep} {constraint}; the one installed here is {version}")
        dest = tree / "ansible_collections" / key[0] / key[1]
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.symlink_to(path, target_is_directory=True)
        present[key] = version
        manifest = json.loads((path / "MANIFEST.json").read_text())["collection_info"]
        pending.extend((key[0], key[1], d, c) for d, c in manifest["dependencies"].items())
    return present


def introspect(script, tree, build_dir, options, out):
    """Run the context's introspect.py as the builder stage does; return the Python requirement lines."""
    cmd = [sys.executable, str(script), "introspect", str(tree), f"--write-pip={out / 'requirements.txt'}"]
    for option in ("user-pip", "user-bindep", "exclude-pip-reqs", "exclude-bindep-reqs", "exclude-collection-reqs"):
        if option in options:
            cmd.append(f"--{option}={in_context(build_dir, options[option])}")
    cmd.append(f"--write-bindep={out / 'bindep.txt'}")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    path = out / "requirements.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line for line in lines if line.strip()]


def requirement_lines(path):
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def requirement_name(line):
    """The distribution a requirement line names (introspect appends '  # from collection x')."""
    text = line.split("#", 1)[0].strip()
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


# --- 3. the clean virtualenv ------------------------------------------------------------------


def resolved_versions():
    """The versions this checkout's own virtualenv resolved the same requirements to, as pip
    constraints: the clean install then resolves without backtracking (minutes otherwise, most of
    them spent trying one botocore after another) and tests what the collection is tested with."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line for line in out.splitlines() if "==" in line and not line.startswith("-e "))


def clean_venv(cache, requirements):
    """A virtualenv with exactly these requirements installed, reused when the list is the same."""
    constraints = resolved_versions()
    spec = "\n".join(sorted(requirements)) + "\n--\n" + "\n".join(constraints) + f"\npython {sys.version_info[:3]}\n"
    key = hashlib.sha256(spec.encode()).hexdigest()[:16]
    venv = cache / f"venv-{key}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists():
        say(f"clean virtualenv {venv.name} is up to date (requirements unchanged)")
        stamp.touch()
        return python, key
    shutil.rmtree(venv, ignore_errors=True)
    say(f"creating clean virtualenv {venv} with the EE's {len(requirements)} Python requirements")
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    reqs = venv / "requirements.txt"
    reqs.write_text("\n".join(requirements) + "\n")
    pins = venv / "constraints.txt"
    pins.write_text("\n".join(constraints) + "\n")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True)
    proc = subprocess.Popen(
        [*pip, "install", "--progress-bar", "off", "--no-compile", "-r", str(reqs), "-c", str(pins)],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith("Collecting "):
            print(f"    collecting {line.split()[1]}", flush=True)
    if proc.wait() != 0:
        raise SystemExit(f"error: pip could not install the EE's Python requirements ({reqs})")
    stamp.write_text(spec)
    say(f"installed in {time.monotonic() - start:.0f}s")
    # Keep the newest few: each holds every cloud SDK.
    venvs = sorted(cache.glob("venv-*/.installed"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in venvs[KEEP_VENVS:]:
        shutil.rmtree(old.parent, ignore_errors=True)
    return python, key


# --- 4. the imports of plugins/ ---------------------------------------------------------------


def _literal_prefix(node):
    """A string literal, or the leading literal part of an f-string up to its last full dot."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        head = node.values[0].value
        return head.rsplit(".", 1)[0] if "." in head else None
    return None


def _is_import_module(call):
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module"
    )


def _catches_import_error(handler):
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in {"ImportError", "ModuleNotFoundError"} for n in names)


def _fallback_nodes(tree):
    """Nodes inside ``except ImportError:`` handlers: alternatives of the imports their ``try`` tries first."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                if handler.type is not None and _catches_import_error(handler):
                    for stmt in handler.body:
                        inside.update(id(n) for n in ast.walk(stmt))
    return inside


def imports_of(source, filename):
    """[(module, attribute or None, line)] of one Python file.

    Imports in an ``except ImportError`` handler are fallbacks of the ``try`` body (an older
    release's layout, say): the body's imports are the ones that must resolve.
    """
    tree = ast.parse(source, filename=filename)
    fallback = _fallback_nodes(tree)
    found = []
    # Helpers that hand one of their parameters to importlib.import_module.
    helpers = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [a.arg for a in node.args.args]
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and _is_import_module(call)
                    and call.args
                    and isinstance(call.args[0], ast.Name)
                    and call.args[0].id in params
                ):
                    helpers[node.name] = params.index(call.args[0].id)
    for node in ast.walk(tree):
        if id(node) in fallback:
            continue
        if isinstance(node, ast.Import):
            found.extend((alias.name, None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                continue  # relative: inside the collection
            found.extend((node.module, alias.name if alias.name != "*" else None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.Call):
            position = None
            if _is_import_module(node):
                position = 0
            elif isinstance(node.func, ast.Name) and node.func.id in helpers:
                position = helpers[node.func.id]
            if position is not None and len(node.args) > position:
                name = _literal_prefix(node.args[position])
                if name:
                    found.append((name, None, node.lineno))
    return found


def third_party_imports(plugins):
    """{(module, attribute): [where]} of the imports that come from neither the stdlib nor Ansible's collections."""
    stdlib = set(sys.stdlib_module_names)
    result = {}
    for path in sorted(plugins.rglob("*.py")):
        rel = path.relative_to(plugins.parent)
        for module, attr, line in imports_of(path.read_text(), str(path)):
            top = module.split(".")[0]
            if top in stdlib or top == "ansible_collections":
                continue
            result.setdefault((module, attr), []).append(f"{rel}:{line}")
    return result


def probe(python, imports, cache, venv_key):
    """Import every name in the clean virtualenv; the result is cached by (virtualenv, imports)."""
    wanted = sorted(imports)
    key = hashlib.sha256(json.dumps([venv_key, wanted, PROBE]).encode()).hexdigest()[:16]
    cached = python.parent.parent / f".probe-{key}.json"
    if cached.exists():
        return json.loads(cached.read_text()), True
    with tempfile.TemporaryDirectory() as cwd:
        # -I: isolated (no PYTHONPATH, no user site, not the current directory), from an empty directory.
        proc = subprocess.run(
            [str(python), "-I", "-c", PROBE],
            input=json.dumps(wanted),
            capture_output=True,
            text=True,
            cwd=cwd,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit(f"error: the import probe failed in {python}:\n{proc.stderr}")
    results = json.loads(proc.stdout)
    for old in python.parent.parent.glob(".probe-*.json"):
        old.unlink()
    cached.write_text(proc.stdout)
    return results, False


# --- the check --------------------------------------------------------------------------------


def check(context, plugins, cache):
    start = time.monotonic()
    problems = Problems()
    build = context / "_build"
    containerfile = context / "Containerfile"
    if not containerfile.is_file():
        raise SystemExit(f"error: {containerfile} is missing: run ansible-builder create first")
    text = containerfile.read_text()
    args = containerfile_args(text)
    install_refs = shlex.split(args.get("ANSIBLE_INSTALL_REFS", ""))
    if not any(requirement_name(r) == "ansible-core" for r in install_refs):
        problems.add("the EE installs no ansible-core (dependencies.ansible_core in the EE definition)")
    if not any(requirement_name(r) == "ansible-runner" for r in install_refs):
        problems.add("the EE installs no ansible-runner (dependencies.ansible_runner in the EE definition)")
    options = introspect_options(text)
    if options is None:
        raise SystemExit("error: the Containerfile has no introspect step: the EE declares no dependencies")
    for option, value in options.items():
        if option.startswith(("user-", "exclude-")) and not (path := in_context(build, value)).is_file():
            problems.add(f"the introspect step reads {value} (--{option}), which is not in the context ({path})")

    galaxy = build / "requirements.yml"
    tarballs = []
    if galaxy.is_file():
        for entry in (yaml.safe_load(galaxy.read_text()) or {}).get("collections") or []:
            if isinstance(entry, dict) and entry.get("type") == "file":
                path = in_context(build, entry["name"])
                if path is None or not path.is_file():
                    problems.add(f"the galaxy requirements name {entry['name']}, which is not in the context")
                else:
                    tarballs.append(path)
    if problems:
        return problems

    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "collections"
        present = collections_tree(tarballs, tree, problems)
        if COLLECTION not in present:
            problems.add(f"no {'.'.join(COLLECTION)} tarball in the context's galaxy requirements")
            return problems
        ours = tree / "ansible_collections" / COLLECTION[0] / COLLECTION[1]
        ee_meta = yaml.safe_load((ours / "meta" / "execution-environment.yml").read_text())
        own_file = ours / ee_meta["dependencies"]["python"]
        own_lines = requirement_lines(own_file)
        own = [requirement_name(line) for line in own_lines]
        for name in sorted({n for n in own if own.count(n) > 1}):
            problems.add(f"{own_file.name} declares {name} more than once")
        user_pip = options.get("user-pip")
        if user_pip:
            for line in requirement_lines(in_context(build, user_pip)):
                if requirement_name(line) in own:
                    problems.add(f"the EE definition declares {line!r} again; the collection's {own_file.name} has it")
        requirements = introspect(build / "scripts" / "introspect.py", tree, build, options, Path(tmp))
        collections = ", ".join(f"{ns}.{n} {v}" for (ns, n), v in sorted(present.items()))
        say(f"introspected {collections}: {len(requirements)} Python requirements")

    python, venv_key = clean_venv(cache, [line.split("#", 1)[0].strip() for line in requirements] + install_refs)
    imports = third_party_imports(plugins)
    results, warm = probe(python, imports, cache, venv_key)
    declared = {n for n in own if n} | {"ansible-core"}
    for (module, attr), where in sorted(imports.items()):
        name = module + (f".{attr}" if attr else "")
        result = results[module + (f":{attr}" if attr else "")]
        if "error" in result:
            problems.add(f"{name} ({where[0]}) does not import from the EE's requirements: {result['error']}")
            continue
        dist = result.get("distribution")
        if dist and canonicalize_name(dist) not in declared:
            problems.add(
                f"{name} ({where[0]}) comes from {dist}, which {own_file.name} does not declare "
                "(it is there only as another package's dependency)"
            )
    say(
        f"{len(imports)} third-party imports in {plugins.name}/ checked "
        f"({'cached result' if warm else 'imported'} in a clean virtualenv) in {time.monotonic() - start:.1f}s"
    )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("context", type=Path, help="the build context ansible-builder created")
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--plugins", type=Path, default=root / "plugins", help="the plugins/ to scan")
    # Outside the checkout, like the sandbox's binaries: a fresh clone reuses the virtualenv.
    default_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "multicloud-fabric" / "ee"
    parser.add_argument("--cache", type=Path, default=default_cache, help="where the virtualenvs live")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    problems = check(args.context.resolve(), args.plugins.resolve(), args.cache.resolve())
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"error: the execution environment build context {args.context} is incomplete", file=sys.stderr)
        return 1
    say(f"the build context {args.context} is complete")
    return 0


if __name__ == "__main__":
    os.environ.pop("PYTHONPATH", None)
    sys.exit(main())
