"""Compute Engine v1 as the sandbox serves it: networks, subnetworks, firewalls, addresses, operations.

Only the VPC side the collection needs. Every mutation returns a compute#operation that is
RUNNING and becomes DONE on simulated time (google-cloud-compute's extended operations poll it
through the global or regional operations API). Resources change when the call is accepted and
the operation reports when the change has "settled"; validation errors answer at once, as Compute
does for malformed requests.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import secrets
import threading
import time
import zlib
from datetime import UTC, datetime

from mc_sandbox.clouds.gcp import vpn
from mc_sandbox.clouds.gcp.exceptions import ApiError, already_exists, invalid, not_found
from mc_sandbox.clouds.gcp.locations import REGIONS, is_region, zones_of
from mc_sandbox.core.config import scaled

BASE = "https://www.googleapis.com/compute/v1"
INSERT_SECONDS = {"networks": 15, "subnetworks": 15, "firewalls": 5, "addresses": 2, **vpn.INSERT_SECONDS}
DELETE_SECONDS = {"networks": 15, "subnetworks": 15, "firewalls": 5, "addresses": 2, **vpn.DELETE_SECONDS}
_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_P = r"projects/(?P<project>[^/]+)"
_G = _P + r"/global/(?P<collection>networks|firewalls|externalVpnGateways)"
_R = _P + r"/regions/(?P<region>[^/]+)/(?P<collection>subnetworks|addresses|vpnGateways|routers|vpnTunnels)"
ROUTES = [
    ("GET", _G, "list"),
    ("POST", _G, "insert"),
    ("GET", _G + r"/(?P<resource>[^/]+)", "get"),
    ("DELETE", _G + r"/(?P<resource>[^/]+)", "delete"),
    ("GET", _R, "list"),
    ("POST", _R, "insert"),
    ("GET", _R + r"/(?P<resource>[^/]+)", "get"),
    ("DELETE", _R + r"/(?P<resource>[^/]+)", "delete"),
    ("PATCH", _R + r"/(?P<resource>[^/]+)", "patch"),
    ("PUT", _R + r"/(?P<resource>[^/]+)", "update"),
    ("GET", _R + r"/(?P<resource>[^/]+)/getStatus", "getStatus"),
    ("GET", _R + r"/(?P<resource>[^/]+)/getRouterStatus", "getRouterStatus"),
    ("GET", _P + r"/regions", "regions.list"),
    ("GET", _P + r"/regions/(?P<region>[^/]+)", "regions.get"),
    ("GET", _P + r"/global/operations", "globalOperations.list"),
    ("GET", _P + r"/global/operations/(?P<operation>[^/]+)", "globalOperations.get"),
    ("GET", _P + r"/regions/(?P<region>[^/]+)/operations", "regionOperations.list"),
    ("GET", _P + r"/regions/(?P<region>[^/]+)/operations/(?P<operation>[^/]+)", "regionOperations.get"),
    ("POST", _P + r"/global/operations/(?P<operation>[^/]+)/wait", "globalOperations.wait"),
    ("POST", _P + r"/regions/(?P<region>[^/]+)/operations/(?P<operation>[^/]+)/wait", "regionOperations.wait"),
]
# How long an operations.wait call waits at most (Compute's own limit is about 2 minutes).
WAIT_SECONDS = 120
_ROUTES = [(method, re.compile(pattern), name) for method, pattern, name in ROUTES]
_KINDS = {
    "networks": "compute#network",
    "subnetworks": "compute#subnetwork",
    "firewalls": "compute#firewall",
    "addresses": "compute#address",
    **vpn.COLLECTIONS,
}
# verbs that only some collections have
_ONLY = {"patch": ("routers",), "update": ("routers",), "getStatus": ("vpnGateways",), "getRouterStatus": ("routers",)}


def _timestamp(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(epoch if epoch is not None else time.time(), UTC).astimezone()
    return moment.isoformat(timespec="milliseconds")


def _id() -> str:
    return str(secrets.randbelow(9 * 10**18) + 10**18)


def _cidr(value, field_name: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value)
    except (ValueError, TypeError):
        raise invalid(
            f"Invalid value for field '{field_name}': '{value}'. Invalid IPCidrRange: {value}.",
            (field_name, "not a valid IPv4 CIDR range"),
        ) from None


class ComputeEmulator:
    def __init__(self, project: str, *, time_factor: float, clock=time.time, fabric=None):
        self._project = project
        self.base = BASE
        self._factor = time_factor
        self._clock = clock
        self._lock = threading.Lock()
        # (collection, region or "global", name) -> resource JSON
        self._resources: dict[tuple[str, str, str], dict] = {}
        # operation name -> (operation JSON, when it is DONE)
        self._operations: dict[str, tuple[dict, float]] = {}
        self._next_external = 1
        self.vpn = vpn.VpnResources(self, fabric)

    def start(self) -> None:
        """Nothing runs in the background: operations are DONE once their time has passed."""

    def stop(self) -> None:
        """See start()."""

    def reset(self) -> None:
        with self._lock:
            self._resources.clear()
            self._operations.clear()
            self.vpn.publish()

    def status(self) -> dict:
        with self._lock:
            counts: dict[str, int] = {}
            for collection, _, _ in self._resources:
                counts[collection] = counts.get(collection, 0) + 1
            running = [
                {"name": op["name"], "type": op["operationType"], "target": op["targetLink"]}
                for op, done in self._operations.values()
                if done > self._clock()
            ]
        return {"resources": counts, "operations_in_progress": running}

    # ---------------------------------------------------------------- routing
    def route(self, method: str, path: str):
        """(fault operation name, path params) of a request, or None when no route matches."""
        for route_method, pattern, name in _ROUTES:
            found = pattern.fullmatch(path)
            if found and route_method == method:
                params = found.groupdict()
                operation = name if "." in name else f"{params['collection']}.{name}"
                return operation, params
        return None

    def handle(self, operation: str, params: dict, query: dict, body: dict) -> dict:
        if operation.endswith("Operations.wait"):
            with self._lock:
                self._get_operation(params)
                remaining = self._operations[params["operation"]][1] - self._clock()
            if remaining > 0:
                time.sleep(min(remaining, WAIT_SECONDS))  # the caller asked to wait; no lock is held
            operation = operation.replace(".wait", ".get")
        if operation == "regions.list":
            return self._regions()
        region = params.get("region")
        if region is not None and not is_region(region):
            # Compute answers a call under an unknown region like any missing resource: 404 notFound.
            raise not_found(f"The resource 'projects/{self._project}/regions/{region}' was not found")
        if operation == "regions.get":
            return self._region(region)
        with self._lock:
            if operation.endswith("Operations.get"):
                return self._get_operation(params)
            if operation.endswith("Operations.list"):
                return self._list_operations(params)
            collection, verb = operation.split(".")
            scope = params.get("region") or "global"
            if collection not in _ONLY.get(verb, (collection,)):
                raise ApiError(404, f"Method not found: {verb} of {collection}", status="NOT_FOUND")
            if verb == "list":
                return self._list(collection, scope)
            if verb == "get":
                return self._view(collection, self._get(collection, scope, params["resource"]))
            if verb == "getStatus":
                return self.vpn.gateway_status(scope, params["resource"])
            if verb == "getRouterStatus":
                return self.vpn.router_status(scope, params["resource"])
            if verb == "delete":
                return self._delete(collection, scope, params["resource"])
            if verb in ("patch", "update"):
                router = self.vpn.patch(scope, params["resource"], body, replace=verb == "update")
                operation = self._operation(verb, collection, scope, router, vpn.PATCH_SECONDS)
                self.vpn.publish()
                return operation
            return self._insert(collection, scope, body)

    def valid_name(self, name: str) -> bool:
        return bool(_NAME.fullmatch(name or ""))

    def _view(self, collection: str, resource: dict) -> dict:
        if collection in vpn.COLLECTIONS:
            return self.vpn.view(collection, resource)
        return copy.deepcopy(resource)

    # ---------------------------------------------------------------- regions
    def _region(self, name: str) -> dict:
        link = f"{BASE}/projects/{self._project}/regions/{name}"
        return {
            "kind": "compute#region",
            "id": str(zlib.crc32(name.encode()) + 10**12),
            "name": name,
            "description": name,
            "status": "UP",
            "zones": [f"{BASE}/projects/{self._project}/zones/{zone}" for zone in zones_of(name)],
            "selfLink": link,
        }

    def _regions(self) -> dict:
        return {
            "kind": "compute#regionList",
            "id": f"projects/{self._project}/regions",
            "items": [self._region(name) for name in sorted(REGIONS)],
            "selfLink": f"{BASE}/projects/{self._project}/regions",
        }

    # ---------------------------------------------------------------- links
    def _scope_link(self, scope: str) -> str:
        prefix = f"{BASE}/projects/{self._project}"
        return f"{prefix}/global" if scope == "global" else f"{prefix}/regions/{scope}"

    def _link(self, collection: str, scope: str, name: str) -> str:
        return f"{self._scope_link(scope)}/{collection}/{name}"

    def _path_of(self, collection: str, scope: str, name: str) -> str:
        return self._link(collection, scope, name).removeprefix(f"{BASE}/")

    def _get(self, collection: str, scope: str, name: str) -> dict:
        found = self._resources.get((collection, scope, name))
        if found is None:
            raise not_found(f"The resource '{self._path_of(collection, scope, name)}' was not found")
        return found

    def _network(self, reference, field_name: str) -> dict:
        """The network a `network` field names (full URL, partial path or bare name)."""
        if not reference:
            raise invalid(f"Invalid value for field '{field_name}': ''.", (field_name, "required"))
        name = str(reference).rstrip("/").rsplit("/", 1)[-1]
        return self._get("networks", "global", name)

    # ---------------------------------------------------------------- operations
    def _operation(self, kind: str, collection: str, scope: str, resource: dict, seconds: float) -> dict:
        now = self._clock()
        name = f"operation-{int(now * 1000)}-{secrets.token_hex(6)}"
        op = {
            "kind": "compute#operation",
            "id": _id(),
            "name": name,
            "operationType": kind,
            "targetLink": resource["selfLink"],
            "targetId": resource["id"],
            "status": "RUNNING",
            "user": f"mc-sandbox@{self._project}.iam.gserviceaccount.com",
            "progress": 0,
            "insertTime": _timestamp(now),
            "startTime": _timestamp(now),
            "selfLink": f"{self._scope_link(scope)}/operations/{name}",
        }
        if scope != "global":
            op["region"] = self._scope_link(scope)
        self._operations[name] = (op, now + scaled(seconds, self._factor))
        return self._current(name)

    def _current(self, name: str) -> dict:
        op, done = self._operations[name]
        op = copy.deepcopy(op)
        if self._clock() >= done:
            op.update({"status": "DONE", "progress": 100, "endTime": _timestamp(done)})
        return op

    def _get_operation(self, params: dict) -> dict:
        scope = params.get("region") or "global"
        name = params["operation"]
        found = self._operations.get(name)
        if found is None or found[0]["selfLink"] != f"{self._scope_link(scope)}/operations/{name}":
            raise not_found(f"The resource '{self._path_of('operations', scope, name)}' was not found")
        return self._current(name)

    def _list_operations(self, params: dict) -> dict:
        scope = params.get("region") or "global"
        prefix = f"{self._scope_link(scope)}/operations/"
        items = [self._current(n) for n, (op, _) in self._operations.items() if op["selfLink"].startswith(prefix)]
        return {"kind": "compute#operationList", "id": prefix.removeprefix(f"{BASE}/"), "items": items}

    # ---------------------------------------------------------------- resources
    def _list(self, collection: str, scope: str) -> dict:
        items = [
            self._view(collection, resource)
            for (kind, where, _), resource in sorted(self._resources.items())
            if kind == collection and where == scope
        ]
        return {
            "kind": _KINDS[collection] + "List",
            "id": f"projects/{self._project}/{'global' if scope == 'global' else 'regions/' + scope}/{collection}",
            "items": items,
            "selfLink": f"{self._scope_link(scope)}/{collection}",
        }

    def _insert(self, collection: str, scope: str, body: dict) -> dict:
        name = body.get("name") or ""
        if not _NAME.fullmatch(name):
            raise invalid(
                f"Invalid value for field 'resource.name': '{name}'. Must be a match of regex "
                "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                ("resource.name", "must be 1-63 lowercase letters, digits or '-', starting with a letter"),
            )
        if (collection, scope, name) in self._resources:
            raise already_exists(f"The resource '{self._path_of(collection, scope, name)}' already exists")
        resource = copy.deepcopy(body)
        resource.update(
            {
                "kind": _KINDS[collection],
                "id": _id(),
                "creationTimestamp": _timestamp(),
                "name": name,
                "selfLink": self._link(collection, scope, name),
            }
        )
        if scope != "global":
            resource["region"] = self._scope_link(scope)
        if collection in vpn.COLLECTIONS:
            self.vpn.prepare(collection, resource, scope)
        else:
            getattr(self, f"_prepare_{collection}")(resource, scope)
        self._resources[(collection, scope, name)] = resource
        operation = self._operation("insert", collection, scope, resource, INSERT_SECONDS[collection])
        self.vpn.publish()
        return operation

    def _delete(self, collection: str, scope: str, name: str) -> dict:
        resource = self._get(collection, scope, name)
        if collection == "networks":
            users = sorted(
                r["selfLink"]
                for (kind, _, _), r in self._resources.items()
                if kind in ("subnetworks", "firewalls", "vpnGateways", "routers")
                and r.get("network") == resource["selfLink"]
            )
            if users:
                raise ApiError(
                    400,
                    f"The network resource '{self._path_of(collection, scope, name)}' is already being used by "
                    f"'{users[0].removeprefix(BASE + '/')}'",
                    status="FAILED_PRECONDITION",
                )
        if collection == "subnetworks":
            network = self._resources.get(("networks", "global", resource["network"].rsplit("/", 1)[-1]))
            if network is not None:
                network["subnetworks"] = [s for s in network.get("subnetworks", []) if s != resource["selfLink"]]
        if collection in vpn.COLLECTIONS:
            self.vpn.check_delete(collection, resource)
        del self._resources[(collection, scope, name)]
        operation = self._operation("delete", collection, scope, resource, DELETE_SECONDS[collection])
        if collection in vpn.COLLECTIONS:
            self.vpn.deleted(collection, resource)
        self.vpn.publish()
        return operation

    def _prepare_networks(self, network: dict, scope: str) -> None:
        if "IPv4Range" in network:
            raise invalid(
                "Legacy networks are not supported by the sandbox.", ("resource.IPv4Range", "legacy networks")
            )
        network.setdefault("autoCreateSubnetworks", False)
        network.setdefault("routingConfig", {"routingMode": "REGIONAL"})
        network.setdefault("mtu", 1460)
        network.setdefault("networkFirewallPolicyEnforcementOrder", "AFTER_CLASSIC_FIREWALL")
        network["subnetworks"] = []
        if network["autoCreateSubnetworks"]:
            raise invalid(
                "The sandbox only emulates custom-mode networks (autoCreateSubnetworks false).",
                ("resource.autoCreateSubnetworks", "auto mode is not emulated"),
            )

    def _prepare_subnetworks(self, subnet: dict, scope: str) -> None:
        network = self._network(subnet.get("network"), "resource.network")
        subnet["network"] = network["selfLink"]
        primary = _cidr(subnet.get("ipCidrRange"), "resource.ipCidrRange")
        ranges = [("resource.ipCidrRange", primary)]
        names = set()
        for index, secondary in enumerate(subnet.get("secondaryIpRanges") or []):
            where = f"resource.secondaryIpRanges[{index}]"
            range_name = secondary.get("rangeName") or ""
            if not _NAME.fullmatch(range_name) or range_name in names:
                raise invalid(
                    f"Invalid value for field '{where}.rangeName': '{range_name}'.",
                    (f"{where}.rangeName", "must be a unique RFC 1035 name"),
                )
            names.add(range_name)
            ranges.append((f"{where}.ipCidrRange", _cidr(secondary.get("ipCidrRange"), f"{where}.ipCidrRange")))
        existing = []
        for (kind, _, _), other in self._resources.items():
            if kind == "subnetworks" and other["network"] == network["selfLink"]:
                existing.append(ipaddress.IPv4Network(other["ipCidrRange"]))
                existing += [ipaddress.IPv4Network(r["ipCidrRange"]) for r in other.get("secondaryIpRanges") or []]
        for index, (where, cidr) in enumerate(ranges):
            clash = [c for c in existing + [r for _, r in ranges[:index]] if c.overlaps(cidr)]
            if clash:
                raise invalid(
                    f"Invalid IPCidrRange: {cidr} conflicts with existing subnetwork range {clash[0]} in network "
                    f"{network['name']}.",
                    (where, f"overlaps {clash[0]}"),
                )
        subnet["gatewayAddress"] = str(primary.network_address + 1)
        subnet.setdefault("privateIpGoogleAccess", False)
        subnet.setdefault("purpose", "PRIVATE")
        subnet.setdefault("stackType", "IPV4_ONLY")
        subnet["fingerprint"] = secrets.token_urlsafe(8)
        network["subnetworks"].append(subnet["selfLink"])

    def _prepare_firewalls(self, firewall: dict, scope: str) -> None:
        network = self._network(firewall.get("network") or "default", "resource.network")
        firewall["network"] = network["selfLink"]
        if not firewall.get("allowed") and not firewall.get("denied"):
            raise invalid(
                "Invalid value for field 'resource': a firewall needs allowed or denied rules.",
                ("resource.allowed", "allowed or denied must be set"),
            )
        for index, source in enumerate(firewall.get("sourceRanges") or []):
            _cidr(source, f"resource.sourceRanges[{index}]")
        firewall.setdefault("direction", "INGRESS")
        firewall.setdefault("priority", 1000)
        firewall.setdefault("disabled", False)
        firewall.setdefault("logConfig", {"enable": False})

    def _prepare_addresses(self, address: dict, scope: str) -> None:
        address.setdefault("addressType", "EXTERNAL")
        if address["addressType"] == "EXTERNAL":
            address.setdefault("networkTier", "PREMIUM")
        if address["addressType"] == "INTERNAL":
            subnet_ref = address.get("subnetwork") or ""
            subnet = self._get("subnetworks", scope, subnet_ref.rstrip("/").rsplit("/", 1)[-1])
            address["subnetwork"] = subnet["selfLink"]
            taken = {r.get("address") for (kind, _, _), r in self._resources.items() if kind == "addresses"}
            if not address.get("address"):
                hosts = ipaddress.IPv4Network(subnet["ipCidrRange"]).hosts()
                address["address"] = next(str(h) for i, h in enumerate(hosts) if i >= 2 and str(h) not in taken)
        elif not address.get("address"):
            address["address"] = f"34.{100 + self._next_external // 65536}.{self._next_external // 256 % 256}." + str(
                self._next_external % 256
            )
            self._next_external += 1
        address["status"] = "RESERVED"
