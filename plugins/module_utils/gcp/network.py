# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Cloud VPC networks in the portable network shape (``network/spec.py``).

A portable network is a custom-mode Compute network (``autoCreateSubnetworks: false``, regional
dynamic routing) plus regional subnetworks in the network's ``region``, each with Private Google
Access on and its secondary ranges (pods, services) as ``secondaryIpRanges``.

Google Cloud specifics of the mapping:

- ``id`` is the network's selfLink; each subnet's ``id`` is the subnetwork's selfLink.
- A Compute network has no address space of its own, only its subnetworks do. The portable
  ``cidr`` is recorded in the network's ``description`` when the collection creates it
  (``cidr=10.0.0.0/16``) and read back from there; a network created elsewhere reads ``cidr: None``.
- Compute networks carry no labels: ``tags`` always reads ``{}`` and ``update_tags`` (which the
  planner never sends for gcp, since ``normalize_network`` sets gcp tags to None) does nothing.
- Networks are global; ``read``/``list`` report the subnetworks of the given region only, and
  ``delete_network`` deletes the network's subnetworks in that region, then the network.
- Every write returns a Compute operation that is polled through the connection's operations
  clients until DONE (see ``Connection.wait_compute_operation``).
"""

from __future__ import annotations

import re

from ansible_collections.multicloud.fabric.plugins.module_utils.common.contracts import NETWORK_ACTIONS, perform
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    ValidationError,
    gone_is_done,
    missing_means,
)
from ansible_collections.multicloud.fabric.plugins.module_utils.gcp.client import (
    CLOUD,
    resource_path,
    same_resource,
    to_dict,
)

CIDR_NOTE = "Managed by multicloud.fabric; cidr={cidr}"
_CIDR_IN_DESCRIPTION = re.compile(r"\bcidr=(\d{1,3}(?:\.\d{1,3}){3}/\d{1,2})\b")
_REGION_IN_LINK = re.compile(r"/regions/([^/]+)/")


# ----------------------------------------------------------------------------- pure translation


def network_body(desired):
    """The ``networks.insert`` body of a desired portable network."""
    body = {
        "name": desired["name"],
        "auto_create_subnetworks": False,
        "routing_config": {"routing_mode": "REGIONAL"},
    }
    if desired.get("cidr"):
        body["description"] = CIDR_NOTE.format(cidr=desired["cidr"])
    return body


def subnet_body(subnet, network):
    """The ``subnetworks.insert`` body of a portable subnet in ``network`` (URL or path)."""
    return {
        "name": subnet["name"],
        "network": network,
        "ip_cidr_range": subnet["cidr"],
        "private_ip_google_access": True,
        "secondary_ip_ranges": [
            {"range_name": item["name"], "ip_cidr_range": item["cidr"]} for item in subnet.get("secondary_ranges") or []
        ],
    }


def cidr_of(network):
    """The portable CIDR recorded in a network's description, or None."""
    found = _CIDR_IN_DESCRIPTION.search((network or {}).get("description") or "")
    return found.group(1) if found else None


def region_of_link(link):
    """The region in a regional resource URL (``.../regions/<region>/...``), or None."""
    found = _REGION_IN_LINK.search(str(link or ""))
    return found.group(1) if found else None


def subnet_to_portable(subnet):
    """A Compute subnetwork (dict, proto field names) as a portable subnet."""
    return {
        "name": subnet.get("name"),
        "id": subnet.get("self_link"),
        "cidr": subnet.get("ip_cidr_range"),
        "zone": None,
        "role": "nodes",
        "secondary_ranges": [
            {"name": item.get("range_name"), "cidr": item.get("ip_cidr_range")}
            for item in subnet.get("secondary_ip_ranges") or []
        ],
    }


def network_to_portable(network, subnets, *, region, project, desired=None):
    """A Compute network and its subnetworks in ``region`` (dicts) as the current portable network."""
    desired = desired or {}
    provider = dict(desired.get("provider") or {})
    provider.update({"project": project, "resource_group": None})
    provider.setdefault("create_resource_group", False)
    mine = [s for s in subnets if same_resource(s.get("network"), network.get("self_link"))]
    return {
        "cloud": "gcp",
        "region": region,
        "name": network.get("name"),
        "id": network.get("self_link"),
        "cidr": cidr_of(network),
        "subnets": sorted((subnet_to_portable(s) for s in mine), key=lambda s: s["name"] or ""),
        "tags": {},
        "status": "available",
        "extra": {
            "routing_mode": (network.get("routing_config") or {}).get("routing_mode"),
            "auto_create_subnetworks": bool(network.get("auto_create_subnetworks")),
            "mtu": network.get("mtu"),
        },
        "provider": provider,
        "raw": network,
    }


# ----------------------------------------------------------------------------- adapter


class Networks:
    """The portable network interface over Compute Engine v1."""

    ACTIONS = NETWORK_ACTIONS

    def __init__(self, conn):
        self.conn = conn
        self.warnings = []

    def zones(self, region):
        """Subnetworks are regional in Google Cloud: no zones to plan with."""
        return []

    # ------------------------------------------------------------------ reads

    def _project(self, provider=None):
        return (provider or {}).get("project") or self.conn.project

    def _region(self, desired):
        region = desired.get("region") or self.conn.region
        if not region:
            raise ValidationError("region", "no Google Cloud region was given", advice="set the task's region option")
        return region

    @missing_means(None)
    def _get_network(self, project, name):
        found = self.conn.rpc(
            self.conn.networks.get, project=project, network=name, resource=f"network {name}", call="networks.get"
        )
        return to_dict(found)

    def _subnets(self, project, region):
        items = self.conn.rpc_list(
            self.conn.subnetworks.list,
            project=project,
            region=region,
            resource=f"subnetworks in {region}",
            call="subnetworks.list",
        )
        return [to_dict(item) for item in items]

    def read(self, desired):
        """The network named ``desired["name"]`` in the project, with its subnets in the region."""
        project = self._project(desired.get("provider"))
        network = self._get_network(project, desired["name"])
        if network is None:
            return None
        region = self._region(desired)
        return network_to_portable(
            network, self._subnets(project, region), region=region, project=project, desired=desired
        )

    def list(self, region=None, provider=None):
        """Every network of the project, each with its subnetworks in ``region`` (if one is known)."""
        project = self._project(provider)
        region = region or self.conn.region
        networks = [
            to_dict(item)
            for item in self.conn.rpc_list(
                self.conn.networks.list, project=project, resource=f"networks of {project}", call="networks.list"
            )
        ]
        subnets = self._subnets(project, region) if region else []
        return [network_to_portable(n, subnets, region=region, project=project) for n in networks]

    # ------------------------------------------------------------------ writes

    def apply(self, action, desired, current):
        """Perform one planner action and wait for its Compute operations to finish."""
        perform(self, CLOUD, "network", action, desired, current)

    def _update_tags(self, action, desired, current):
        """Nothing: Compute networks have no labels (see the module docstring)."""

    def _create_network(self, action, desired, current):
        project = self._project(desired.get("provider"))
        name = desired["name"]
        op = self.conn.rpc(
            self.conn.networks.insert_unary,
            project=project,
            network_resource=network_body(desired),
            resource=f"network {name}",
            call="networks.insert",
        )
        self.conn.wait_compute_operation(op, project=project, resource=f"network {name}")

    def _create_subnet(self, action, desired, current):
        project, region = self._project(desired.get("provider")), self._region(desired)
        network_name, subnet = desired["name"], action["subnet"]
        resource = f"subnetwork {region}/{subnet['name']}"
        op = self.conn.rpc(
            self.conn.subnetworks.insert_unary,
            project=project,
            region=region,
            subnetwork_resource=subnet_body(subnet, f"projects/{project}/global/networks/{network_name}"),
            resource=resource,
            call="subnetworks.insert",
        )
        self.conn.wait_compute_operation(op, project=project, region=region, resource=resource)

    def _delete_subnet(self, action, desired, current):
        project, subnet = self._project(desired.get("provider")), action["subnet"]
        region = region_of_link(subnet.get("id")) or self._region(desired)
        self._wait_all([self._start_subnet_delete(project, region, subnet["name"])], project, region)

    def _start_subnet_delete(self, project, region, name):
        """The delete operation of a subnetwork, or None when it is already gone."""
        return gone_is_done(
            self.conn.rpc,
            self.conn.subnetworks.delete_unary,
            project=project,
            region=region,
            subnetwork=name,
            resource=f"subnetwork {region}/{name}",
            call="subnetworks.delete",
        )

    def _wait_all(self, operations, project, region=None):
        for op in operations:
            if op is not None:
                self.conn.wait_compute_operation(
                    op, project=project, region=region, resource=f"operation {to_dict(op).get('name')}"
                )

    def _delete_network(self, action, desired, current):
        project, region, name = self._project(desired.get("provider")), self._region(desired), desired["name"]
        network = self._get_network(project, name)
        if network is None:
            return
        link = network.get("self_link") or resource_path(f"projects/{project}/global/networks/{name}")
        subnets = [s for s in self._subnets(project, region) if same_resource(s.get("network"), link)]
        self._wait_all([self._start_subnet_delete(project, region, s["name"]) for s in subnets], project, region)
        op = gone_is_done(
            self.conn.rpc,
            self.conn.networks.delete_unary,
            project=project,
            network=name,
            resource=f"network {name}",
            call="networks.delete",
        )
        if op is not None:
            self.conn.wait_compute_operation(op, project=project, resource=f"network {name}")
