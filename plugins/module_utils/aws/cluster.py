# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EKS clusters and their managed node groups, in the portable cluster shape.

EKS splits a cluster in two: the control plane (``CreateCluster``) and one managed node group per
node pool (``CreateNodegroup``), which EKS accepts only once the control plane is ACTIVE. So:

- ``apply(create_cluster)`` only starts the control plane and ``wait(create_cluster)`` waits for
  it to be ACTIVE; the planner follows ``create_cluster`` with one ``create_node_pool`` per pool
  (``cluster/spec.py`` ``POOLS_AFTER_CLUSTER``), so every write is an action check mode reports
  and ``wait`` only reads.
- ``apply(delete_cluster)`` deletes every node group, waits for them to be gone (EKS refuses to
  delete a cluster that has node groups) and then starts ``DeleteCluster``;
  ``wait(delete_cluster)`` waits until the cluster is gone.

Version and configuration updates return an EKS update id; ``wait`` follows that update
(``DescribeUpdate``) to its end, so it never mistakes the moment before EKS flips the status to
UPDATING for "done", and then waits until the cluster and every node group are ACTIVE.

The translation to and from the portable shape is in :mod:`aws.cluster_shape`, node group actions
in :mod:`aws.node_pools`, kubeconfig users in :mod:`aws.credentials`.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import CLOUD
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.cluster_shape import (
    aws_provider,
    cluster_request,
    cluster_to_portable,
    health_message,
    nodegroup_status,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.credentials import eks_token, exec_user
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.node_pools import NodeGroups
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.tags import tag_updates
from ansible_collections.multicloud.fabric.plugins.module_utils.common.contracts import CLUSTER_ACTIONS, perform
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    NotFoundError,
    ValidationError,
    gone_is_done,
    missing_means,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import ABSENT

_UPDATE_ACTIONS = ("upgrade_control_plane", "upgrade_node_pool", "update_node_pool")


class Clusters(NodeGroups):
    """Reads and changes EKS clusters for the planner's actions (node groups: :mod:`aws.node_pools`)."""

    # EKS lists cluster names only (ListClusters); each cluster takes its own DescribeCluster.
    lists_by_name = True
    ACTIONS = CLUSTER_ACTIONS

    def __init__(self, conn):
        self.conn = conn
        # (region, cluster, pool or None) -> id of the EKS update an action started.
        self._updates = {}

    # ------------------------------------------------------------------ reading

    def _region(self, desired):
        return desired.get("region") or self.conn.region

    def _eks(self, operation, params, desired, resource=None):
        name = desired["name"]
        return self.conn.api(
            "eks", operation, params, region=self._region(desired), resource=resource or f"eks cluster {name}"
        )

    @missing_means(None)
    def _describe_cluster(self, desired):
        return self._eks("DescribeCluster", {"name": desired["name"]}, desired)["cluster"]

    def read(self, desired):
        """The portable shape of the EKS cluster named ``desired['name']`` in its region, or None."""
        cluster = self._describe_cluster(desired)
        if cluster is None:
            return None
        return cluster_to_portable(cluster, self._nodegroups(desired), self._region(desired), desired)

    def names(self, region=None, provider=None):
        """Names of the EKS clusters of the region (ListClusters only; ``read`` describes one).

        The EKS API has no call that describes many clusters, so callers that list many
        (the inventory plugin) read the names first and describe the clusters concurrently.
        """
        region = region or self.conn.region
        names = self.conn.paginate("eks", "ListClusters", "clusters", region=region, resource="eks clusters")
        return sorted(names)

    def list(self, region=None, provider=None):
        """Every EKS cluster of the region (default: the connection's), as portable shapes."""
        region = region or self.conn.region
        found = (self.read({"region": region, "name": name}) for name in self.names(region))
        return [cluster for cluster in found if cluster is not None]

    # ------------------------------------------------------------------ changing

    def apply(self, action, desired, current):
        """Start one planned action (see the module docstring for what blocks)."""
        perform(self, CLOUD, "cluster", action, desired, current)

    def _create_cluster(self, action, desired, current):
        provider = aws_provider(desired)
        if not provider["role_arn"]:
            raise ValidationError(
                "aws.role_arn",
                "EKS needs the ARN of an IAM role for the cluster (the EKS cluster service role)",
                advice="create a role trusted by eks.amazonaws.com with AmazonEKSClusterPolicy and give its ARN",
            )
        if desired.get("node_pools") and not provider["node_role_arn"]:
            raise ValidationError(
                "aws.node_role_arn",
                "EKS node groups need the ARN of an IAM role for the nodes",
                advice="create a role trusted by ec2.amazonaws.com with AmazonEKSWorkerNodePolicy, "
                "AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly and give its ARN",
            )
        self._eks("CreateCluster", cluster_request(desired), desired)

    def _upgrade_control_plane(self, action, desired, current):
        name = desired["name"]
        update = self._eks("UpdateClusterVersion", {"name": name, "version": str(action["version"])}, desired)
        self._updates[(self._region(desired), name, None)] = update["update"]["id"]

    def _update_tags(self, action, desired, current):
        arn = (current or {}).get("id") or (self._describe_cluster(desired) or {}).get("arn")
        if arn is None:
            raise NotFoundError(
                f"cluster {desired['name']} does not exist",
                cloud=CLOUD,
                resource=f"eks cluster {desired['name']}",
                call="TagResource",
            )
        to_set, to_remove = tag_updates(action)
        if to_set:
            self._eks("TagResource", {"resourceArn": arn, "tags": to_set}, desired)
        if to_remove:
            self._eks("UntagResource", {"resourceArn": arn, "tagKeys": to_remove}, desired)

    def _delete_cluster(self, action, desired, current):
        """Delete every node group, wait until they are gone, then start DeleteCluster."""
        name = desired["name"]
        deleting = set()

        def step():
            # Node groups in CREATING/UPDATING cannot be deleted yet: ask again once they settle.
            cluster = self._describe_cluster(desired)
            if cluster is None:
                return None
            nodegroups = self._nodegroups(desired)
            for ng in nodegroups:
                ng_name = ng["nodegroupName"]
                if ng.get("status") in ("ACTIVE", "CREATE_FAILED", "DEGRADED") and ng_name not in deleting:
                    self._delete_nodegroup(desired, ng_name)
                    deleting.add(ng_name)
            return _Observed(cluster_to_portable(cluster, nodegroups, self._region(desired), desired), nodegroups)

        waiter = self.conn.waiter(
            f"eks cluster {name}",
            state_of=lambda seen: _ready_to_delete_state(seen.shape),
            success=("READY", "DELETING"),
            failure=("FAILED",),
            failure_message=_failure_message,
        )
        seen = self.conn.wait(waiter, step)
        if seen is None or seen.shape["provider_status"] == "DELETING":
            return
        gone_is_done(self._eks, "DeleteCluster", {"name": name}, desired)

    # ------------------------------------------------------------------ waiting

    def wait(self, desired, action, deadline):
        """Block until the action is done and the cluster is idle (ACTIVE, every pool ACTIVE);
        for ``delete_cluster`` until the cluster is gone (returns None). Returns the final shape."""
        kind = action["action"]
        name = desired["name"]
        region = self._region(desired)
        if kind == "delete_cluster":
            waiter = self.conn.waiter(
                f"eks cluster {name}",
                state_of=lambda cluster: cluster.get("status"),
                success=(ABSENT,),
                failure=("FAILED",),
                failure_message=health_message,
            )
            self.conn.wait(waiter, lambda: self._describe_cluster(desired), deadline)
            return None
        if kind == "create_cluster":
            waiter = self.conn.waiter(
                f"eks cluster {name}",
                state_of=lambda cluster: cluster.get("status"),
                success=("ACTIVE",),
                failure=("FAILED",),
                failure_message=health_message,
            )
            self.conn.wait(waiter, lambda: self._describe_cluster(desired), deadline)
            return self._wait_idle(desired, deadline)
        if kind in _UPDATE_ACTIONS:
            pool = None if kind == "upgrade_control_plane" else action["pool"]
            update_id = self._updates.pop((region, name, pool), None)
            if update_id is not None:
                self._wait_update(desired, pool, update_id, deadline)
        if kind == "create_node_pool":
            return self._wait_idle(desired, deadline, present=[action["pool"]["name"]])
        if kind == "delete_node_pool":
            return self._wait_idle(desired, deadline, absent=[action["pool"]])
        return self._wait_idle(desired, deadline)

    def _wait_update(self, desired, pool, update_id, deadline):
        name = desired["name"]
        params = {"name": name, "updateId": update_id}
        resource = f"eks cluster {name}"
        if pool is not None:
            params["nodegroupName"] = pool
            resource = f"eks nodegroup {name}/{pool}"

        def fetch():
            return self._eks("DescribeUpdate", params, desired, resource)["update"]

        waiter = self.conn.waiter(
            resource,
            state_of=lambda update: update.get("status"),
            success=("Successful",),
            failure=("Failed", "Cancelled"),
            failure_message=_update_errors,
        )
        return self.conn.wait(waiter, fetch, deadline)

    def _wait_idle(self, desired, deadline, present=(), absent=()):
        def fetch():
            cluster = self._describe_cluster(desired)
            if cluster is None:
                return None
            nodegroups = self._nodegroups(desired)
            return _Observed(cluster_to_portable(cluster, nodegroups, self._region(desired), desired), nodegroups)

        waiter = self.conn.waiter(
            f"eks cluster {desired['name']}",
            state_of=lambda seen: _idle_state(seen.shape, present, absent),
            success=("IDLE",),
            failure=("FAILED",),
            failure_message=_failure_message,
        )
        return self.conn.wait(waiter, fetch, deadline).shape

    # ------------------------------------------------------------------ credentials

    def kube_user(self, current, mode="token"):
        """The kubeconfig ``user`` entry for ``current``: a bearer token made now from the
        connection's credentials (``mode="token"``) or an ``aws eks get-token`` exec entry."""
        region, name = current.get("region") or self.conn.region, current["name"]
        if mode == "exec":
            return exec_user(region, name, self.conn.params)
        if mode != "token":
            raise ValueError(f"unknown kube_user mode {mode!r}; expected 'token' or 'exec'")

        def make():
            return eks_token(self.conn.new_client("sts", region), name)

        token = self.conn.call(make, resource=f"eks cluster {name}", call="PresignGetCallerIdentity")
        return {"token": token}


def _idle_state(shape, present=(), absent=()):
    """IDLE when the cluster and every pool are ACTIVE (pools in ``present`` there, those in
    ``absent`` gone); FAILED when any is failed; otherwise a word saying what is still busy."""
    pools = {pool["name"]: pool for pool in shape.get("node_pools") or ()}
    if shape["status"] == "FAILED" or any(pool["status"] == "FAILED" for pool in pools.values()):
        return "FAILED"
    if shape["status"] != "ACTIVE":
        return shape["status"]
    for pool in pools.values():
        if pool["status"] != "ACTIVE":
            return f"NODEGROUP_{pool['provider_status']}"
    if any(name not in pools for name in present):
        return "NODEGROUP_PENDING"
    if any(name in pools for name in absent):
        return "NODEGROUP_DELETING"
    return "IDLE"


def _ready_to_delete_state(shape):
    """READY once no node group is left and the cluster is ACTIVE or FAILED (deletable)."""
    if shape["provider_status"] == "DELETING":
        return "DELETING"
    if any(pool["provider_status"] == "DELETE_FAILED" for pool in shape["node_pools"]):
        return "FAILED"
    if shape["node_pools"]:
        return "NODEGROUPS_DELETING"
    if shape["provider_status"] in ("ACTIVE", "FAILED"):
        return "READY"
    return shape["status"]


class _Observed:
    """One poll of a cluster: its portable shape plus the raw node groups (their health texts)."""

    __slots__ = ("nodegroups", "shape")

    def __init__(self, shape, nodegroups):
        self.shape = shape
        self.nodegroups = nodegroups


def _failure_message(seen):
    """EKS's health texts of the failed cluster and of every failed node group."""
    messages = []
    if seen.shape.get("status_message"):
        messages.append(seen.shape["status_message"])
    for ng in sorted(seen.nodegroups, key=lambda ng: ng["nodegroupName"]):
        if nodegroup_status(ng.get("status")) == "FAILED":
            detail = health_message(ng) or ng.get("status")
            messages.append(f"node group {ng['nodegroupName']} is {ng.get('status')}: {detail}")
    return "; ".join(messages)


def _update_errors(update):
    errors = update.get("errors") or []
    return "; ".join(
        f"{e.get('errorCode')}: {e.get('errorMessage')}" if e.get("errorCode") else str(e.get("errorMessage"))
        for e in errors
    )
