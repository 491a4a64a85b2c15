# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE clusters through GKE API v1 (locations form), as the portable ``Clusters`` adapter.

The mapping to and from the portable shape is in :mod:`gcp.cluster_shape`, node pool actions in
:mod:`gcp.node_pools`, kubeconfig users in :mod:`gcp.credentials`.

- GKE runs one operation at a time per cluster: :meth:`Clusters.apply` starts one operation
  (an ``update_node_pool`` that needs several, e.g. autoscaling and labels, waits for all but the
  last), :meth:`Clusters.wait` waits for it (failing with the operation's error), for any other
  operation running on the cluster, and then for the cluster and every pool to be RUNNING.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common.contracts import CLUSTER_ACTIONS, perform
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    NotFoundError,
    gone_is_done,
    missing_means,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import credentials
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import CLOUD, to_dict
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.cluster_shape import (
    INTERNAL_LABEL_PREFIX,
    check_labels,
    cluster_body,
    cluster_failure,
    cluster_to_portable,
    default_zone_count,
    idle_state,
    operation_failure,
    operation_state,
    pool_body,
    pool_zone_count,
    region_of,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.node_pools import NodePools


class Clusters(NodePools):
    """The portable cluster interface over GKE API v1 (locations form)."""

    # ListClusters returns whole clusters: list() is one call per project.
    lists_by_name = False
    ACTIONS = CLUSTER_ACTIONS

    def __init__(self, conn):
        self.conn = conn
        # Cluster path -> GKE operation path that apply() started and wait() has not waited for.
        self._pending = {}

    # ------------------------------------------------------------------ naming

    def _project(self, desired=None):
        return ((desired or {}).get("provider") or {}).get("project") or self.conn.project

    def _location_path(self, desired):
        return f"projects/{self._project(desired)}/locations/{desired['region']}"

    def _path(self, desired):
        return f"{self._location_path(desired)}/clusters/{desired['name']}"

    def _resource(self, desired, pool=None):
        text = f"cluster {desired['region']}/{desired['name']}"
        return f"{text} node pool {pool}" if pool else text

    # ------------------------------------------------------------------ reads

    @missing_means(None)
    def _get(self, desired):
        found = self.conn.rpc(
            self.conn.container.get_cluster,
            request={"name": self._path(desired)},
            resource=self._resource(desired),
            call="GetCluster",
        )
        return to_dict(found)

    def read(self, desired):
        """The cluster ``desired["name"]`` at location ``desired["region"]``, or None."""
        cluster = self._get(desired)
        return None if cluster is None else cluster_to_portable(cluster, self._project(desired), desired)

    def list(self, region=None, provider=None):
        """Every cluster of the project (in ``region`` and its zones when given)."""
        project = self._project({"provider": provider})
        response = self.conn.rpc(
            self.conn.container.list_clusters,
            request={"parent": f"projects/{project}/locations/-"},
            resource=f"clusters of {project}",
            call="ListClusters",
        )
        clusters = to_dict(response).get("clusters") or []
        if region:
            clusters = [c for c in clusters if c.get("location") == region or region_of(c.get("location")) == region]
        return [cluster_to_portable(c, project) for c in clusters]

    def names(self, region=None, provider=None):
        """Names of the clusters :meth:`list` returns, sorted."""
        return sorted(cluster["name"] for cluster in self.list(region, provider))

    # ------------------------------------------------------------------ validation

    def validate(self, desired, current=None):
        """The checks ``apply`` makes before writing, without writing (for check mode): labels and
        node counts that divide evenly over each pool's zones. Raises :class:`ValidationError`."""
        check_labels(desired.get("tags"))
        raw = (current or {}).get("raw")
        existing = {p.get("name"): p for p in (raw or {}).get("node_pools") or []}
        for index, pool in enumerate(desired.get("node_pools") or []):
            if raw is None:
                zones = default_zone_count(desired["region"])
            else:
                zones = pool_zone_count(existing.get(pool["name"]), raw)
            pool_body(pool, zones, index)

    # ------------------------------------------------------------------ writes

    def apply(self, action, desired, current):
        """Start one planner action (GKE operations are asynchronous; see :meth:`wait`)."""
        self._remember(desired, perform(self, CLOUD, "cluster", action, desired, current))

    def _create_cluster(self, action, desired, current):
        return self.conn.rpc(
            self.conn.container.create_cluster,
            request={"parent": self._location_path(desired), "cluster": cluster_body(desired, self._project(desired))},
            resource=self._resource(desired),
            call="CreateCluster",
        )

    def _upgrade_control_plane(self, action, desired, current):
        return self.conn.rpc(
            self.conn.container.update_master,
            request={"name": self._path(desired), "master_version": action["version"]},
            resource=self._resource(desired),
            call="UpdateMaster",
        )

    def _delete_cluster(self, action, desired, current):
        return gone_is_done(
            self.conn.rpc,
            self.conn.container.delete_cluster,
            request={"name": self._path(desired)},
            resource=self._resource(desired),
            call="DeleteCluster",
        )

    def _remember(self, desired, op):
        op = to_dict(op)
        if op and op.get("name"):
            location = op.get("location") or op.get("zone") or desired["region"]
            self._pending[self._path(desired)] = (
                f"projects/{self._project(desired)}/locations/{location}/operations/{op['name']}"
            )

    def _raw(self, desired, current):
        raw = (current or {}).get("raw")
        return raw if raw is not None else self._get(desired)

    def _update_tags(self, action, desired, current):
        labels = check_labels(action.get("tags")) or {}
        fresh = self._get(desired)
        if fresh is None:
            raise NotFoundError(
                "the cluster does not exist", cloud="gcp", resource=self._resource(desired), call="SetLabels"
            )
        internal = {
            k: v for k, v in (fresh.get("resource_labels") or {}).items() if k.startswith(INTERNAL_LABEL_PREFIX)
        }
        return self.conn.rpc(
            self.conn.container.set_labels,
            request={
                "name": self._path(desired),
                "resource_labels": {**internal, **labels},
                "label_fingerprint": fresh.get("label_fingerprint") or "",
            },
            resource=self._resource(desired),
            call="SetLabels",
        )

    # ------------------------------------------------------------------ waiting

    def _wait_operation(self, desired, name, deadline):
        def fetch():
            found = self.conn.rpc(
                self.conn.container.get_operation,
                request={"name": name},
                resource=self._resource(desired),
                call="GetOperation",
            )
            return to_dict(found)

        waiter = self.conn.waiter(
            self._resource(desired),
            state_of=operation_state,
            success=("DONE",),
            failure=("FAILED",),
            failure_message=operation_failure,
        )
        return self.conn.wait(waiter, fetch, deadline)

    def _running_operations(self, desired):
        """Paths of unfinished operations on this cluster (started by anyone)."""
        response = self.conn.rpc(
            self.conn.container.list_operations,
            request={"parent": self._location_path(desired)},
            resource=self._resource(desired),
            call="ListOperations",
        )
        marker = f"/clusters/{desired['name']}"
        found = []
        for op in to_dict(response).get("operations") or []:
            target = op.get("target_link") or op.get("self_link") or ""
            if op.get("status") in ("PENDING", "RUNNING") and (target.endswith(marker) or f"{marker}/" in target):
                location = op.get("location") or op.get("zone") or desired["region"]
                found.append(f"projects/{self._project(desired)}/locations/{location}/operations/{op['name']}")
        return found

    def wait(self, desired, action, deadline):
        """Block until ``action``'s operation is done and the cluster and its pools are RUNNING (the
        portable cluster is returned), or the cluster is gone after ``delete_cluster`` (None)."""
        pending = self._pending.pop(self._path(desired), None)
        if pending:
            self._wait_operation(desired, pending, deadline)
        for name in self._running_operations(desired):
            self._wait_operation(desired, name, deadline)
        deleting = (action or {}).get("action") == "delete_cluster"
        waiter = self.conn.waiter(
            self._resource(desired),
            state_of=idle_state,
            success=("ABSENT",) if deleting else ("ACTIVE",),
            failure=("FAILED",) if deleting else ("FAILED", "ABSENT"),
            failure_message=cluster_failure,
        )
        cluster = self.conn.wait(waiter, lambda: self._get(desired), deadline)
        return None if cluster is None else cluster_to_portable(cluster, self._project(desired), desired)

    def kube_user(self, current, mode="token"):
        """The kubeconfig ``user`` entry (see :func:`gcp.credentials.kube_user`)."""
        return credentials.kube_user(self.conn, mode)
