# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EKS clusters and their managed node groups, in the portable cluster shape.

EKS splits a cluster in two: the control plane (``CreateCluster``) and one managed node group per
node pool (``CreateNodegroup``), which EKS accepts only once the control plane is ACTIVE. So:

- ``apply(create_cluster)`` only starts the control plane; ``wait(create_cluster)`` waits for it
  to be ACTIVE, then creates one node group per desired pool and waits for them all to be ACTIVE.
  With ``wait`` off the node pools are therefore not created; the next run (which sees the
  missing pools) creates them.
- ``apply(delete_cluster)`` deletes every node group, waits for them to be gone (EKS refuses to
  delete a cluster that has node groups) and then starts ``DeleteCluster``;
  ``wait(delete_cluster)`` waits until the cluster is gone.

Version and configuration updates return an EKS update id; ``wait`` follows that update
(``DescribeUpdate``) to its end, so it never mistakes the moment before EKS flips the status to
UPDATING for "done", and then waits until the cluster and every node group are ACTIVE.

The pure functions at the top translate between EKS objects and the portable shape.
"""

from __future__ import annotations

import base64

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import CLOUD, to_plain
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    NotFoundError,
    ValidationError,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.waiter import ABSENT

# Portable status of an EKS cluster / node group status.
CLUSTER_STATUS = {
    "PENDING": "CREATING",
    "CREATING": "CREATING",
    "ACTIVE": "ACTIVE",
    "UPDATING": "UPDATING",
    "DELETING": "DELETING",
    "FAILED": "FAILED",
}
NODEGROUP_STATUS = {
    "CREATING": "CREATING",
    "ACTIVE": "ACTIVE",
    "UPDATING": "UPDATING",
    "DELETING": "DELETING",
    "CREATE_FAILED": "FAILED",
    "DELETE_FAILED": "FAILED",
    "DEGRADED": "FAILED",
}
TAINT_EFFECT_TO_EKS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
TAINT_EFFECT_FROM_EKS = {value: key for key, value in TAINT_EFFECT_TO_EKS.items()}

# EKS bearer tokens: "k8s-aws-v1." + base64url(presigned STS GetCallerIdentity URL), the URL's
# signature covering the header that names the cluster.
TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a token's prefix, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_PRESIGN_SECONDS = 60
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"

_UPDATE_ACTIONS = ("upgrade_control_plane", "upgrade_node_pool", "update_node_pool")


# --------------------------------------------------------------------------- pure translation


def cluster_status(status):
    """Portable status of an EKS cluster status word (unknown words pass through)."""
    return CLUSTER_STATUS.get(status, status)


def nodegroup_status(status):
    """Portable status of an EKS node group status word (unknown words pass through)."""
    return NODEGROUP_STATUS.get(status, status)


def health_message(obj):
    """EKS's own text for a cluster's or node group's health issues ('' when healthy)."""
    issues = ((obj or {}).get("health") or {}).get("issues") or []
    parts = []
    for issue in issues:
        message = issue.get("message") or ""
        code = issue.get("code")
        parts.append(f"{code}: {message}" if code and message else (message or code or ""))
    return "; ".join(part for part in parts if part)


def version_minor(version):
    """``"1.31"`` of ``"1.31"``, ``"1.31.4"`` or ``"v1.31.4-eks-abc"``; None stays None."""
    if not version:
        return None
    parts = str(version).lstrip("v").split("-", 1)[0].split(".")
    return ".".join(parts[:2])


def aws_provider(desired):
    """The AWS part of a cluster's ``provider``: ``provider.aws`` when nested, else ``provider``."""
    provider = (desired or {}).get("provider") or {}
    if isinstance(provider.get("aws"), dict):
        provider = provider["aws"]
    return {
        "role_arn": provider.get("role_arn"),
        "node_role_arn": provider.get("node_role_arn"),
        "security_group_ids": list(provider.get("security_group_ids") or []),
    }


def user_tags(tags):
    """Tags without AWS's own (``aws:*``), values as strings."""
    return {
        str(key): "" if value is None else str(value)
        for key, value in (tags or {}).items()
        if not str(key).startswith("aws:")
    }


def taint_to_eks(taint):
    out = {"key": taint["key"], "effect": TAINT_EFFECT_TO_EKS.get(taint["effect"], taint["effect"])}
    if taint.get("value") not in (None, ""):
        out["value"] = str(taint["value"])
    return out


def taint_from_eks(taint):
    return {
        "key": taint["key"],
        "value": taint.get("value") or "",
        "effect": TAINT_EFFECT_FROM_EKS.get(taint.get("effect"), taint.get("effect")),
    }


def is_fixed_size(min_size, max_size, desired_size):
    """True when a node group's scaling config means 'no autoscaling': min = desired and
    max = desired (or 1 for an empty group, EKS's least maxSize)."""
    return min_size == desired_size and max_size == max(desired_size, 1)


def scaling_config(count, min_count=None, max_count=None):
    """EKS ``scalingConfig`` of a pool: min = max = desired = count without autoscaling."""
    count = int(count)
    if min_count is None or max_count is None:
        return {"minSize": count, "maxSize": max(count, 1), "desiredSize": count}
    return {"minSize": int(min_count), "maxSize": int(max_count), "desiredSize": count}


def _disk_size(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def nodegroup_to_pool(nodegroup):
    """An EKS node group -> the portable node pool shape (plus version, status and EKS's health text)."""
    scaling = nodegroup.get("scalingConfig") or {}
    desired_size = scaling.get("desiredSize", 0)
    min_size, max_size = scaling.get("minSize"), scaling.get("maxSize")
    if is_fixed_size(min_size, max_size, desired_size):
        min_size = max_size = None
    instance_types = nodegroup.get("instanceTypes") or []
    return {
        "name": nodegroup["nodegroupName"],
        "count": desired_size,
        "min_count": min_size,
        "max_count": max_size,
        "machine_type": instance_types[0] if instance_types else None,
        "labels": dict(nodegroup.get("labels") or {}),
        "taints": sorted(
            (taint_from_eks(t) for t in nodegroup.get("taints") or ()), key=lambda t: (t["key"], t["effect"])
        ),
        "spot": nodegroup.get("capacityType") == "SPOT",
        "disk_size_gb": _disk_size(nodegroup.get("diskSize")),
        "version": version_minor(nodegroup.get("version")),
        "status": nodegroup_status(nodegroup.get("status")),
        "provider_status": nodegroup.get("status"),
        "status_message": health_message(nodegroup),
    }


def cluster_to_portable(cluster, nodegroups, region, desired=None):
    """An EKS cluster (DescribeCluster's ``cluster``) and its node groups -> the portable shape."""
    vpc = cluster.get("resourcesVpcConfig") or {}
    version = cluster.get("version")
    platform = cluster.get("platformVersion")
    node_roles = [ng.get("nodeRole") for ng in nodegroups if ng.get("nodeRole")]
    network_config = cluster.get("kubernetesNetworkConfig") or {}
    return {
        "cloud": CLOUD,
        "region": region,
        "name": cluster["name"],
        "id": cluster.get("arn"),
        "kubernetes_version": version_minor(version),
        "version_full": f"{version}-{platform}" if version and platform else version,
        "endpoint_access": "public" if vpc.get("endpointPublicAccess", True) else "private",
        "tags": user_tags(cluster.get("tags")),
        "purge_tags": bool((desired or {}).get("purge_tags", False)),
        "node_pools": sorted((nodegroup_to_pool(ng) for ng in nodegroups), key=lambda p: p["name"]),
        "network": {
            "id": vpc.get("vpcId"),
            "subnet_ids": sorted(vpc.get("subnetIds") or []),
            "pods_range": None,
            "services_range": network_config.get("serviceIpv4Cidr"),
        },
        "provider": {
            "role_arn": cluster.get("roleArn"),
            "node_role_arn": node_roles[0] if node_roles else aws_provider(desired)["node_role_arn"],
            "security_group_ids": sorted(vpc.get("securityGroupIds") or []),
        },
        "status": cluster_status(cluster.get("status")),
        "provider_status": cluster.get("status"),
        "status_message": health_message(cluster),
        "endpoint": cluster.get("endpoint"),
        "ca_data": (cluster.get("certificateAuthority") or {}).get("data"),
        "raw": to_plain(cluster),
    }


def cluster_request(desired):
    """``CreateCluster`` parameters of a desired cluster (without its node pools)."""
    provider = aws_provider(desired)
    network = desired.get("network") or {}
    public = desired.get("endpoint_access", "public") != "private"
    vpc = {
        "subnetIds": list(network.get("subnet_ids") or []),
        "endpointPublicAccess": public,
        # Nodes reach the API server inside the VPC either way.
        "endpointPrivateAccess": True,
    }
    if provider["security_group_ids"]:
        vpc["securityGroupIds"] = list(provider["security_group_ids"])
    params = {"name": desired["name"], "roleArn": provider["role_arn"], "resourcesVpcConfig": vpc}
    if desired.get("kubernetes_version"):
        params["version"] = str(desired["kubernetes_version"])
    tags = user_tags(desired.get("tags"))
    if tags:
        params["tags"] = tags
    if network.get("services_range"):
        params["kubernetesNetworkConfig"] = {"serviceIpv4Cidr": network["services_range"]}
    return params


def nodegroup_request(cluster_name, pool, subnet_ids, node_role_arn):
    """``CreateNodegroup`` parameters of a desired node pool."""
    params = {
        "clusterName": cluster_name,
        "nodegroupName": pool["name"],
        "scalingConfig": scaling_config(pool["count"], pool.get("min_count"), pool.get("max_count")),
        "subnets": list(subnet_ids),
        "nodeRole": node_role_arn,
        "capacityType": "SPOT" if pool.get("spot") else "ON_DEMAND",
    }
    if pool.get("machine_type"):
        params["instanceTypes"] = [pool["machine_type"]]
    if pool.get("labels"):
        params["labels"] = {str(k): str(v) for k, v in pool["labels"].items()}
    if pool.get("taints"):
        params["taints"] = [taint_to_eks(t) for t in pool["taints"]]
    if pool.get("disk_size_gb"):
        params["diskSize"] = int(pool["disk_size_gb"])
    return params


def label_changes(current, desired):
    """``UpdateNodegroupConfig`` ``labels`` turning ``current`` into ``desired`` (None: no change)."""
    current, desired = current or {}, desired or {}
    add = {str(k): str(v) for k, v in desired.items() if current.get(k) != v}
    remove = sorted(k for k in current if k not in desired)
    if not add and not remove:
        return None
    change = {}
    if add:
        change["addOrUpdateLabels"] = add
    if remove:
        change["removeLabels"] = remove
    return change


def taint_changes(current, desired):
    """``UpdateNodegroupConfig`` ``taints`` turning ``current`` into ``desired`` (None: no change).

    EKS identifies a taint by key and effect; a new value is an add-or-update.
    """
    current = {(t["key"], t["effect"]): t for t in current or ()}
    desired = {(t["key"], t["effect"]): t for t in desired or ()}
    add = [
        taint_to_eks(t)
        for ident, t in sorted(desired.items())
        if ident not in current or (current[ident].get("value") or "") != (t.get("value") or "")
    ]
    remove = [taint_to_eks(t) for ident, t in sorted(current.items()) if ident not in desired]
    if not add and not remove:
        return None
    change = {}
    if add:
        change["addOrUpdateTaints"] = add
    if remove:
        change["removeTaints"] = remove
    return change


def nodegroup_update_request(cluster_name, current_pool, changes):
    """``UpdateNodegroupConfig`` parameters for an ``update_node_pool`` action's ``changes``
    (final values of count/min_count/max_count/labels/taints); None when nothing would change."""
    params = {}
    if any(key in changes for key in ("count", "min_count", "max_count")):
        count = changes.get("count", current_pool.get("count"))
        low = changes["min_count"] if "min_count" in changes else current_pool.get("min_count")
        high = changes["max_count"] if "max_count" in changes else current_pool.get("max_count")
        params["scalingConfig"] = scaling_config(count, low, high)
    if "labels" in changes:
        labels = label_changes(current_pool.get("labels"), changes["labels"])
        if labels:
            params["labels"] = labels
    if "taints" in changes:
        taints = taint_changes(current_pool.get("taints"), changes["taints"])
        if taints:
            params["taints"] = taints
    if not params:
        return None
    params.update(clusterName=cluster_name, nodegroupName=current_pool["name"])
    return params


def exec_user(region, cluster_name, params=None):
    """The kubeconfig user entry that runs ``aws eks get-token`` (no secret in it).

    The AWS CLI finds credentials itself; the profile, endpoint and CA bundle given to the module
    are passed on through its environment variables.
    """
    params = params or {}
    env = []
    for option, variable in (
        ("aws_profile", "AWS_PROFILE"),
        ("aws_endpoint_url", "AWS_ENDPOINT_URL_STS"),
        ("aws_ca_bundle", "AWS_CA_BUNDLE"),
    ):
        if params.get(option):
            env.append({"name": variable, "value": str(params[option])})
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
            "env": env,
            "interactiveMode": "Never",
        }
    }


def eks_token(sts, cluster_name):
    """An EKS bearer token for ``cluster_name`` signed with ``sts``'s credentials.

    It is ``k8s-aws-v1.`` plus the unpadded base64url of a presigned STS ``GetCallerIdentity``
    URL (valid for 60 s; EKS accepts it for 15 minutes) whose SigV4 signature also covers the
    header ``x-k8s-aws-id: <cluster name>``, so the token is good for that cluster only. Nothing is
    sent: the URL is signed locally. ``sts`` is an STS client; the header handler is registered on
    it for this call only.
    """
    event = "before-sign.sts.GetCallerIdentity"

    def name_cluster(request, **_kwargs):
        request.headers[CLUSTER_ID_HEADER] = cluster_name

    sts.meta.events.register(event, name_cluster)
    try:
        url = sts.generate_presigned_url(
            "get_caller_identity", Params={}, ExpiresIn=TOKEN_PRESIGN_SECONDS, HttpMethod="GET"
        )
    finally:
        sts.meta.events.unregister(event, name_cluster)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


# --------------------------------------------------------------------------- the adapter


class Clusters:
    """Reads and changes EKS clusters for the planner's actions."""

    # EKS lists cluster names only (ListClusters); each cluster takes its own DescribeCluster.
    lists_by_name = True

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

    def _describe_cluster(self, desired):
        try:
            return self._eks("DescribeCluster", {"name": desired["name"]}, desired)["cluster"]
        except NotFoundError:
            return None

    def _nodegroups(self, desired):
        name = desired["name"]
        try:
            names = self.conn.paginate(
                "eks",
                "ListNodegroups",
                "nodegroups",
                {"clusterName": name},
                region=self._region(desired),
                resource=f"eks cluster {name}",
            )
        except NotFoundError:
            return []
        nodegroups = []
        for ng_name in sorted(names):
            try:
                found = self._eks(
                    "DescribeNodegroup",
                    {"clusterName": name, "nodegroupName": ng_name},
                    desired,
                    f"eks nodegroup {name}/{ng_name}",
                )
            except NotFoundError:
                continue  # deleted between the list and the describe
            nodegroups.append(found["nodegroup"])
        return nodegroups

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
        kind = action["action"]
        name = desired["name"]
        region = self._region(desired)
        if kind == "create_cluster":
            self._create_cluster(desired)
        elif kind == "delete_cluster":
            self._delete_cluster(desired)
        elif kind == "upgrade_control_plane":
            update = self._eks("UpdateClusterVersion", {"name": name, "version": str(action["version"])}, desired)
            self._updates[(region, name, None)] = update["update"]["id"]
        elif kind == "upgrade_node_pool":
            pool = action["pool"]
            update = self._eks(
                "UpdateNodegroupVersion",
                {"clusterName": name, "nodegroupName": pool, "version": str(action["version"])},
                desired,
                f"eks nodegroup {name}/{pool}",
            )
            self._updates[(region, name, pool)] = update["update"]["id"]
        elif kind == "create_node_pool":
            self._create_node_pool(action["pool"], desired, current)
        elif kind == "update_node_pool":
            self._update_node_pool(action, desired, current)
        elif kind == "delete_node_pool":
            pool = action["pool"]
            try:
                self._eks(
                    "DeleteNodegroup",
                    {"clusterName": name, "nodegroupName": pool},
                    desired,
                    f"eks nodegroup {name}/{pool}",
                )
            except NotFoundError:
                pass
        elif kind == "update_tags":
            self._update_tags(action, desired, current)
        else:
            raise ValueError(f"unknown cluster action {kind!r}")

    def _create_cluster(self, desired):
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

    def _create_node_pool(self, pool, desired, current):
        name = desired["name"]
        provider = aws_provider(desired)
        node_role = provider["node_role_arn"] or ((current or {}).get("provider") or {}).get("node_role_arn")
        if not node_role:
            raise ValidationError("aws.node_role_arn", "EKS node groups need the ARN of an IAM role for the nodes")
        subnets = (desired.get("network") or {}).get("subnet_ids") or ((current or {}).get("network") or {}).get(
            "subnet_ids"
        )
        self._eks(
            "CreateNodegroup",
            nodegroup_request(name, pool, subnets or [], node_role),
            desired,
            f"eks nodegroup {name}/{pool['name']}",
        )

    def _update_node_pool(self, action, desired, current):
        name, pool_name = desired["name"], action["pool"]
        # Read again: an earlier action of the same run may have changed the pool since `current`.
        current = self.read(desired) or current or {}
        pool = next((p for p in current.get("node_pools") or () if p["name"] == pool_name), None)
        if pool is None:
            raise NotFoundError(
                f"node group {pool_name} does not exist",
                cloud=CLOUD,
                resource=f"eks nodegroup {name}/{pool_name}",
                call="UpdateNodegroupConfig",
            )
        params = nodegroup_update_request(name, pool, action.get("changes") or {})
        if params is None:
            return
        update = self._eks("UpdateNodegroupConfig", params, desired, f"eks nodegroup {name}/{pool_name}")
        self._updates[(self._region(desired), name, pool_name)] = update["update"]["id"]

    def _update_tags(self, action, desired, current):
        arn = (current or {}).get("id") or (self._describe_cluster(desired) or {}).get("arn")
        if arn is None:
            raise NotFoundError(
                f"cluster {desired['name']} does not exist",
                cloud=CLOUD,
                resource=f"eks cluster {desired['name']}",
                call="TagResource",
            )
        to_set = user_tags(action.get("set"))
        to_remove = sorted(k for k in action.get("remove") or () if not k.startswith("aws:") and k not in to_set)
        if to_set:
            self._eks("TagResource", {"resourceArn": arn, "tags": to_set}, desired)
        if to_remove:
            self._eks("UntagResource", {"resourceArn": arn, "tagKeys": to_remove}, desired)

    def _delete_cluster(self, desired):
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
                    try:
                        self._eks(
                            "DeleteNodegroup",
                            {"clusterName": name, "nodegroupName": ng_name},
                            desired,
                            f"eks nodegroup {name}/{ng_name}",
                        )
                    except NotFoundError:
                        pass
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
        try:
            self._eks("DeleteCluster", {"name": name}, desired)
        except NotFoundError:
            pass

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
            existing = {ng["nodegroupName"] for ng in self._nodegroups(desired)}
            for pool in desired.get("node_pools") or ():
                if pool["name"] not in existing:
                    self._create_node_pool(pool, desired, None)
            return self._wait_idle(desired, deadline, present=[p["name"] for p in desired.get("node_pools") or ()])
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
