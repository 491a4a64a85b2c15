"""Azure Resource Manager's common ground: errors, requests, long-running operations, resource groups.

Resource providers (aks, network) keep their resources in `ArmState` under one lock;
what takes time runs as an `Operation` on the scheduler and is polled through ARM's operation
status (`Azure-AsyncOperation`) and operation result (`Location`) URLs.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

JSON = dict


class ArmError(Exception):
    """An ARM error answer: `{"error": {"code", "message"}}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


def not_found(kind: str, name: str, group: str) -> ArmError:
    return ArmError(
        404, "ResourceNotFound", f"The Resource '{kind}/{name}' under resource group '{group}' was not found."
    )


def invalid(message: str, code: str = "InvalidParameter") -> ArmError:
    return ArmError(400, code, message)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# The Azure locations the sandbox serves (name, display name, geography group): a subset of the
# public cloud's. Subscriptions_ListLocations answers from it and a write elsewhere is refused.
LOCATIONS = (
    ("australiaeast", "Australia East", "Asia Pacific"),
    ("canadacentral", "Canada Central", "Canada"),
    ("centralus", "Central US", "US"),
    ("eastasia", "East Asia", "Asia Pacific"),
    ("eastus", "East US", "US"),
    ("eastus2", "East US 2", "US"),
    ("francecentral", "France Central", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe"),
    ("japaneast", "Japan East", "Asia Pacific"),
    ("northeurope", "North Europe", "Europe"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"),
    ("swedencentral", "Sweden Central", "Europe"),
    ("uksouth", "UK South", "Europe"),
    ("westeurope", "West Europe", "Europe"),
    ("westus2", "West US 2", "US"),
    ("westus3", "West US 3", "US"),
)
LOCATION_NAMES = tuple(name for name, _, _ in LOCATIONS)


def list_locations(subscription: str) -> list[dict]:
    """The `value` of Subscriptions_ListLocations."""
    return [
        {
            "id": f"/subscriptions/{subscription}/locations/{name}",
            "name": name,
            "displayName": display,
            "regionalDisplayName": f"({group}) {display}",
            "type": "Region",
            "metadata": {"regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": group},
        }
        for name, display, group in LOCATIONS
    ]


def normalize_location(location, resource_type: str | None = None) -> str:
    """The location as ARM stores it; one the sandbox does not serve is refused like ARM refuses it
    (400 LocationNotAvailableForResourceGroup / ...ForResourceType, listing the available ones)."""
    if not isinstance(location, str) or not location.strip():
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    name = location.lower().replace(" ", "")
    if name not in LOCATION_NAMES:
        available = ",".join(LOCATION_NAMES)
        if resource_type is None:
            raise ArmError(
                400,
                "LocationNotAvailableForResourceGroup",
                f"The provided location '{location}' is not available for resource group. List of available "
                f"regions is '{available}'.",
            )
        raise ArmError(
            400,
            "LocationNotAvailableForResourceType",
            f"The provided location '{location}' is not available for resource type '{resource_type}'. List of "
            f"available regions for the resource type is '{available}'.",
        )
    return name


@dataclass
class Request:
    """One authenticated ARM call, as the providers see it."""

    method: str
    path: str
    api_version: str
    body: JSON | None
    subscription: str
    group: str | None  # resource group name as the caller spelled it
    segments: list[str]  # what follows providers/<namespace>/ (original case)
    base_url: str
    namespace: str = ""

    @property
    def lower(self) -> list[str]:
        return [s.lower() for s in self.segments]


@dataclass
class Response:
    status: int
    body: JSON | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Operation:
    """An ARM long-running operation as its status resource reports it."""

    id: str
    namespace: str  # Microsoft.ContainerService
    location: str
    status: str = "InProgress"
    start: str = field(default_factory=now_iso)
    end: str | None = None
    error: dict | None = None
    result_status: int = 204  # what the Location URL answers once done

    def status_body(self, subscription: str) -> JSON:
        body = {
            "id": f"/subscriptions/{subscription}/providers/{self.namespace}/locations/{self.location}/operations/"
            f"{self.id}",
            "name": self.id,
            "status": self.status,
            "startTime": self.start,
        }
        if self.end:
            body["endTime"] = self.end
        if self.error:
            body["error"] = self.error
        return body


class ArmState:
    """Every resource of the subscription, under one lock, and the operations on them."""

    def __init__(self, subscription: str, retry_after: float = 1):
        self.subscription = subscription
        self.retry_after = retry_after
        self.lock = threading.RLock()
        self.groups: dict[str, JSON] = {}  # lower-case name -> resource group
        self.operations: dict[str, Operation] = {}
        self.generation = 0
        self._deleters = []  # callables(group_key) -> list of jobs to run when a group goes

    def retry_header(self) -> str:
        # Whole seconds: some SDK operations deserialize Retry-After as an int. 0 makes azure-core
        # fall back to the client's polling_interval (30 s unless the client sets one).
        return str(math.ceil(self.retry_after))

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.groups.clear()
            self.operations.clear()

    # ---------------------------------------------------------------- operations
    def new_operation(self, namespace: str, location: str, result_status: int = 204) -> Operation:
        op = Operation(str(uuid.uuid4()), namespace, location, result_status=result_status)
        self.operations[op.id] = op
        return op

    def finish(self, op: Operation, error: dict | None = None) -> None:
        op.status = "Failed" if error else "Succeeded"
        op.error = error
        op.end = now_iso()

    def async_headers(self, req: Request, op: Operation, *, location: bool = False) -> dict:
        base = f"{req.base_url}/subscriptions/{self.subscription}/providers/{op.namespace}/locations/{op.location}"
        query = f"?api-version={req.api_version}"
        headers = {"Retry-After": self.retry_header()}
        if location:
            headers["Location"] = f"{base}/operationresults/{op.id}{query}"
        else:
            headers["Azure-AsyncOperation"] = f"{base}/operations/{op.id}{query}"
        return headers

    def operation_status(self, req: Request) -> Response:
        """GET .../providers/<ns>/locations/<loc>/operations|operationresults/<id>."""
        low = req.lower
        op = self.operations.get(req.segments[3]) if len(low) == 4 else None
        if op is None or op.namespace.lower() != req.path.split("/providers/")[1].split("/")[0].lower():
            raise ArmError(404, "OperationNotFound", "The operation could not be found.")
        if low[2] == "operations":
            headers = {"Retry-After": self.retry_header()} if op.status == "InProgress" else {}
            return Response(200, op.status_body(self.subscription), headers)
        if op.status == "InProgress":
            headers = {"Retry-After": self.retry_header(), "Location": f"{req.base_url}{req.path}?api-version="}
            headers["Location"] += req.api_version
            return Response(202, None, headers)
        if op.status == "Failed":
            error = op.error or {"code": "InternalServerError", "message": "The operation failed."}
            raise ArmError(400 if error.get("code") != "InternalServerError" else 500, error["code"], error["message"])
        return Response(op.result_status, None)

    # ---------------------------------------------------------------- resource groups
    def group(self, name: str | None) -> JSON:
        found = self.groups.get((name or "").lower())
        if found is None or found["properties"]["provisioningState"] == "Deleting":
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
        return found

    def on_group_delete(self, deleter) -> None:
        """`deleter(group_key)` removes a provider's resources of a deleted group (returns jobs)."""
        self._deleters.append(deleter)

    def group_id(self, name: str) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{name}"

    def handle_groups(self, req: Request, schedule) -> Response:
        if req.group is None:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", f"The requested method {req.method} is not allowed.")
            return Response(200, {"value": [public(g) for g in self.groups.values()]})
        key = req.group.lower()
        existing = self.groups.get(key)
        if req.method == "HEAD":
            return Response(204 if existing else 404, None)
        if req.method == "GET":
            return Response(200, public(self.group(req.group)))
        if req.method == "PUT":
            body = req.body or {}
            location = normalize_location(body.get("location"))
            if existing is not None:
                if existing["properties"]["provisioningState"] == "Deleting":
                    raise ArmError(
                        409,
                        "ResourceGroupBeingDeleted",
                        f"The resource group '{existing['name']}' is in deprovisioning state and cannot perform "
                        "this operation.",
                    )
                if existing["location"] != location:
                    raise ArmError(
                        409,
                        "InvalidResourceGroupLocation",
                        f"Invalid resource group location '{location}'. The Resource group already exists in "
                        f"location '{existing['location']}'.",
                    )
                existing["tags"] = body.get("tags") or {}
                if "managedBy" in body:
                    existing["managedBy"] = body["managedBy"]
                return Response(200, public(existing))
            group = {
                "id": self.group_id(req.group),
                "name": req.group,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": body.get("tags") or {},
                "properties": {"provisioningState": "Succeeded"},
            }
            if body.get("managedBy"):
                group["managedBy"] = body["managedBy"]
            self.groups[key] = group
            return Response(201, group)
        if req.method == "DELETE":
            if existing is None:
                self.group(req.group)  # raises ResourceGroupNotFound
            if existing["properties"]["provisioningState"] == "Deleting":
                op = existing["_operation"]
            else:
                existing["properties"]["provisioningState"] = "Deleting"
                op = self.new_operation("Microsoft.Resources", existing["location"], result_status=200)
                existing["_operation"] = op
                jobs = [job for deleter in self._deleters for job in deleter(key)]
                generation = self.generation

                def finish():
                    for job in jobs:
                        job()
                    with self.lock:
                        if self.generation == generation:
                            self.groups.pop(key, None)
                            self.finish(op)

                schedule(finish)
            headers = {
                "Retry-After": self.retry_header(),
                "Location": f"{req.base_url}/subscriptions/{self.subscription}/operationresults/{op.id}"
                f"?api-version={req.api_version}",
            }
            return Response(202, None, headers)
        raise ArmError(405, "MethodNotAllowed", f"The requested method {req.method} is not allowed.")

    def subscription_operation_result(self, req: Request, op_id: str) -> Response:
        """GET /subscriptions/<id>/operationresults/<op> (resource group deletion)."""
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", "The operation could not be found.")
        if op.status == "InProgress":
            return Response(
                202,
                None,
                {
                    "Retry-After": self.retry_header(),
                    "Location": f"{req.base_url}{req.path}?api-version={req.api_version}",
                },
            )
        return Response(200, None)


def public(resource: JSON) -> JSON:
    """A stored resource without the sandbox's bookkeeping (keys starting with `_`)."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}


def ceil_seconds(value: float) -> int:
    return max(1, math.ceil(value))
