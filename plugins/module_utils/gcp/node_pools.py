# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GKE node pools: the node pool half of :class:`~gcp.cluster.Clusters`.

Each action starts one GKE operation and returns it (``Clusters.apply`` remembers it for
``wait``); an ``update_node_pool`` that needs several calls waits for all but the last, since GKE
runs one operation per cluster at a time.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.cluster_shape import (
    default_zone_count,
    pool_body,
    pool_index,
    pool_update_steps,
    pool_zone_count,
)


class NodePools:
    """Node pool actions; mixed into ``Clusters``, whose paths, reads and operations they use."""

    def _create_node_pool(self, action, desired, current):
        pool = action["pool"]
        zones = self._cluster_zones(desired, current)
        return self.conn.rpc(
            self.conn.container.create_node_pool,
            request={
                "parent": self._path(desired),
                "node_pool": pool_body(pool, zones, pool_index(desired, pool["name"])),
            },
            resource=self._resource(desired, pool["name"]),
            call="CreateNodePool",
        )

    def _delete_node_pool(self, action, desired, current):
        return self.conn.rpc(
            self.conn.container.delete_node_pool,
            request={"name": f"{self._path(desired)}/nodePools/{action['pool']}"},
            resource=self._resource(desired, action["pool"]),
            call="DeleteNodePool",
        )

    def _cluster_zones(self, desired, current):
        raw = self._raw(desired, current)
        if raw is None:
            return default_zone_count(desired["region"])
        return len(raw.get("locations") or []) or default_zone_count(desired["region"])

    def _raw_pool(self, desired, current, name):
        raw = self._raw(desired, current) or {}
        pool = next((p for p in raw.get("node_pools") or [] if p.get("name") == name), None)
        return raw, pool

    def _upgrade_node_pool(self, action, desired, current):
        name = action["pool"]
        pool = self._raw_pool(desired, current, name)[1]
        request = {"name": f"{self._path(desired)}/nodePools/{name}", "node_version": action["version"]}
        image_type = ((pool or {}).get("config") or {}).get("image_type")
        if image_type:
            request["image_type"] = image_type  # UpdateNodePoolRequest marks it required
        return self.conn.rpc(
            self.conn.container.update_node_pool,
            request=request,
            resource=self._resource(desired, name),
            call="UpdateNodePool",
        )

    def _update_node_pool(self, action, desired, current):
        name, changes = action["pool"], action.get("changes") or {}
        raw, pool = self._raw_pool(desired, current, name)
        steps = pool_update_steps(changes, pool_zone_count(pool, raw), pool_index(desired, name))
        pool_path = f"{self._path(desired)}/nodePools/{name}"
        op = None
        for number, (method, kwargs) in enumerate(steps):
            if number:
                # GKE runs one operation per cluster at a time: let the previous one finish.
                self._wait_operation(desired, self._pending.pop(self._path(desired)), self.conn.deadline())
            op = self.conn.rpc(
                getattr(self.conn.container, method),
                request={"name": pool_path, **kwargs},
                resource=self._resource(desired, name),
                call="".join(word.capitalize() for word in method.split("_")),
            )
            self._remember(desired, op)
        return op
