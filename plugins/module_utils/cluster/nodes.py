# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect to a cluster with the credentials its cloud handed out and wait for Ready nodes.

Uses the official ``kubernetes`` client with the same kubeconfig entry the module writes, so a
successful wait also proves that the kubeconfig works.
"""

from __future__ import annotations

import time

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError, WaitTimeoutError
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import Waiter

# Nodes register within seconds of each other: poll often, back off to 15 s.
POLL_INTERVAL = 2.0
MAX_POLL_INTERVAL = 15.0

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False


def _ready(node):
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def count_ready(kubeconfig, retrier):
    """``(ready, total)`` nodes of the cluster in ``kubeconfig`` (a one-context config dict)."""
    if not HAS_KUBERNETES:
        raise ValidationError("wait_for_nodes", "needs the Python package kubernetes (pip install kubernetes)")
    api = k8s_config.new_client_from_config_dict(kubeconfig)
    try:
        nodes = retrier.call(k8s_client.CoreV1Api(api).list_node, call="list nodes", resource="kubernetes nodes")
    finally:
        api.close()
    return sum(1 for node in nodes.items if _ready(node)), len(nodes.items)


def wait_ready(kubeconfig, expected, retrier, deadline, *, cloud, name, sleep=time.sleep):
    """Wait until at least ``expected`` nodes are Ready; returns ``(ready, total)``."""
    seen = {}

    def fetch():
        seen["counts"] = count_ready(kubeconfig, retrier)
        return seen["counts"]

    waiter = Waiter(
        cloud,
        f"cluster {name} nodes",
        state_of=lambda counts: "READY" if counts[0] >= expected else f"{counts[0]}/{expected} Ready",
        success=("READY",),
        interval=POLL_INTERVAL,
        max_interval=MAX_POLL_INTERVAL,
    )
    try:
        return waiter.wait(fetch, deadline=deadline, sleep=sleep)
    except WaitTimeoutError as error:
        ready, total = seen.get("counts", (0, 0))
        error.message = f"{ready} of {expected} expected nodes are Ready ({total} registered): {error.message}"
        raise
