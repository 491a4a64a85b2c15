# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interfaces every cloud's adapters implement: what the runners, the modules and the
inventory plugin may call, and nothing else.

``common/clouds.py`` maps a cloud to its ``Connection``, ``Networks`` and ``Clusters``; each of
those satisfies the protocol of the same name below (a unit test compares every cloud's classes
with these, method by method and signature by signature). A new service gets its protocol here
first, then one adapter per cloud.

Shapes: ``desired`` and the values ``read``/``list``/``wait`` return are the portable shapes the
planners produce (``network/spec.py``, ``cluster/spec.py``); an ``action`` is one item of a plan,
``{"action": <kind>, ...}``. An adapter that gets a kind it does not know raises
:class:`~common.errors.UnknownActionError`.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Protocol

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import UnknownActionError


class Connection(Protocol):
    """One cloud's SDK clients for one task or inventory source (``<cloud>/client.py``)."""

    cloud: str
    region: str
    poll_interval: float

    def call(self, fn, *args, resource=None, call=None, **kwargs):
        """``fn(*args, **kwargs)`` under the retry policy; errors become typed FabricErrors."""

    def deadline(self):
        """The task's deadline (or a default one)."""

    def waiter(self, resource, *, state_of, success, failure=(), failure_message=None):
        """A :class:`~common.waiter.Waiter` polling at the connection's interval."""

    def wait(self, waiter, fetch, deadline=None):
        """Run ``waiter`` on ``fetch`` within ``deadline``."""

    def locations(self):
        """``{region: [zones]}`` the cloud offers (``common/locations.py`` validates against it)."""


class Networks(Protocol):
    """Networks of one cloud (``<cloud>/network.py``): a VPC / VPC network / VNet and its subnets.

    ``apply`` performs ``create_network``, ``create_subnet``, ``delete_subnet``, ``update_tags``
    and ``delete_network`` and returns once the cloud reports the action done. ``warnings`` are
    what the module tells the user without failing (e.g. a resource group kept because it still
    holds other resources).
    """

    conn: Connection
    warnings: list

    def zones(self, region):
        """Zones to spread subnets over (empty where subnets are regional)."""

    def read(self, desired):
        """The current network named like ``desired``, or None."""

    def list(self, region=None, provider=None):
        """Every network of the scope (region; GCP project or Azure resource group in ``provider``)."""

    def apply(self, action, desired, current):
        """Perform one planned action."""


class Clusters(Protocol):
    """Managed Kubernetes clusters of one cloud (``<cloud>/cluster.py``).

    ``apply`` starts one of ``create_cluster``, ``upgrade_control_plane``, ``upgrade_node_pool``,
    ``create_node_pool``, ``update_node_pool``, ``delete_node_pool``, ``update_tags``,
    ``delete_cluster``; ``wait`` blocks until that action is done and the cluster is idle (None
    once deleted), failing at once with the cloud's message. ``wait`` only reads: every write is
    an action of the plan, so check mode and ``actions`` report it.

    ``lists_by_name`` is True where the cloud lists only cluster names and describes each cluster
    with calls of its own (EKS): callers that list many clusters take ``names`` and ``read`` each
    one concurrently; elsewhere ``list`` returns complete shapes in one call.
    """

    conn: Connection
    lists_by_name: bool

    def read(self, desired):
        """The current cluster named ``desired["name"]`` in ``desired["region"]``, or None."""

    def names(self, region=None, provider=None):
        """Names of the clusters of the scope, sorted."""

    def list(self, region=None, provider=None):
        """Every cluster of the scope, as portable shapes."""

    def apply(self, action, desired, current):
        """Start one planned action."""

    def wait(self, desired, action, deadline):
        """Block until ``action`` is done and the cluster idle; the final shape (None: deleted)."""

    def kube_user(self, current, mode="token"):
        """The kubeconfig ``user`` entry for ``current``: a credential made now (``token``) or an
        exec entry that makes one when used (``exec``)."""


class VpnGateways(Protocol):
    """One cloud's side of the VPN mesh (``<cloud>/vpn.py``): its gateway and its half of every
    peering, as a set of named cloud resources the generic planner (``vpn/plan.py``) diffs.

    ``desired`` (built by ``vpn/runner.py``)::

        {"cloud", "region", "name",          # name: the mesh's name, prefix of every resource name
         "network": {...},                   # aws {"vpc_id"}; gcp {"network"}; azure {"vnet", "resource_group"}
         "asn", "cidrs",                     # this gateway's ASN and the ranges it advertises
         "tags": {...},
         "tunnels": [tunnel, ...],           # vpn.spec.tunnels_of(mesh, cloud) entries whose
                                             # "remote" has "public_ip"; [] = the gateway phase
         "layout": [tunnel, ...]}            # optional: every tunnel of this side in the mesh,
                                             # addresses known or not, no keys (what a gateway
                                             # carries for all its tunnels is set from it)

    A **resource** is ``{"kind", "name", "spec": {...}}`` (desired) plus ``"id"`` and
    ``"status"`` (current). ``spec`` holds only portable values and references
    ``{"ref": "<kind>/<name>"}`` to other resources of the same set; the adapter reads them back
    in the same form, so the planner compares specs key by key (keys in ``WRITE_ONLY`` are skipped
    when the cloud does not return them; keys listed in the desired resource's ``replace_on``,
    or every key when it is ``"*"``, need a delete and a create; any other change is an update).

    - ``KINDS``: the kinds in creation order (deletes go in reverse);
      ``GATEWAY_KINDS``: the subset the gateway phase owns (the rest are peerings);
      ``CONCURRENT_KINDS``: kinds whose resources are independent of each other, so the runner
      applies consecutive actions of one of them at once (in threads: ``apply`` must be safe to
      call from several).
    - ``resources(desired)``: every resource ``desired`` needs, without calling the cloud.
    - ``read(desired)``: every resource of this mesh that exists (found by name/tag), or [].
    - ``apply(action, desired, ids, wait=True)``: perform one planned action and wait until the
      cloud reports it done (failing at once on the cloud's failed state); with ``wait=False`` an
      adapter may return once the cloud accepted a long operation; ``action`` is ``{"action":
      "create"|"update"|"delete", "kind", "name", "spec", "id"?, "changes"?}``, ``ids`` maps
      ``"<kind>/<name>"`` to the id of every resource that exists so far in this run; returns
      the resource's id (None once deleted).
    - ``in_progress(current)``: the ``"<kind>/<name>"`` of every resource the cloud is still
      making, changing or deleting (what a run with ``wait=True`` waits for before planning).
    - ``gateway(desired, current)``: the facts other clouds' hosts read: ``{"cloud", "region",
      "name", "asn", "cidrs", "interfaces": [public ip, ...], "tunnel_ips": {tunnel name: ip}}``
      (GCP/Azure: one address per interface/instance; AWS: one per tunnel).
    - ``tunnel_status(desired, current)``: per tunnel of ``desired["tunnels"]`` ``{"name", "pair",
      "index", "status": "UP"|"DOWN", "status_message", "bgp_state", "routes_learned": [cidr],
      "local_public_ip", "remote_public_ip"}``, read from the cloud's own status fields.
    """

    conn: Connection
    warnings: list
    KINDS: tuple
    GATEWAY_KINDS: tuple
    CONCURRENT_KINDS: frozenset
    WRITE_ONLY: frozenset

    def resources(self, desired):
        """The resources ``desired`` needs."""

    def read(self, desired):
        """The resources of this mesh that exist."""

    def apply(self, action, desired, ids, wait=True):
        """Perform one planned action; the resource's id."""

    def in_progress(self, current):
        """The resources of ``current`` the cloud is still working on."""

    def gateway(self, desired, current):
        """The gateway facts the other clouds' peerings need."""

    def tunnel_status(self, desired, current):
        """Every tunnel's state from the cloud's own status fields."""


# The planners' action kinds -> the method of the adapter that performs one (taking the action, the
# desired shape and the current one). Every cloud's adapter of a kind uses the same table.
NETWORK_ACTIONS = MappingProxyType(
    {
        "create_network": "_create_network",
        "create_subnet": "_create_subnet",
        "delete_subnet": "_delete_subnet",
        "update_tags": "_update_tags",
        "delete_network": "_delete_network",
    }
)
CLUSTER_ACTIONS = MappingProxyType(
    {
        "create_cluster": "_create_cluster",
        "upgrade_control_plane": "_upgrade_control_plane",
        "upgrade_node_pool": "_upgrade_node_pool",
        "create_node_pool": "_create_node_pool",
        "update_node_pool": "_update_node_pool",
        "delete_node_pool": "_delete_node_pool",
        "update_tags": "_update_tags",
        "delete_cluster": "_delete_cluster",
    }
)


def perform(adapter, cloud, what, action, *args):
    """Run ``action`` through ``adapter.ACTIONS`` (action kind -> name of the method taking
    ``(action, *args)``); a kind missing from the table raises :class:`UnknownActionError` naming
    ``cloud`` and ``what`` the adapter manages, before anything is sent."""
    method = adapter.ACTIONS.get(action["action"])
    if method is None:
        raise UnknownActionError(cloud, what, action["action"], adapter.ACTIONS)
    return getattr(adapter, method)(action, *args)
