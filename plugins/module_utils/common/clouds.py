# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One place that knows which adapter serves which cloud.

Modules and the inventory plugin ask for ``connect(cloud, ...)`` and the ``Networks`` / ``Clusters``
adapters of that cloud; each cloud's package (``aws/``, ``gcp/``, ``azure/``) implements the same
small interface on top of its official SDK.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import provider_params

CLOUDS = ("aws", "gcp", "azure")


def _package(cloud):
    """``(client, network, cluster)`` modules of ``cloud``, imported on first use so that a task
    only loads the SDK of the cloud it talks to (boto3, google-cloud and azure-mgmt are heavy)."""
    # pylint: disable=import-outside-toplevel
    if cloud == "aws":
        from ansible_collections.multicloud.fabric.plugins.module_utils.aws import client, cluster, network  # noqa: PLC0415
    elif cloud == "gcp":
        from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import client, cluster, network  # noqa: PLC0415
    elif cloud == "azure":
        from ansible_collections.multicloud.fabric.plugins.module_utils.azure import client, cluster, network  # noqa: PLC0415
    else:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")
    return client, network, cluster


# First poll of a waiter; the waiter backs off by 1.5x up to 30 s between polls.
POLL_INTERVAL = 2.0


def connect(cloud, params, retrier, region=None, poll_interval=POLL_INTERVAL):
    """A connection to ``cloud`` from a module's (or inventory source's) provider options."""
    connection = _package(cloud)[0].Connection(provider_params(params, cloud), retrier, region=region)
    connection.poll_interval = poll_interval
    return connection


def networks(cloud, connection):
    return _package(cloud)[1].Networks(connection)


def clusters(cloud, connection):
    return _package(cloud)[2].Clusters(connection)


def vpn_gateways(cloud, connection):
    """The ``VpnGateways`` adapter of ``cloud`` (``<cloud>/vpn.py``)."""
    # pylint: disable=import-outside-toplevel
    if cloud == "aws":
        from ansible_collections.multicloud.fabric.plugins.module_utils.aws import vpn  # noqa: PLC0415
    elif cloud == "gcp":
        from ansible_collections.multicloud.fabric.plugins.module_utils.gcp import vpn  # noqa: PLC0415
    elif cloud == "azure":
        from ansible_collections.multicloud.fabric.plugins.module_utils.azure import vpn  # noqa: PLC0415
    else:
        raise ValueError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")
    return vpn.VpnGateways(connection)
