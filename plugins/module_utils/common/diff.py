# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one diff helper: before/after for diff mode, with every secret masked.

Secrets are found two ways: by key name (``password``, ``*_token``, ``psk``, ``kubeconfig``, ...)
and by value (the module's ``no_log`` values, wherever they appear inside strings).
"""

from __future__ import annotations

import re

MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# Compared after lower-casing and dropping '_' and '-': "preSharedKey", "pre_shared_key" and
# "pre-shared-key" are the same key.
_SECRET_SUFFIXES = (
    "password",
    "passwd",
    "secret",
    "token",
    "psk",
    "psks",
    "presharedkey",
    "presharedkeys",
    "sharedkey",
    "privatekey",
    "privatekeydata",
    "clientkeydata",
    "clientkey",
    "secretkey",
    "apikey",
    "kubeconfig",
    "connectionstring",
    "serviceaccountcontents",
    "credentials",
)
_NORMALISE = re.compile(r"[_\-\s]")


def is_secret_key(name):
    """True when a key's name says its value is a secret."""
    if not isinstance(name, str):
        return False
    key = _NORMALISE.sub("", name).lower()
    return key.endswith(_SECRET_SUFFIXES)


def _usable(values):
    # Very short values would mask innocent text ("a", "1"); Ansible makes the same trade-off.
    return sorted({str(v) for v in values or () if v is not None and len(str(v)) >= 3}, key=len, reverse=True)


def mask(obj, secret_values=()):
    """A copy of ``obj`` with secret keys and every occurrence of ``secret_values`` masked."""
    return _mask(obj, _usable(secret_values))


def _mask(obj, values):
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if is_secret_key(key) and value not in (None, "", [], {}):
                out[key] = MASK
            else:
                out[key] = _mask(value, values)
        return out
    if isinstance(obj, (list, tuple)):
        return [_mask(item, values) for item in obj]
    if isinstance(obj, str):
        for value in values:
            if value in obj:
                obj = obj.replace(value, MASK)
        return obj
    return obj


def build_diff(before, after, secret_values=(), before_header=None, after_header=None):
    """Ansible's ``diff`` for a managed object: ``{}`` stands for 'does not exist'."""
    values = _usable(secret_values)
    diff = {
        "before": _mask(before if before is not None else {}, values),
        "after": _mask(after if after is not None else {}, values),
    }
    if before_header:
        diff["before_header"] = before_header
    if after_header:
        diff["after_header"] = after_header
    return diff


def changed_paths(before, after, prefix=""):
    """Sorted dotted paths where ``after`` differs from ``before`` (dicts compared key by key)."""
    if isinstance(before, dict) and isinstance(after, dict):
        paths = []
        for key in sorted(set(before) | set(after), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                paths.append(path)
            else:
                paths.extend(changed_paths(before[key], after[key], path))
        return paths
    return [] if before == after else [prefix or "."]
