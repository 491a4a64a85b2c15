# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig users and the cluster CA for AKS, from ``listClusterUserCredential``.

AKS answers that call with a whole kubeconfig (the sandbox with a freshly signed client
certificate): its user is the kubeconfig user the collection writes, its cluster's
``certificate-authority-data`` the cluster's ``ca_data``. The CA is fetched once per connection
and cluster, the first time the cluster is read ACTIVE, and cached; the kubeconfig fetched for it
is kept for the next ``kube_user`` of the same cluster so one task does not ask twice.
"""

from __future__ import annotations

import base64
import copy

from ansible_collections.multicloud.fabric.plugins.module_utils.azure.client import CLOUD
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    CONFLICT,
    DENIED,
    NOT_FOUND,
    VALIDATION,
    FabricError,
    ValidationError,
)

try:
    import yaml
except ImportError as exc:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None
    YAML_IMPORT_ERROR = exc
else:
    YAML_IMPORT_ERROR = None


KUBECONFIG_FORMAT = "exec"  # AAD clusters: a kubelogin exec user; others: a client certificate


def parse_kubeconfig(value):
    """A kubeconfig (dict) from listClusterUserCredential's value (bytes, or base64 text)."""
    if yaml is None:
        raise FabricError(f"PyYAML is not installed ({YAML_IMPORT_ERROR})", cloud=CLOUD, kind=VALIDATION)
    if isinstance(value, str):
        value = base64.b64decode(value)
    config = yaml.safe_load(bytes(value).decode("utf-8"))
    if not isinstance(config, dict):
        raise FabricError("listClusterUserCredential returned no kubeconfig", cloud=CLOUD)
    return config


def _named(items, name):
    for item in items or []:
        if item.get("name") == name:
            return item
    return (items or [None])[0]


def kubeconfig_user(config):
    """The ``user`` mapping of the kubeconfig's current context (its first user without one)."""
    context = _named(config.get("contexts"), config.get("current-context")) or {}
    user = _named(config.get("users"), (context.get("context") or {}).get("user")) or {}
    return copy.deepcopy(user.get("user") or {})


def kubeconfig_ca_data(config):
    """``certificate-authority-data`` of the kubeconfig's current cluster (None when absent)."""
    context = _named(config.get("contexts"), config.get("current-context")) or {}
    cluster = _named(config.get("clusters"), (context.get("context") or {}).get("cluster")) or {}
    return (cluster.get("cluster") or {}).get("certificate-authority-data")


class KubeconfigUsers:
    """``kubeconfig``/``kube_user`` and the CA cache; mixed into ``Clusters`` (``self.conn``,
    ``self._resource`` and ``self._unused_kubeconfigs`` come from there)."""

    @property
    def _ca_cache(self):
        return self.conn.cache.setdefault("aks_ca_data", {})

    def _ca_data(self, current):
        key = str(current["id"]).lower()
        if key in self._ca_cache:
            return self._ca_cache[key]
        if current["status"] != "ACTIVE":
            return None
        try:
            self.kubeconfig(current)  # fills the cache
        except FabricError as exc:
            if exc.kind in (NOT_FOUND, CONFLICT, DENIED):
                return None
            raise
        return self._ca_cache.get(key)

    def kubeconfig(self, current):
        """The kubeconfig (dict) of listClusterUserCredential for ``current`` (holds credentials)."""
        group = current["provider"]["resource_group"]
        name = current["name"]
        result = self.conn.call(
            self.conn.containerservice.managed_clusters.list_cluster_user_credentials,
            group,
            name,
            format=KUBECONFIG_FORMAT,
            resource=self._resource(group, name),
            call="ManagedClusters_ListClusterUserCredentials",
        )
        kubeconfigs = getattr(result, "kubeconfigs", None) or []
        if not kubeconfigs:
            raise FabricError(
                "listClusterUserCredential returned no kubeconfig",
                cloud=CLOUD,
                resource=self._resource(group, name),
                call="ManagedClusters_ListClusterUserCredentials",
            )
        config = parse_kubeconfig(kubeconfigs[0].value)
        ca_data = kubeconfig_ca_data(config)
        if ca_data and current.get("id"):
            self._ca_cache[str(current["id"]).lower()] = ca_data
            self._unused_kubeconfigs[str(current["id"]).lower()] = config
        return config

    def kube_user(self, current, mode="token"):
        """The kubeconfig ``user`` entry for ``current``: in both modes the user of
        listClusterUserCredential's kubeconfig (a client certificate for clusters with local
        accounts; a kubelogin ``exec`` entry for Entra ID (AAD) clusters)."""
        if mode not in ("token", "exec"):
            raise ValidationError("mode", f"expected token or exec, got {mode!r}")
        config = self._unused_kubeconfigs.pop(str(current.get("id") or "").lower(), None)
        return kubeconfig_user(config or self.kubeconfig(current))
