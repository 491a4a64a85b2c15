# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig entries for a cluster, and merging them into one file safely.

Several hosts of one play (one per cluster) write the same kubeconfig at the same time: every
merge holds an exclusive ``flock`` on ``<path>.lock`` while it reads, merges and replaces the file
with an atomic rename, so no update is lost and readers never see a half-written file. The file is
created with mode 0600 (it holds credentials).
"""

from __future__ import annotations

import copy
import fcntl
import os
import tempfile

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

try:
    import yaml

    HAS_YAML = True
except ImportError:  # PyYAML comes with ansible-core on the controller
    HAS_YAML = False


def _require_yaml():
    if not HAS_YAML:
        raise ValidationError("kubeconfig", "needs the Python package PyYAML (pip install PyYAML)")


def _plain(obj):
    """Plain dicts, lists and strings: templated values (str subclasses) cannot be safe-dumped."""
    if isinstance(obj, dict):
        return {str(key): _plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(value) for value in obj]
    if isinstance(obj, str):
        return str(obj)
    return obj


def entry(cluster, user, context):
    """A kubeconfig (one cluster, one user, one context, all named ``context``)."""
    cluster_entry = {"server": cluster["endpoint"]}
    if cluster.get("ca_data"):
        cluster_entry["certificate-authority-data"] = cluster["ca_data"]
    return _plain(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster_entry}],
            "users": [{"name": context, "user": user}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "preferences": {},
        }
    )


def _upsert(items, new):
    for index, item in enumerate(items):
        if item.get("name") == new["name"]:
            items[index] = new
            return
    items.append(new)


def merge(config, addition, set_current=False):
    """``config`` with the clusters, users and contexts of ``addition`` added or replaced by name."""
    merged = copy.deepcopy(config) if config else {}
    merged.setdefault("apiVersion", "v1")
    merged.setdefault("kind", "Config")
    merged.setdefault("preferences", {})
    for key in ("clusters", "users", "contexts"):
        merged[key] = list(merged.get(key) or [])
        for item in addition.get(key) or []:
            _upsert(merged[key], copy.deepcopy(item))
    if set_current or not merged.get("current-context"):
        merged["current-context"] = addition.get("current-context")
    return merged


def remove(config, context):
    """``config`` without the context ``context`` and the cluster and user of the same name."""
    merged = copy.deepcopy(config) if config else {}
    for key in ("clusters", "users", "contexts"):
        merged[key] = [item for item in merged.get(key) or [] if item.get("name") != context]
    if merged.get("current-context") == context:
        merged["current-context"] = merged["contexts"][0]["name"] if merged["contexts"] else ""
    return merged


def _load(path):
    _require_yaml()
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        return None
    except yaml.YAMLError as exc:
        raise ValidationError("kubeconfig.path", f"{path} is not a kubeconfig file ({exc})") from None
    if data is not None and not isinstance(data, dict):
        raise ValidationError("kubeconfig.path", f"{path} is not a kubeconfig file (not a mapping)")
    return data


# User fields that hold short-lived credentials the clouds hand out anew on every request.
CREDENTIAL_FIELDS = ("token", "client-certificate-data", "client-key-data")


def _without_tokens(config):
    """``config`` with credentials blanked: a refreshed token or client certificate is not a change."""
    if not config:
        return config
    stripped = copy.deepcopy(config)
    for user in stripped.get("users") or []:
        entry = user.get("user")
        if isinstance(entry, dict):
            for field in CREDENTIAL_FIELDS:
                if field in entry:
                    entry[field] = ""
    return stripped


def update_file(path, change, check_mode=False):
    """Apply ``change(config) -> config`` to the kubeconfig at ``path`` under its lock.

    Returns True when the file changed or would change in check mode, not counting refreshed
    credentials (they are still written).
    """
    path = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(path)
    if check_mode:
        current = _load(path)
        return _without_tokens(change(current)) != _without_tokens(current)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            current = _load(path)
            updated = change(current)
            if updated == current:
                return False
            handle, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    yaml.safe_dump(updated, out, default_flow_style=False, sort_keys=False)
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            return _without_tokens(updated) != _without_tokens(current)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def merge_file(path, addition, check_mode=False):
    """Merge ``addition`` into the kubeconfig at ``path``; True when that changed it."""
    return update_file(path, lambda config: merge(config, addition), check_mode)


def remove_file(path, context, check_mode=False):
    """Remove ``context`` (and its cluster and user) from the kubeconfig at ``path``, if there."""
    path = os.path.abspath(os.path.expanduser(path))
    current = _load(path)
    if not current or not any(c.get("name") == context for c in current.get("contexts") or []):
        return False
    return update_file(path, lambda config: remove(config, context) if config else config, check_mode)


def has_context(path, context, cluster):
    """Whether ``path`` already has ``context`` pointing at ``cluster``'s endpoint and CA."""
    config = _load(os.path.abspath(os.path.expanduser(path)))
    if not config:
        return False
    found = {c.get("name"): c.get("cluster") or {} for c in config.get("clusters") or []}.get(context)
    return (
        bool(found)
        and found.get("server") == cluster.get("endpoint")
        and (found.get("certificate-authority-data") == cluster.get("ca_data"))
    )
