# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regions, locations and zones checked against each cloud's own list before any write.

Each cloud's ``Connection.locations()`` returns ``{region: [zones]}`` from the cloud itself: AWS from
botocore's partition and endpoint data (no API call), GCP from Compute ``regions.list`` (each
region lists its zones), Azure from ARM ``subscriptions/{id}/locations``. The list is read once per
connection, so once per module invocation, and only when a location has to be checked.
"""

from __future__ import annotations

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

KIND = {"aws": "AWS region", "gcp": "Google Cloud region", "azure": "Azure location"}


def known_locations(conn):
    """``{region: [zones]}`` of the connection's cloud, read on first use and kept on the connection."""
    found = getattr(conn, "_known_locations", None)
    if found is None:
        found = conn.locations()
        conn._known_locations = found  # pylint: disable=protected-access
    return found


def check_location(cloud, field, value, known, zonal=False):
    """Raise :class:`ValidationError` naming ``field`` and the valid values unless ``value`` is one
    of ``known`` (``{region: [zones]}``); with ``zonal`` a zone of a known region is accepted too."""
    if value in known:
        return
    if zonal and any(value in (zones or ()) for zones in known.values()):
        return
    kind = KIND[cloud] + (" or zone" if zonal else "")
    hint = ""
    if zonal and "-" in str(value):
        region = str(value).rsplit("-", 1)[0]
        if known.get(region):
            hint = f"; zones of {region}: {', '.join(sorted(known[region]))}"
    raise ValidationError(
        field,
        f"{value!r} is not a known {kind}; valid: {', '.join(sorted(known))}{hint}",
    )


def validate(conn, cloud, field, value, zonal=False):
    """Check ``value`` against the cloud's own list read through ``conn`` (see :func:`check_location`)."""
    check_location(cloud, field, value, known_locations(conn), zonal=zonal)


def in_locations(location, wanted):
    """Whether ``location`` is one of ``wanted`` or a zone of one (a zonal GKE cluster in
    ``us-central1-a`` is in ``us-central1``)."""
    return any(location == item or location.startswith(f"{item}-") for item in wanted)


def listing_scopes(cloud, params, *, regions=None, projects=None, resource_groups=None, subscriptions=None):
    """``(label, params, region, provider)``: the units of work that list ``cloud``'s resources.

    AWS lists per region (``regions``); GCP per project (all its locations: filter the result with
    :func:`in_locations`), ``projects`` or the ``gcp_project`` of ``params``; Azure per subscription
    (``subscriptions`` or ``params``' ``azure_subscription_id``) and resource group, or the whole
    subscription. Each unit's ``params`` are the provider options to connect with.
    """
    if cloud == "aws":
        return [(f"aws {region}", params, region, None) for region in regions or []]
    if cloud == "gcp":
        return [
            (f"gcp project {project}", dict(params, gcp_project=project), None, {"project": project})
            for project in projects or [params.get("gcp_project")]
        ]
    units = []
    for subscription in subscriptions or [params.get("azure_subscription_id")]:
        unit_params = dict(params, azure_subscription_id=subscription)
        for group in resource_groups or [None]:
            label = f"azure subscription {subscription}" + (f" resource group {group}" if group else "")
            units.append((label, unit_params, None, {"resource_group": group} if group else None))
    return units
