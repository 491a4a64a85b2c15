# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EKS managed node groups: the node pool half of :class:`~aws.cluster.Clusters`.

Reads list and describe every node group of a cluster; the actions ``create_node_pool``,
``update_node_pool``, ``upgrade_node_pool`` and ``delete_node_pool`` each make one EKS call.
Updates return an EKS update id, kept in ``self._updates`` for ``wait`` to follow.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import CLOUD
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.cluster_shape import (
    aws_provider,
    nodegroup_request,
    nodegroup_update_request,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    NotFoundError,
    ValidationError,
    found_or,
    gone_is_done,
)


class NodeGroups:
    """Node group reads and actions; mixed into ``Clusters``, whose ``_eks``, ``_region`` and
    ``read`` they use."""

    def _nodegroups(self, desired):
        name = desired["name"]
        names = found_or(
            [],
            self.conn.paginate,
            "eks",
            "ListNodegroups",
            "nodegroups",
            {"clusterName": name},
            region=self._region(desired),
            resource=f"eks cluster {name}",
        )
        nodegroups = []
        for ng_name in sorted(names):
            found = found_or(
                None,
                self._eks,
                "DescribeNodegroup",
                {"clusterName": name, "nodegroupName": ng_name},
                desired,
                f"eks nodegroup {name}/{ng_name}",
            )
            if found is not None:  # None: deleted between the list and the describe
                nodegroups.append(found["nodegroup"])
        return nodegroups

    def _create_node_pool(self, action, desired, current):
        pool = action["pool"]
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

    def _upgrade_node_pool(self, action, desired, current):
        name, pool = desired["name"], action["pool"]
        update = self._eks(
            "UpdateNodegroupVersion",
            {"clusterName": name, "nodegroupName": pool, "version": str(action["version"])},
            desired,
            f"eks nodegroup {name}/{pool}",
        )
        self._updates[(self._region(desired), name, pool)] = update["update"]["id"]

    def _delete_nodegroup(self, desired, pool):
        name = desired["name"]
        gone_is_done(
            self._eks,
            "DeleteNodegroup",
            {"clusterName": name, "nodegroupName": pool},
            desired,
            f"eks nodegroup {name}/{pool}",
        )

    def _delete_node_pool(self, action, desired, current):
        self._delete_nodegroup(desired, action["pool"])
