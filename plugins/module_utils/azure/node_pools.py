# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AKS agent pools: the node pool half of :class:`~azure.cluster.Clusters`.

Each action starts one ARM long-running operation and returns ``(poller, resource, call)`` for
``Clusters.wait``.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import to_wire
from ansible_collections.multicloud.fabric.plugins.module_utils.azure.cluster_shape import (
    pool_profile,
    pool_update_body,
    pool_version_body,
    resource_group_of,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import missing_means


class AgentPools:
    """Agent pool reads and actions; mixed into ``Clusters`` (``self.conn``, ``self._resource``,
    ``self._start``)."""

    @missing_means(None)
    def _pools(self, group, name):
        pools = self.conn.items(
            self.conn.containerservice.agent_pools.list,
            group,
            name,
            resource=self._resource(group, name),
            call="AgentPools_List",
        )
        return [to_wire(p) for p in pools]

    def _change_pool(self, action, desired, body_of):
        """PUT the agent pool ``action["pool"]`` with ``body_of(current REST JSON)``."""
        group, name, pool = resource_group_of(desired), desired["name"], action["pool"]
        ops = self.conn.containerservice.agent_pools
        resource = self._resource(group, name, pool)
        model = to_wire(self.conn.call(ops.get, group, name, pool, resource=resource, call="AgentPools_Get"))
        return self._start(
            desired, ops.begin_create_or_update, "AgentPools_CreateOrUpdate", pool, body_of(model), pool=pool
        )

    def _upgrade_node_pool(self, action, desired, current):
        return self._change_pool(action, desired, lambda model: pool_version_body(model, action["version"]))

    def _update_node_pool(self, action, desired, current):
        return self._change_pool(action, desired, lambda model: pool_update_body(model, action.get("changes") or {}))

    def _create_node_pool(self, action, desired, current):
        pool = action["pool"]
        subnets = (desired.get("network") or {}).get("subnet_ids") or ((current or {}).get("network") or {}).get(
            "subnet_ids"
        )
        profile = pool_profile(pool, mode="User", subnet_id=(subnets or [None])[0])
        profile.pop("name")
        ops = self.conn.containerservice.agent_pools
        body = {"properties": profile}
        return self._start(
            desired, ops.begin_create_or_update, "AgentPools_CreateOrUpdate", pool["name"], body, pool=pool["name"]
        )

    def _delete_node_pool(self, action, desired, current):
        ops = self.conn.containerservice.agent_pools
        return self._start(desired, ops.begin_delete, "AgentPools_Delete", action["pool"], pool=action["pool"])
