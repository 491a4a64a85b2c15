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
    """Agent pool reads and actions; mixed into ``Clusters`` (``self.conn``, ``self._resource``)."""

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
        cs = self.conn.containerservice
        call = "AgentPools_CreateOrUpdate"
        resource = self._resource(group, name, pool)
        model = to_wire(self.conn.call(cs.agent_pools.get, group, name, pool, resource=resource, call="AgentPools_Get"))
        poller = self.conn.begin(
            cs.agent_pools.begin_create_or_update, group, name, pool, body_of(model), resource=resource, call=call
        )
        return poller, resource, call

    def _upgrade_node_pool(self, action, desired, current):
        return self._change_pool(action, desired, lambda model: pool_version_body(model, action["version"]))

    def _update_node_pool(self, action, desired, current):
        return self._change_pool(action, desired, lambda model: pool_update_body(model, action.get("changes") or {}))

    def _create_node_pool(self, action, desired, current):
        group, name, pool = resource_group_of(desired), desired["name"], action["pool"]
        call = "AgentPools_CreateOrUpdate"
        resource = self._resource(group, name, pool["name"])
        subnets = (desired.get("network") or {}).get("subnet_ids") or ((current or {}).get("network") or {}).get(
            "subnet_ids"
        )
        profile = pool_profile(pool, mode="User", subnet_id=(subnets or [None])[0])
        profile.pop("name")
        poller = self.conn.begin(
            self.conn.containerservice.agent_pools.begin_create_or_update,
            group,
            name,
            pool["name"],
            {"properties": profile},
            resource=resource,
            call=call,
        )
        return poller, resource, call

    def _delete_node_pool(self, action, desired, current):
        group, name = resource_group_of(desired), desired["name"]
        call = "AgentPools_Delete"
        resource = self._resource(group, name, action["pool"])
        poller = self.conn.begin(
            self.conn.containerservice.agent_pools.begin_delete,
            group,
            name,
            action["pool"],
            resource=resource,
            call=call,
        )
        return poller, resource, call
