# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AKS managed clusters in the portable cluster shape (``cluster/spec.py``).

A portable cluster is a managed cluster in a resource group; its node pools are agent pools (the
first one in System mode, the others in User mode). Every change is one ARM long-running
operation: :meth:`Clusters.apply` starts it and keeps the SDK's poller, :meth:`Clusters.wait` waits
for the poller within the deadline and then until the cluster and every pool are ``Succeeded``,
stopping at once with the operation's error when it failed.

Reads are cheap: ``ManagedClusters_Get`` and ``AgentPools_List``. The cluster CA (``ca_data``) comes
from ``listClusterUserCredential``, which AKS answers with a whole kubeconfig (and which the
sandbox answers with a freshly signed client certificate): it is fetched once per connection and
cluster, the first time the cluster is read ACTIVE, and cached.

The mapping to and from the portable shape is in :mod:`azure.cluster_shape`, agent pool actions in
:mod:`azure.node_pools`, kubeconfig users and the CA in :mod:`azure.credentials`.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import CLOUD, to_wire
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.cluster_shape import (
    cluster_body,
    cluster_from_arm,
    failure_message,
    idle_state,
    resource_group_of,
    upgrade_body,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.credentials import KubeconfigUsers
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.node_pools import AgentPools
from ansible_collections.multicloud.fabric.plugins.module_utils.common.contracts import CLUSTER_ACTIONS, perform
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    AUTH,
    DENIED,
    NOT_FOUND,
    TIMEOUT,
    VALIDATION,
    FabricError,
    ResourceFailedError,
    found_or,
    missing_means,
)


class Clusters(AgentPools, KubeconfigUsers):
    """Reads and changes AKS clusters through a :class:`Connection`."""

    # ManagedClusters_List returns whole clusters: list() is one call per scope.
    lists_by_name = False
    ACTIONS = CLUSTER_ACTIONS

    def __init__(self, conn):
        self.conn = conn
        self._pollers = {}  # (group, name) lower-case -> (poller, call)
        # listClusterUserCredential answers fetched by read() for the CA, kept for the next
        # kube_user() of the same cluster so one task does not ask twice.
        self._unused_kubeconfigs = {}

    @staticmethod
    def _resource(group, name, pool=None):
        where = f"managed cluster {name} (resource group {group})"
        return f"agent pool {pool} of {where}" if pool else where

    @staticmethod
    def _key(group, name):
        return (group.lower(), name.lower())

    # ------------------------------------------------------------------ reading

    @missing_means(None)
    def _get(self, group, name):
        cluster = self.conn.call(
            self.conn.containerservice.managed_clusters.get,
            group,
            name,
            resource=self._resource(group, name),
            call="ManagedClusters_Get",
        )
        return to_wire(cluster)

    def read(self, desired):
        """The current cluster (portable shape) named like ``desired``, or None when absent.

        ``ca_data`` is filled from the connection's cache, or fetched (listClusterUserCredential)
        once the cluster is ACTIVE.
        """
        group = resource_group_of(desired)
        cluster = self._get(group, desired["name"])
        if cluster is None:
            return None
        pools = self._pools(group, desired["name"])
        current = cluster_from_arm(cluster, pools, desired)
        current["ca_data"] = self._ca_data(current)
        return current

    def list(self, region=None, provider=None):
        """Every managed cluster of the subscription (or of ``provider.resource_group``).

        Node pools come from each cluster's ``agentPoolProfiles``; ``ca_data`` only from the
        connection's cache (:meth:`read` fetches it).
        """
        group = (provider or {}).get("resource_group")
        ops = self.conn.containerservice.managed_clusters
        if group:
            found = found_or(
                [],
                self.conn.items,
                ops.list_by_resource_group,
                group,
                resource=f"resource group {group}",
                call="ManagedClusters_ListByResourceGroup",
            )
        else:
            found = found_or([], self.conn.items, ops.list, resource="managed clusters", call="ManagedClusters_List")
        shapes = []
        for cluster in found:
            current = cluster_from_arm(to_wire(cluster))
            current["ca_data"] = self._ca_cache.get(str(current["id"]).lower())
            shapes.append(current)
        if region:
            wanted = str(region).lower().replace(" ", "")
            shapes = [s for s in shapes if str(s["region"]).lower().replace(" ", "") == wanted]
        return shapes

    def names(self, region=None, provider=None):
        """Names of the clusters :meth:`list` returns, sorted."""
        return sorted(cluster["name"] for cluster in self.list(region, provider))

    # ------------------------------------------------------------------ changing

    def apply(self, action, desired, current):
        """Start one planner action (an ARM long-running operation) and keep its poller for :meth:`wait`."""
        group = resource_group_of(desired)
        self._pollers[self._key(group, desired["name"])] = perform(self, CLOUD, "cluster", action, desired, current)

    def _start(self, desired, method, call, *args, pool=None):
        """Begin the ARM long-running ``method(group, name, *args)`` for ``desired`` (its agent pool
        ``pool`` when given); ``(poller, resource, call)`` for :meth:`wait`."""
        group, name = resource_group_of(desired), desired["name"]
        resource = self._resource(group, name, pool)
        return self.conn.begin(method, group, name, *args, resource=resource, call=call), resource, call

    def _create_cluster(self, action, desired, current):
        ops = self.conn.containerservice.managed_clusters
        return self._start(desired, ops.begin_create_or_update, "ManagedClusters_CreateOrUpdate", cluster_body(desired))

    def _upgrade_control_plane(self, action, desired, current):
        group, name = resource_group_of(desired), desired["name"]
        ops = self.conn.containerservice.managed_clusters
        model = self.conn.call(ops.get, group, name, resource=self._resource(group, name), call="ManagedClusters_Get")
        body = upgrade_body(to_wire(model), action["version"])
        return self._start(desired, ops.begin_create_or_update, "ManagedClusters_CreateOrUpdate", body)

    def _update_tags(self, action, desired, current):
        ops = self.conn.containerservice.managed_clusters
        return self._start(desired, ops.begin_update_tags, "ManagedClusters_UpdateTags", {"tags": dict(action["tags"])})

    def _delete_cluster(self, action, desired, current):
        started = self._start(
            desired, self.conn.containerservice.managed_clusters.begin_delete, "ManagedClusters_Delete"
        )
        self._ca_cache.pop(str((current or {}).get("id") or "").lower(), None)
        return started

    def wait(self, desired, action, deadline):
        """Block until ``action``'s operation finished and the cluster and its pools are Succeeded.

        Returns the current cluster (None after ``delete_cluster``). A failed operation or a
        Failed cluster / pool raises :class:`ResourceFailedError` with AKS's message.
        """
        group = resource_group_of(desired)
        name = desired["name"]
        resource = self._resource(group, name)
        kind = action["action"]
        entry = self._pollers.pop(self._key(group, name), None)
        if entry is not None:
            poller, op_resource, call = entry
            try:
                self.conn.finish(poller, resource=op_resource, call=call, deadline=deadline)
            except FabricError as exc:
                if exc.kind in (AUTH, DENIED, TIMEOUT, VALIDATION):
                    raise
                # Polling throttled or hit a 5xx (or the cluster is gone after a delete): the reads
                # below decide.
                if not (exc.retryable or (kind == "delete_cluster" and exc.kind == NOT_FOUND)):
                    raise ResourceFailedError(
                        f"the operation failed: {exc.message}",
                        cloud=CLOUD,
                        resource=op_resource,
                        call=call,
                        status=exc.status,
                        code=exc.code,
                    ) from exc
        if kind == "delete_cluster":
            waiter = self.conn.waiter(
                resource,
                state_of=lambda c: c["status"],
                success=("ABSENT",),
                failure=("FAILED",),
                failure_message=failure_message,
            )
            self.conn.wait(waiter, lambda: self._light(group, name), deadline)
            return None
        waiter = self.conn.waiter(
            resource,
            state_of=idle_state,
            success=("ACTIVE",),
            failure=("FAILED",),
            failure_message=failure_message,
        )
        return self.conn.wait(waiter, lambda: self.read(desired), deadline)

    def _light(self, group, name):
        cluster = self._get(group, name)
        return None if cluster is None else cluster_from_arm(cluster)
