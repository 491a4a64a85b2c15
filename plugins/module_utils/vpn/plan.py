# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one planner of every cloud's VPN side: a set of named resources, diffed.

Each cloud's ``VpnGateways`` adapter (``<cloud>/vpn.py``, see ``common/contracts.py``) says which
resources the mesh needs (``resources``) and which exist (``read``), both as
``{"kind", "name", "spec"}`` with references to each other as ``{"ref": "<kind>/<name>"}``.
``plan_resources`` turns the two into the ordered actions that make the cloud match:

- a resource that does not exist is created; one whose spec differs is updated, or replaced
  (deleted, then created) when a changed key is in its ``replace_on`` (``"*"``: every key);
- a resource that refers (or referred) to a replaced or deleted one is replaced too: its
  reference would dangle, and the delete could not go first;
- a resource that exists but is no longer needed is deleted, if its kind is one this run owns
  (the gateway phase owns the gateway's kinds only, so it never removes a peering);
- deletes go first, dependents before what they depend on (``kinds`` in reverse); then updates
  and creates in ``kinds`` order, so every reference exists before what refers to it.

Keys the cloud never returns (``write_only``, e.g. a GCP tunnel's secret) are compared only when
the current spec has them; adapters carry a fingerprint of such a value as a readable key instead.
"""

from __future__ import annotations


def ref(kind, name):
    """A reference to resource ``name`` of ``kind`` inside a spec."""
    return {"ref": f"{kind}/{name}"}


def key_of(resource):
    return f"{resource['kind']}/{resource['name']}"


def references(value):
    """Every ``kind/name`` ``value`` (a spec, or any part of one) refers to."""
    found = set()
    if isinstance(value, dict):
        if set(value) == {"ref"} and isinstance(value["ref"], str):
            found.add(value["ref"])
        else:
            for item in value.values():
                found |= references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= references(item)
    return found


def changes(desired, current, write_only=frozenset()):
    """``{key: {"before", "after"}}`` for every key of the desired spec the current one differs in."""
    have = current.get("spec") or {}
    out = {}
    for key, value in (desired.get("spec") or {}).items():
        if key in write_only and key not in have:
            continue
        if have.get(key) != value:
            out[key] = {"before": have.get(key), "after": value}
    return out


def _replaces(resource, changed):
    replace_on = resource.get("replace_on") or ()
    if replace_on == "*":
        return bool(changed)
    return any(key in replace_on for key in changed)


def plan_resources(desired, current, kinds, *, write_only=frozenset(), owned_kinds=None):
    """The ordered actions that turn ``current`` into ``desired`` (see the module docstring).

    ``kinds`` is the creation order of every kind either list may hold; ``owned_kinds`` (default:
    all of them) are the kinds whose unneeded resources are deleted."""
    order = {kind: index for index, kind in enumerate(kinds)}
    for resource in list(desired) + list(current):
        if resource["kind"] not in order:
            raise ValueError(f"resource {key_of(resource)}: kind {resource['kind']!r} is not one of {list(kinds)}")
    owned = set(kinds if owned_kinds is None else owned_kinds)
    wanted = {key_of(r): r for r in desired}
    if len(wanted) != len(desired):
        raise ValueError("two desired resources have the same kind and name")
    have = {key_of(r): r for r in current}

    create, update, replace = [], {}, set()
    for key, resource in wanted.items():
        existing = have.get(key)
        if existing is None:
            create.append(key)
            continue
        changed = changes(resource, existing, write_only)
        if not changed:
            continue
        if _replaces(resource, changed):
            replace.add(key)
        else:
            update[key] = changed
    # A resource referring to one that is replaced (or deleted and not recreated) is replaced too.
    while True:
        gone = replace | {k for k in have if k not in wanted}
        more = {
            key
            for key, resource in wanted.items()
            if key in have
            and key not in replace
            and (references(resource.get("spec")) | references(have[key].get("spec"))) & gone
        }
        if not more:
            break
        replace |= more
    for key in replace:
        update.pop(key, None)

    def by_kind(keys, reverse=False):
        return sorted(keys, key=lambda k: (order[k.split("/", 1)[0]], k), reverse=reverse)

    deletes = [k for k in have if k not in wanted and have[k]["kind"] in owned] + sorted(replace)
    actions = []
    for key in by_kind(set(deletes), reverse=True):
        current_resource = have[key]
        # A delete carries what the cloud holds: its adapter may need it (what is attached where).
        action = {"action": "delete", "kind": current_resource["kind"], "name": current_resource["name"]}
        action["id"] = current_resource.get("id")
        action["spec"] = current_resource.get("spec") or {}
        if key in replace:
            action["replace"] = True
        actions.append(action)
    # Updates and creates together in kind order: whatever a resource refers to (an earlier kind)
    # is up to date, or exists, before it.
    for key in by_kind(set(update) | set(create) | replace):
        resource = wanted[key]
        if key in update:
            actions.append(
                {
                    "action": "update",
                    "kind": resource["kind"],
                    "name": resource["name"],
                    "id": have[key].get("id"),
                    "spec": resource["spec"],
                    "changes": update[key],
                }
            )
            continue
        action = {"action": "create", "kind": resource["kind"], "name": resource["name"], "spec": resource["spec"]}
        if key in replace:
            action["replace"] = True
        actions.append(action)
    return actions


def ids_of(current):
    """``{"kind/name": id}`` of the resources that exist, for ``apply``'s references."""
    return {key_of(r): r.get("id") for r in current if r.get("id") is not None}


def describe(action):
    """One line for an action, for progress messages and check-mode summaries."""
    verb = {"create": "create", "update": "update", "delete": "delete"}[action["action"]]
    if action.get("replace"):
        verb = "replace (" + verb + ")"
    detail = ""
    if action["action"] == "update":
        detail = " (" + ", ".join(sorted(action["changes"])) + ")"
    return f"{verb} {action['kind']} {action['name']}{detail}"
