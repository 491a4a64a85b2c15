"""Microsoft.Network as the sandbox serves it: virtual networks, subnets and public IP addresses.

No control plane stands behind these: they are records with NRP's validation (address spaces,
subnets inside them and not overlapping, GatewaySubnet included) and NRP's long-running operation
shape (PUT 201/200 + Azure-AsyncOperation, DELETE 202 + Location), finished at once.
"""

from __future__ import annotations

import copy
import ipaddress
import itertools
import uuid

from mc_sandbox.clouds.azure.arm import (
    JSON,
    ArmError,
    ArmState,
    Request,
    Response,
    invalid,
    normalize_location,
    not_found,
    public,
)

NAMESPACE = "Microsoft.Network"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
PIP_TYPE = "Microsoft.Network/publicIPAddresses"
_VNET_READ_ONLY = {"provisioningState", "resourceGuid"}
_SUBNET_READ_ONLY = {"provisioningState", "ipConfigurations", "purpose"}
_PIP_READ_ONLY = {"provisioningState", "resourceGuid", "ipAddress", "ipConfiguration"}


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def _network(prefix, what: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(prefix, strict=True)
    except (TypeError, ValueError):
        raise invalid(f"{what} {prefix!r} is not a valid CIDR prefix.", "InvalidAddressPrefixFormat") from None


class Network:
    """Virtual networks (with their subnets inline) and public IP addresses of one subscription."""

    def __init__(self, state: ArmState, allocate=None):
        """``allocate(owner)``: the VPN fabric's public addresses (else TEST-NET-2 ones)."""
        self.state = state
        self._allocate = allocate
        self.resources: dict[tuple[str, str, str], JSON] = {}  # (group, type, name) lower -> resource
        self._ips = itertools.count(4)
        state.on_group_delete(self._group_deleted)

    def reset(self) -> None:
        with self.state.lock:
            self.resources.clear()

    def status(self) -> list[dict]:
        with self.state.lock:
            return [
                {"resource_group": g, "type": r["type"], "name": r["name"], "location": r["location"]}
                for (g, _, _), r in sorted(self.resources.items())
            ]

    def _group_deleted(self, group_key: str) -> list:
        for key in [k for k in self.resources if k[0] == group_key]:
            del self.resources[key]
        return []

    # ---------------------------------------------------------------- routing
    def handle(self, req: Request) -> Response:
        low = req.lower
        kind = {"virtualnetworks": VNET_TYPE, "publicipaddresses": PIP_TYPE}.get(low[0])
        if kind is None or len(low) > 4 or (len(low) > 2 and (kind != VNET_TYPE or low[2] != "subnets")):
            raise ArmError(
                404,
                "InvalidResourceType",
                f"The resource type '{req.segments[0]}' could not be found in the namespace '{NAMESPACE}' for api "
                f"version '{req.api_version}'.",
            )
        if req.group is None:
            if len(low) == 1 and req.method == "GET":
                return Response(200, {"value": [public(r) for (_, t, _), r in self.resources.items() if t == kind]})
            raise _method(req)
        group = self.state.group(req.group)
        key_group = group["name"].lower()
        if len(low) == 1:
            if req.method != "GET":
                raise _method(req)
            values = [public(r) for (g, t, _), r in self.resources.items() if g == key_group and t == kind]
            return Response(200, {"value": values})
        name = req.segments[1]
        key = (key_group, kind, name.lower())
        if len(low) == 2:
            if req.method == "GET":
                found = self.resources.get(key)
                if found is None:
                    raise not_found(kind, name, req.group)
                return Response(200, public(found))
            if req.method == "PUT":
                build = self._vnet if kind == VNET_TYPE else self._public_ip
                existing = self.resources.get(key)
                resource = build(req, group, name, existing)
                self.resources[key] = resource
                return self._done(req, resource, 200 if existing else 201)
            if req.method == "DELETE":
                return self._delete(req, key)
            if req.method == "PATCH":  # update tags
                found = self.resources.get(key)
                if found is None:
                    raise not_found(kind, name, req.group)
                body = req.body if isinstance(req.body, dict) else {}
                found["tags"] = body.get("tags") or {}
                found["etag"] = _etag()
                return Response(200, public(found))
            raise _method(req)
        vnet = self.resources.get(key)
        if vnet is None:
            raise not_found(kind, name, req.group)
        subnets = vnet["properties"]["subnets"]
        if len(low) == 3:
            if req.method != "GET":
                raise _method(req)
            return Response(200, {"value": copy.deepcopy(subnets)})
        subnet_name = req.segments[3]
        found = next((s for s in subnets if s["name"].lower() == subnet_name.lower()), None)
        if req.method == "GET":
            if found is None:
                raise not_found(SUBNET_TYPE, f"{name}/{subnet_name}", req.group)
            return Response(200, copy.deepcopy(found))
        if req.method == "PUT":
            subnet = self._subnet(vnet, req.body if isinstance(req.body, dict) else {}, subnet_name)
            others = [s for s in subnets if s is not found]
            self._check_subnets(vnet, [*others, subnet])
            vnet["properties"]["subnets"] = [subnet if s is found else s for s in subnets]
            if found is None:
                vnet["properties"]["subnets"].append(subnet)
            vnet["etag"] = _etag()
            return self._done(req, subnet, 200 if found else 201)
        if req.method == "DELETE":
            if found is None:
                return Response(204)
            self._check_unused([found])
            vnet["properties"]["subnets"] = [s for s in subnets if s is not found]
            op = self.state.new_operation(NAMESPACE, vnet["location"], result_status=200)
            self.state.finish(op)
            headers = self.state.async_headers(req, op)
            headers.update(self.state.async_headers(req, op, location=True))
            return Response(202, None, headers)
        raise _method(req)

    def _check_unused(self, subnets: list[JSON]) -> None:
        """ARM refuses to delete a subnet (or its VNet) while an ipConfiguration (a VPN gateway's) uses it."""
        for subnet in subnets:
            users = [
                config["id"]
                for resource in self.resources.values()
                for config in (resource.get("properties") or {}).get("ipConfigurations") or []
                if ((config.get("properties") or {}).get("subnet") or {}).get("id", "").lower() == subnet["id"].lower()
            ]
            if users:
                raise invalid(
                    f"Subnet {subnet['name']} is in use by {', '.join(users)} and cannot be deleted. In order to "
                    "delete the subnet, delete all the resources within the subnet.",
                    "InUseSubnetCannotBeDeleted",
                )

    def _done(self, req: Request, resource: JSON, status: int) -> Response:
        op = self.state.new_operation(NAMESPACE, self._location(req, resource))
        self.state.finish(op)
        return Response(status, public(resource), self.state.async_headers(req, op))

    def _location(self, req: Request, resource: JSON) -> str:
        if "location" in resource:
            return resource["location"]
        return self.resources[(req.group.lower(), VNET_TYPE, req.segments[1].lower())]["location"]

    def _delete(self, req: Request, key) -> Response:
        found = self.resources.get(key)
        if found is None:
            return Response(204)
        user = (found["properties"].get("ipConfiguration") or {}).get("id") if found["type"] == PIP_TYPE else None
        if user:
            raise invalid(
                f"Public IP address {found['id']} can not be deleted since it is still allocated to resource {user}. "
                "In order to delete the public IP, disassociate/detach the Public IP address from the resource.",
                "PublicIPAddressCannotBeDeleted",
            )
        if found["type"] == VNET_TYPE:
            self._check_unused(found["properties"]["subnets"])
        del self.resources[key]
        op = self.state.new_operation(NAMESPACE, found["location"], result_status=200)
        self.state.finish(op)
        headers = self.state.async_headers(req, op)
        headers.update(self.state.async_headers(req, op, location=True))
        return Response(202, None, headers)

    # ---------------------------------------------------------------- resources
    def _base(self, req: Request, group: JSON, kind: str, name: str, existing: JSON | None) -> tuple[JSON, JSON]:
        body = req.body if isinstance(req.body, dict) else {}
        location = normalize_location(body.get("location"), kind)
        if existing is not None and existing["location"] != location:
            raise invalid(f"Resource {name} cannot move from {existing['location']} to {location}.", "LocationMismatch")
        resource = {
            "id": f"{self.state.group_id(group['name'])}/providers/{kind}/{name}",
            "name": name,
            "type": kind,
            "location": location,
            "etag": _etag(),
            "tags": body.get("tags") or {},
        }
        properties = body.get("properties") if isinstance(body.get("properties"), dict) else {}
        return resource, properties

    def _vnet(self, req: Request, group: JSON, name: str, existing: JSON | None) -> JSON:
        resource, properties = self._base(req, group, VNET_TYPE, name, existing)
        props = {k: copy.deepcopy(v) for k, v in properties.items() if k not in _VNET_READ_ONLY}
        prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
        if not prefixes:
            raise invalid(
                f"Virtual network {name} must have at least one address prefix in addressSpace.",
                "InvalidAddressSpace",
            )
        for prefix in prefixes:
            _network(prefix, "Address prefix")
        props["provisioningState"] = "Succeeded"
        props["resourceGuid"] = existing["properties"]["resourceGuid"] if existing else str(uuid.uuid4())
        props.setdefault("enableDdosProtection", False)
        props.setdefault("virtualNetworkPeerings", [])
        resource["properties"] = props
        subnets = [self._subnet(resource, s if isinstance(s, dict) else {}, None) for s in props.get("subnets") or []]
        props["subnets"] = subnets
        self._check_subnets(resource, subnets)
        return resource

    def _subnet(self, vnet: JSON, body: JSON, name: str | None) -> JSON:
        name = name or body.get("name")
        if not name:
            raise invalid("Every subnet needs a name.", "InvalidRequestFormat")
        properties = body.get("properties") if isinstance(body.get("properties"), dict) else {}
        props = {k: copy.deepcopy(v) for k, v in properties.items() if k not in _SUBNET_READ_ONLY}
        if not props.get("addressPrefix") and not props.get("addressPrefixes"):
            raise invalid(f"Subnet {name} must have an addressPrefix.", "InvalidRequestFormat")
        props["provisioningState"] = "Succeeded"
        props.setdefault("privateEndpointNetworkPolicies", "Disabled")
        props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
        return {
            "id": f"{vnet['id']}/subnets/{name}",
            "name": name,
            "type": SUBNET_TYPE,
            "etag": _etag(),
            "properties": props,
        }

    def _check_subnets(self, vnet: JSON, subnets: list[JSON]) -> None:
        spaces = [_network(p, "Address prefix") for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
        seen: list[tuple[str, object]] = []
        names = set()
        for subnet in subnets:
            if subnet["name"].lower() in names:
                raise invalid(f"Subnet {subnet['name']} appears twice.", "DuplicateResourceName")
            names.add(subnet["name"].lower())
            props = subnet["properties"]
            for prefix in props.get("addressPrefixes") or [props["addressPrefix"]]:
                net = _network(prefix, f"Subnet {subnet['name']} address prefix")
                if not any(net.version == s.version and net.subnet_of(s) for s in spaces):
                    raise invalid(
                        f"Subnet '{subnet['name']}' is not valid because its IP address range {prefix} is outside "
                        f"the IP address range of virtual network '{vnet['name']}'.",
                        "NetcfgSubnetRangeOutsideVnet",
                    )
                if subnet["name"] == "GatewaySubnet" and net.prefixlen > 29:
                    raise invalid("GatewaySubnet must be /29 or larger.", "GatewaySubnetTooSmall")
                for other, other_net in seen:
                    if other != subnet["name"] and net.overlaps(other_net):
                        raise invalid(
                            f"Subnet '{subnet['name']}' ({prefix}) overlaps subnet '{other}' ({other_net}) in "
                            f"virtual network '{vnet['name']}'.",
                            "NetcfgSubnetRangesOverlap",
                        )
                seen.append((subnet["name"], net))

    def _public_ip(self, req: Request, group: JSON, name: str, existing: JSON | None) -> JSON:
        resource, properties = self._base(req, group, PIP_TYPE, name, existing)
        body = req.body if isinstance(req.body, dict) else {}
        sku = body.get("sku") or {"name": "Standard", "tier": "Regional"}
        resource["sku"] = sku
        if body.get("zones"):
            resource["zones"] = body["zones"]
        props = {k: copy.deepcopy(v) for k, v in properties.items() if k not in _PIP_READ_ONLY}
        default_method = "Static" if sku.get("name") == "Standard" else "Dynamic"
        props.setdefault("publicIPAllocationMethod", default_method)
        props.setdefault("publicIPAddressVersion", "IPv4")
        props.setdefault("idleTimeoutInMinutes", 4)
        if sku.get("name") == "Standard" and props["publicIPAllocationMethod"] != "Static":
            raise invalid(
                "Standard sku publicIp /subscriptions/.../" + name + " must have AllocationMethod set to Static.",
                "StandardSkuPublicIPAddressesMustBeStatic",
            )
        props["provisioningState"] = "Succeeded"
        props["resourceGuid"] = existing["properties"]["resourceGuid"] if existing else str(uuid.uuid4())
        if props["publicIPAllocationMethod"] == "Static":
            old_ip = existing["properties"].get("ipAddress") if existing else None
            props["ipAddress"] = old_ip or self._next_ip(resource["id"])
        resource["properties"] = props
        return resource

    def _next_ip(self, owner: str) -> str:
        """The fabric's address for ``owner`` when VPN tunnels can reach it, else one from 198.51.100.0/24
        (TEST-NET-2): clearly not anyone's real address."""
        if self._allocate is not None:
            return self._allocate(f"azure/{owner.lower()}")
        return f"198.51.100.{next(self._ips) % 250 + 4}"


def _method(req: Request) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested method {req.method} is not allowed for {req.path}.")
