# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to change at the provider: current objects + desired objects -> ordered actions.

Both providers' adapters describe a load balancer as *objects*: dictionaries
``{"kind", "name", "body"}`` where ``kind`` is the provider's resource (``monitor``, ``pool``,
``load_balancer``; ``health_check``, ``record``), ``name`` the stable name the collection gives it
and ``body`` the fields the collection manages, with references to other objects written as
``"@kind/name"`` instead of provider ids (so a plan can be made before anything exists, and a
current object read back compares equal to the desired one). Current objects carry their ``id``.

``plan(current, desired, kinds)`` returns the actions in the order they must run: creates and
updates in ``kinds`` order (what is referenced first), then deletes in reverse order (what
references first). Pure: the unit tests call it without any SDK.
"""

from __future__ import annotations

REF = "@"


def ref(kind, name):
    """The reference to another object inside a body."""
    return f"{REF}{kind}/{name}"


def key(obj):
    return f"{obj['kind']}/{obj['name']}"


def _normal(value):
    """Comparable form: numbers as floats where they are whole, dictionaries recursively."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def changes(current_body, desired_body):
    """``{field: {"before", "after"}}`` for every managed field (a key of ``desired_body``) that
    differs. Adapters read current bodies in the same managed shape, so values compare whole."""
    out = {}
    current_body = current_body or {}
    for name, wanted in desired_body.items():
        if _normal(current_body.get(name)) != _normal(wanted):
            out[name] = {"before": current_body.get(name), "after": wanted}
    return out


def plan(current, desired, kinds):
    """Ordered actions ``{"action": create|update|delete, "kind", "name", "id"?, "body"?, "changes"?}``.

    ``current`` and ``desired`` are lists of objects (see the module docstring); ``kinds`` the
    kinds in dependency order. An object present in both with equal managed fields needs nothing."""
    order = {kind: index for index, kind in enumerate(kinds)}
    have = {key(obj): obj for obj in current}
    want = {key(obj): obj for obj in desired}
    unknown = sorted({obj["kind"] for obj in (*current, *desired)} - set(order))
    if unknown:
        raise ValueError(f"unknown kind {unknown[0]!r}; expected one of {', '.join(kinds)}")
    actions = []
    for obj in sorted(desired, key=lambda o: order[o["kind"]]):
        existing = have.get(key(obj))
        if existing is None:
            actions.append({"action": "create", "kind": obj["kind"], "name": obj["name"], "body": obj["body"]})
            continue
        diff = changes(existing["body"], obj["body"])
        if diff:
            actions.append(
                {
                    "action": "update",
                    "kind": obj["kind"],
                    "name": obj["name"],
                    "id": existing.get("id"),
                    "body": obj["body"],
                    "changes": diff,
                }
            )
    gone = [obj for obj in current if key(obj) not in want]
    for obj in sorted(gone, key=lambda o: -order[o["kind"]]):
        actions.append({"action": "delete", "kind": obj["kind"], "name": obj["name"], "id": obj.get("id")})
    return actions


def view(objects):
    """``{kind: {name: body}}``: what diff mode shows as before/after."""
    out = {}
    for obj in objects:
        out.setdefault(obj["kind"], {})[obj["name"]] = obj["body"]
    return out


def after(current, actions, ids=None):
    """The objects once ``actions`` have run on ``current`` (diff mode's ``after``), with the ids
    in ``ids`` (``{"kind/name": id}``, what an adapter learnt creating them) where known."""
    objects = {key(obj): dict(obj) for obj in current}
    for action in actions:
        name = f"{action['kind']}/{action['name']}"
        if action["action"] == "delete":
            objects.pop(name, None)
        else:
            objects[name] = {
                **objects.get(name, {}),
                "kind": action["kind"],
                "name": action["name"],
                "body": action["body"],
            }
    for name, obj in objects.items():
        if ids and name in ids:
            obj["id"] = ids[name]
    return list(objects.values())


def resolve_refs(body, ids):
    """``body`` with every ``"@kind/name"`` replaced by the provider id in ``ids`` (``{"kind/name": id}``)."""
    if isinstance(body, dict):
        return {k: resolve_refs(v, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve_refs(v, ids) for v in body]
    if isinstance(body, str) and body.startswith(REF):
        target = body[len(REF) :]
        if target not in ids:
            raise KeyError(f"{target} has no id yet")
        return ids[target]
    return body


def to_refs(body, names):
    """``body`` with every provider id found in ``names`` (``{id: "kind/name"}``) written as a reference."""
    if isinstance(body, dict):
        return {k: to_refs(v, names) for k, v in body.items()}
    if isinstance(body, list):
        return [to_refs(v, names) for v in body]
    if isinstance(body, str) and body in names:
        return REF + names[body]
    return body
