# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Cloudflare API through the official ``cloudflare`` SDK, for one task.

The SDK's own retries are off (``max_retries=0``): the collection's one :class:`Retrier` owns
retries, backoff and the task's deadline. ``base_url`` points the SDK at another API (a proxy, the
sandbox); ``ca_bundle`` is handed to the SDK's HTTP client, which otherwise trusts only the system
store (it does not read ``REQUESTS_CA_BUNDLE``).
"""

from __future__ import annotations

import os

from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.connection import BaseConnection
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import FabricError, ValidationError

try:
    import httpx

    import cloudflare

    HAS_CLOUDFLARE = True
    CLOUDFLARE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the controller
    HAS_CLOUDFLARE = False
    CLOUDFLARE_IMPORT_ERROR = str(exc)

CLOUD = "cloudflare"
TIMEOUT = 30.0


def plain(obj):
    """An SDK object (or list of them) as plain data."""
    if obj is None:
        return None
    if isinstance(obj, list):
        return [plain(item) for item in obj]
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


class Connection(BaseConnection):
    """One SDK client; ``call`` runs an SDK call under the retrier and returns plain data."""

    cloud = CLOUD

    def __init__(self, params, retrier):
        if not HAS_CLOUDFLARE:
            raise FabricError(
                f"the Cloudflare SDK is not installed ({CLOUDFLARE_IMPORT_ERROR})",
                cloud=CLOUD,
                kind=E.VALIDATION,
                advice="install the Python package cloudflare on the controller (pip install cloudflare)",
            )
        self.params = dict(params or {})
        self.retrier = retrier
        self._client = None

    @property
    def client(self):
        if self._client is None:
            token = self.params.get("cloudflare_api_token")
            if not token:
                raise ValidationError(
                    "cloudflare_api_token",
                    "no Cloudflare API token was given (option or environment CLOUDFLARE_API_TOKEN)",
                )
            kwargs = {"api_token": token, "max_retries": 0, "timeout": TIMEOUT}
            if self.params.get("cloudflare_base_url"):
                kwargs["base_url"] = self.params["cloudflare_base_url"]
            ca_bundle = self.params.get("cloudflare_ca_bundle")
            if ca_bundle:
                if not os.path.isfile(ca_bundle):
                    raise ValidationError(
                        "cloudflare_ca_bundle",
                        f"the CA bundle {ca_bundle!r} is not a readable file (environment CLOUDFLARE_CA_BUNDLE)",
                    )
                kwargs["http_client"] = httpx.Client(verify=ca_bundle, timeout=TIMEOUT)
            self._client = cloudflare.Cloudflare(**kwargs)
        return self._client

    def api(self, fn, /, *args, resource=None, call=None, expect_result=True, **kwargs):
        """``fn(*args, **kwargs)`` (an SDK method) under the retrier, as plain data. A 200 whose
        envelope says ``success: false`` comes back from the SDK as None: that is an error."""

        def invoke():
            result = fn(*args, **kwargs)
            if hasattr(result, "__iter__") and hasattr(result, "_get_page_items"):
                return [plain(item) for item in result]  # a page: iterating fetches every page
            return plain(result)

        result = self.call(invoke, resource=resource, call=call)
        if result is None and expect_result:
            raise FabricError(
                "the API answered without a result (success false)", cloud=CLOUD, resource=resource, call=call
            )
        return result

    def zone(self, name):
        """``{"id", "name", "account_id"}`` of the zone called ``name``."""
        zones = self.api(self.client.zones.list, name=name, resource=f"zone {name}", call="zones.list")
        for zone in zones:
            if zone.get("name") == name:
                account = (zone.get("account") or {}).get("id")
                return {
                    "id": zone["id"],
                    "name": name,
                    "account_id": self.params.get("cloudflare_account_id") or account,
                }
        raise ValidationError("zone", f"the Cloudflare account of this token has no zone {name}")
