"""Microsoft.ContainerService as the sandbox serves it: managed clusters and their agent pools.

A managed cluster's PUT is a long-running operation (201 + Azure-AsyncOperation); after the
simulated creation time a background job asks the Kubernetes runtime for a real control plane and
one kwok node pool per agent pool, and only then the cluster is Succeeded. Updates (scaling,
labels, taints, version upgrades) and agent pool child resources go the same way.
"""

from __future__ import annotations

import base64
import copy
import logging
import re
from urllib.parse import urlsplit

import yaml

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
from mc_sandbox.core.config import scaled
from mc_sandbox.core.lifecycle import provisioning_failure_check
from mc_sandbox.core.runtime import KubeRuntime, NodePool, delete_control_planes

log = logging.getLogger(__name__)

NAMESPACE = "Microsoft.ContainerService"
CLUSTER_TYPE = "Microsoft.ContainerService/ManagedClusters"
POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"

# How long each operation really takes on AKS (seconds); scaled by the sandbox's time factor.
CLUSTER_CREATE_SECONDS = 300
CLUSTER_UPDATE_SECONDS = 60
CLUSTER_UPGRADE_SECONDS = 600
CLUSTER_DELETE_SECONDS = 180
POOL_CREATE_SECONDS = 120
POOL_UPDATE_SECONDS = 60
POOL_UPGRADE_SECONDS = 300
POOL_DELETE_SECONDS = 120

# The error code of a creation that a provisioning-failure fault fails (LRO error and status.provisioningError).
PROVISIONING_FAILURE_CODE = "QuotaExceeded"

SUPPORTED_MINORS = ("1.31", "1.32", "1.33", "1.34")
DEFAULT_VERSION = "1.33"
DEFAULT_VM_SIZE = "Standard_DS2_v2"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")

# Properties AKS computes; whatever a request says about them is ignored.
CLUSTER_READ_ONLY = {
    "provisioningState",
    "powerState",
    "currentKubernetesVersion",
    "fqdn",
    "azurePortalFQDN",
    "privateFQDN",
    "maxAgentPools",
    "resourceUID",
    "status",
}
POOL_READ_ONLY = {"provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag", "status"}


def parse_version(value: str, what: str = "kubernetesVersion") -> tuple[int, int]:
    match = _VERSION.match(value or "")
    if not match or f"{match.group(1)}.{match.group(2)}" not in SUPPORTED_MINORS:
        raise ArmError(
            400,
            "K8sVersionNotSupported",
            f"Managed cluster {what} {value!r} is not supported. Supported versions: {', '.join(SUPPORTED_MINORS)}.",
        )
    return int(match.group(1)), int(match.group(2))


def parse_taint(taint: str) -> dict[str, str]:
    match = re.fullmatch(r"([^=:\s]+)(?:=([^:\s]*))?:(\w+)", taint or "")
    if not match or match.group(3) not in TAINT_EFFECTS:
        raise invalid(f"Taint {taint!r} is invalid: expected key=value:{'|'.join(TAINT_EFFECTS)}.", "InvalidTaint")
    return {"key": match.group(1), "value": match.group(2) or "", "effect": match.group(3)}


class ProvisioningFailed(Exception):
    """Ends a managed cluster's operation Failed with `error` {code, message} (no stack trace logged)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class ClusterRecord:
    """A managed cluster: its resource as ARM shows it plus what the sandbox needs to run it."""

    def __init__(self, group: str, name: str, resource: JSON):
        self.group = group  # resource group name (original case)
        self.name = name
        self.resource = resource
        self.operation = None  # the Operation in progress
        self.handle = None  # runtime ClusterHandle once the control plane runs
        self.pool_states: dict[str, str] = {}

    @property
    def location(self) -> str:
        return self.resource["location"]

    @property
    def props(self) -> JSON:
        return self.resource["properties"]

    def pools(self) -> dict[str, JSON]:
        return {p["name"]: p for p in self.props.get("agentPoolProfiles", [])}


class Aks:
    """Managed clusters and agent pools of one subscription."""

    def __init__(self, state: ArmState, runtime: KubeRuntime, schedule, time_factor: float, faults=None):
        """`faults` (a FaultManager, by default the runtime's) decides which creations fail."""
        self.state = state
        self.runtime = runtime
        self._provisioning_failure = provisioning_failure_check(runtime, faults)
        self.schedule = schedule  # schedule(delay_seconds, job)
        self.factor = time_factor
        self.clusters: dict[tuple[str, str], ClusterRecord] = {}
        self.runtime_clusters: set[tuple[str, str]] = set()
        state.on_group_delete(self._group_deleted)

    # ---------------------------------------------------------------- lifecycle
    def reset(self) -> None:
        with self.state.lock:
            self.clusters.clear()
            started = sorted(self.runtime_clusters)
            self.runtime_clusters.clear()
        delete_control_planes(self.runtime, "azure", started)

    def status(self) -> list[dict]:
        with self.state.lock:
            return [
                {
                    "resource_group": c.group,
                    "name": c.name,
                    "location": c.location,
                    "provisioning_state": c.props["provisioningState"],
                    "kubernetes_version": c.props.get("kubernetesVersion"),
                    "fqdn": c.props.get("fqdn"),
                    "agent_pools": [
                        {
                            "name": p["name"],
                            "count": p.get("count"),
                            "vm_size": p.get("vmSize"),
                            "mode": p.get("mode"),
                            "orchestrator_version": p.get("orchestratorVersion"),
                            "provisioning_state": p.get("provisioningState"),
                        }
                        for p in c.props.get("agentPoolProfiles", [])
                    ],
                    "operation_in_progress": c.operation.id if c.operation else None,
                }
                for c in sorted(self.clusters.values(), key=lambda c: (c.group.lower(), c.name.lower()))
            ]

    def _group_deleted(self, group_key: str) -> list:
        """Jobs deleting the group's clusters (run by the resource group deletion)."""
        jobs = []
        for (group, name), record in list(self.clusters.items()):
            if group == group_key:
                record.props["provisioningState"] = "Deleting"
                location, runtime_name = record.location, record.name
                jobs.append(lambda key=(group, name), loc=location, n=runtime_name: self._drop(key, loc, n))
        return jobs

    def _drop(self, key, location: str, name: str) -> None:
        self.runtime.delete_cluster("azure", location, name)
        with self.state.lock:
            self.clusters.pop(key, None)
            self.runtime_clusters.discard((location, name))

    # ---------------------------------------------------------------- routing
    def handle(self, req: Request) -> Response:
        low = req.lower
        if low[0] != "managedclusters":
            raise _unknown_type(req)
        if req.group is None:
            if len(low) == 1 and req.method == "GET":
                return Response(200, {"value": [self._view(c) for c in self.clusters.values()]})
            raise _unknown_type(req)
        self.state.group(req.group)
        if len(low) == 1 and req.method == "GET":
            return Response(
                200, {"value": [self._view(c) for (g, _), c in self.clusters.items() if g == req.group.lower()]}
            )
        name = req.segments[1]
        if len(low) == 2:
            handlers = {
                "PUT": self._put_cluster,
                "GET": self._get_cluster,
                "DELETE": self._delete_cluster,
                "PATCH": self._patch_tags,
            }
            return handlers.get(req.method, _not_allowed)(req, name)
        if len(low) == 3 and low[2] in ("listclusterusercredential", "listclusteradmincredential"):
            if req.method != "POST":
                return _not_allowed(req, name)
            return self._credentials(req, name, admin=low[2] == "listclusteradmincredential")
        if low[2] == "agentpools":
            record = self._record(req, name)
            if len(low) == 3 and req.method == "GET":
                return Response(200, {"value": [self._pool_view(record, p) for p in record.pools().values()]})
            if len(low) == 4:
                pool = req.segments[3]
                handler = {"PUT": self._put_pool, "GET": self._get_pool, "DELETE": self._delete_pool}.get(req.method)
                return (handler or (lambda r, _rec, _p: _not_allowed(r, _p)))(req, record, pool)
        if low[2] == "upgradeprofiles" and len(low) == 4 and req.method == "GET":
            return Response(200, self._upgrade_profile(self._record(req, name)))
        raise _unknown_type(req)

    def _record(self, req: Request, name: str) -> ClusterRecord:
        record = self.clusters.get((req.group.lower(), name.lower()))
        if record is None:
            raise not_found(CLUSTER_TYPE, name, req.group)
        return record

    # ---------------------------------------------------------------- views
    def _view(self, record: ClusterRecord) -> JSON:
        resource = copy.deepcopy(public(record.resource))
        for pool in resource["properties"].get("agentPoolProfiles", []):
            pool["provisioningState"] = record.pool_states.get(pool["name"], pool.get("provisioningState"))
        return resource

    def _pool_view(self, record: ClusterRecord, pool: JSON) -> JSON:
        properties = {k: v for k, v in copy.deepcopy(pool).items() if k != "name"}
        properties["provisioningState"] = record.pool_states.get(pool["name"], pool.get("provisioningState"))
        return {
            "id": f"{record.resource['id']}/agentPools/{pool['name']}",
            "name": pool["name"],
            "type": POOL_TYPE,
            "properties": properties,
        }

    def _upgrade_profile(self, record: ClusterRecord) -> JSON:
        def upgrades(version: str) -> list[dict]:
            major, minor = parse_version(version)
            return [{"kubernetesVersion": f"{m}.0"} for m in SUPPORTED_MINORS if m == f"{major}.{minor + 1}"]

        version = record.props["kubernetesVersion"]
        return {
            "id": f"{record.resource['id']}/upgradeprofiles/default",
            "name": "default",
            "type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
            "properties": {
                "controlPlaneProfile": {
                    "kubernetesVersion": version,
                    "osType": "Linux",
                    "upgrades": upgrades(version),
                },
                "agentPoolProfiles": [
                    {
                        "name": p["name"],
                        "kubernetesVersion": p["orchestratorVersion"],
                        "osType": "Linux",
                        "upgrades": upgrades(p["orchestratorVersion"]),
                    }
                    for p in record.pools().values()
                ],
            },
        }

    # ---------------------------------------------------------------- managed clusters
    def _get_cluster(self, req: Request, name: str) -> Response:
        return Response(200, self._view(self._record(req, name)))

    def _busy(self, record: ClusterRecord) -> None:
        if record.operation is not None:
            state = record.props["provisioningState"].lower()
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation is not allowed because there's an in progress {state} managed cluster operation "
                f"'{record.operation.id}' on managed cluster '{record.name}'. Please try again later.",
            )

    def _put_cluster(self, req: Request, name: str) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        group = self.state.group(req.group)
        if not _CLUSTER_NAME.match(name):
            raise invalid(f"The managed cluster name {name!r} is invalid.", "InvalidResourceName")
        location = normalize_location(body.get("location"), "Microsoft.ContainerService/managedClusters")
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise invalid("The request is missing the 'properties' object.", "InvalidRequestContent")
        key = (group["name"].lower(), name.lower())
        record = self.clusters.get(key)
        if record is not None:
            self._busy(record)
            if record.props["provisioningState"] == "Deleting":
                raise ArmError(409, "OperationNotAllowed", f"Managed cluster '{name}' is being deleted.")
            if record.location != location:
                raise invalid(
                    f"The location of managed cluster '{name}' cannot change ('{record.location}').",
                    "LocationNotAvailableForResourceType",
                )
        else:
            for (_, other), existing in self.clusters.items():
                if other == name.lower() and existing.location == location:
                    raise ArmError(
                        409,
                        "OperationNotAllowed",
                        f"The sandbox runs one managed cluster named '{name}' per location; resource group "
                        f"'{existing.group}' has one in {location}.",
                    )
        desired = {k: copy.deepcopy(v) for k, v in properties.items() if k not in CLUSTER_READ_ONLY}
        old_props = record.props if record else {}
        version = desired.get("kubernetesVersion") or old_props.get("kubernetesVersion") or DEFAULT_VERSION
        new_minor = parse_version(version)
        if record is not None:
            old_minor = parse_version(old_props["kubernetesVersion"])
            if new_minor < old_minor:
                raise invalid(
                    f"Downgrading kubernetesVersion from {old_props['kubernetesVersion']} to {version} is not allowed.",
                    "NotAllowedDowngrade",
                )
            if new_minor[1] - old_minor[1] > 1:
                raise invalid(
                    f"Upgrading kubernetesVersion from {old_props['kubernetesVersion']} to {version} skips a minor "
                    "version; upgrade one minor version at a time.",
                    "UpgradeNotAllowed",
                )
        desired["kubernetesVersion"] = version
        # Secrets are write-only: AKS keeps them and never shows them again.
        for profile, secret in (("servicePrincipalProfile", "secret"), ("windowsProfile", "adminPassword")):
            if isinstance(desired.get(profile), dict):
                desired[profile].pop(secret, None)
        old_pools = record.pools() if record else {}
        requested = desired.get("agentPoolProfiles")
        if requested is None and record is None:
            raise invalid("At least one agent pool profile is required.", "InvalidAgentPoolProfiles")
        pools = dict(old_pools)
        for profile in requested or []:
            if not isinstance(profile, dict):
                raise invalid("agentPoolProfiles must be objects.", "InvalidAgentPoolProfiles")
            pool_name = profile.get("name", "")
            pools[pool_name] = self._pool_profile(profile, version, old_pools.get(pool_name), "System")
        if not any(p["mode"] == "System" for p in pools.values()):
            raise invalid("A managed cluster needs at least one agent pool in System mode.", "NoSystemAgentPool")
        desired["agentPoolProfiles"] = list(pools.values())
        desired.setdefault("dnsPrefix", old_props.get("dnsPrefix") or f"{name[:10]}-{group['name'][:16]}")
        desired.setdefault("enableRBAC", True)
        desired.setdefault(
            "nodeResourceGroup", old_props.get("nodeResourceGroup") or f"MC_{group['name']}_{name}_{location}"
        )
        network = desired.setdefault("networkProfile", {})
        network.setdefault("networkPlugin", "azure")
        network.setdefault("serviceCidr", "10.0.0.0/16")
        network.setdefault("dnsServiceIP", "10.0.0.10")
        network.setdefault("outboundType", "loadBalancer")
        network.setdefault("loadBalancerSku", "standard")
        desired["maxAgentPools"] = 100
        desired["powerState"] = {"code": "Running"}
        if record is not None:
            for computed in ("fqdn", "azurePortalFQDN"):
                if computed in old_props:
                    desired[computed] = old_props[computed]
        resource = {
            "id": f"{self.state.group_id(group['name'])}/providers/{NAMESPACE}/managedClusters/{name}",
            "location": location,
            "name": name,
            "type": CLUSTER_TYPE,
            "tags": body.get("tags") or {},
            "sku": body.get("sku") or {"name": "Base", "tier": "Free"},
            "properties": desired,
        }
        if body.get("identity"):
            resource["identity"] = self._identity(body["identity"])
        if record is None:
            desired["currentKubernetesVersion"] = self._patch(version)
            desired["provisioningState"] = "Creating"
            record = ClusterRecord(group["name"], name, resource)
            self.clusters[key] = record
            op = self.state.new_operation(NAMESPACE, location)
            record.operation = op
            record.pool_states = {p: "Creating" for p in pools}
            failure = self._provisioning_failure("azure", location, name)
            job = self._create_job(record, op) if failure is None else self._failed_create_job(record, failure)
            self._start(record, op, scaled(CLUSTER_CREATE_SECONDS, self.factor), job)
            status = 201
        else:
            upgrade = version != old_props["kubernetesVersion"]
            desired["currentKubernetesVersion"] = old_props.get("currentKubernetesVersion")
            desired["provisioningState"] = "Upgrading" if upgrade else "Updating"
            changed = {p for p in pools if p not in old_pools or pools[p] != old_pools[p]}
            record.resource = resource
            op = self.state.new_operation(NAMESPACE, location)
            record.operation = op
            for pool in changed:
                record.pool_states[pool] = "Creating" if pool not in old_pools else "Updating"
            seconds = CLUSTER_UPGRADE_SECONDS if upgrade else CLUSTER_UPDATE_SECONDS
            job = self._update_job(record, op, changed, version if upgrade else None)
            self._start(record, op, scaled(seconds, self.factor), job)
            status = 200
        return Response(status, self._view(record), self.state.async_headers(req, op))

    def _patch_tags(self, req: Request, name: str) -> Response:
        """PATCH (update tags): the only PATCH AKS has; a short operation of its own."""
        record = self._record(req, name)
        body = req.body if isinstance(req.body, dict) else {}
        if set(body) - {"tags"} or not isinstance(body.get("tags", {}), dict):
            raise invalid("Only tags can be updated with PATCH.", "InvalidRequestContent")
        self._busy(record)
        record.resource["tags"] = body.get("tags") or {}
        op = self.state.new_operation(NAMESPACE, record.location)
        self.state.finish(op)
        return Response(200, self._view(record), self.state.async_headers(req, op))

    def _identity(self, identity: JSON) -> JSON:
        identity = copy.deepcopy(identity)
        if identity.get("type") == "SystemAssigned":
            identity.setdefault("principalId", self.state.subscription)
            identity.setdefault("tenantId", self.state.subscription)
        for value in (identity.get("userAssignedIdentities") or {}).values():
            if isinstance(value, dict):
                value.setdefault("clientId", self.state.subscription)
                value.setdefault("principalId", self.state.subscription)
        return identity

    def _patch(self, version: str) -> str:
        """The full x.y.z a minor runs (the runtime's patch release when it runs that minor)."""
        if version.count(".") == 2:
            return version
        git = getattr(self.runtime, "git_version", "") or ""
        match = re.match(r"v?(\d+\.\d+)\.(\d+)", git)
        if match and match.group(1) == version:
            return f"{version}.{match.group(2)}"
        return f"{version}.0"

    def _pool_profile(self, profile: JSON, cluster_version: str, old: JSON | None, default_mode: str) -> JSON:
        name = profile.get("name", "")
        if not _POOL_NAME.match(name):
            raise invalid(
                f"Agent pool name {name!r} is invalid: lowercase letters and digits, starting with a letter, "
                "at most 12 characters.",
                "InvalidAgentPoolName",
            )
        pool = {k: copy.deepcopy(v) for k, v in profile.items() if k not in POOL_READ_ONLY}
        pool.setdefault("count", old.get("count", 3) if old else 3)
        count = pool["count"]
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
            raise invalid(f"Agent pool {name}: count must be an integer from 0 to 1000, got {count!r}.")
        pool.setdefault("vmSize", old.get("vmSize", DEFAULT_VM_SIZE) if old else DEFAULT_VM_SIZE)
        pool.setdefault("mode", old["mode"] if old else default_mode)
        if pool["mode"] not in ("System", "User", "Gateway"):
            raise invalid(f"Agent pool {name}: mode must be System or User, got {pool['mode']!r}.")
        if pool["mode"] == "System" and count < 1:
            raise invalid(f"System agent pool {name} must have at least one node.", "InvalidAgentPoolCount")
        pool.setdefault("type", "VirtualMachineScaleSets")
        pool.setdefault("osType", "Linux")
        pool.setdefault("maxPods", 250)
        for taint in pool.get("nodeTaints") or []:
            parse_taint(taint)
        labels = pool.get("nodeLabels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise invalid(f"Agent pool {name}: nodeLabels must map strings to strings.")
        default_version = old["orchestratorVersion"] if old else cluster_version
        version = pool.get("orchestratorVersion") or default_version
        pool_minor, cluster_minor = parse_version(version, "orchestratorVersion"), parse_version(cluster_version)
        if pool_minor > cluster_minor:
            raise invalid(
                f"Agent pool {name}: orchestratorVersion {version} is newer than the control plane "
                f"({cluster_version}).",
                "NodePoolMcVersionIncompatible",
            )
        if old and pool_minor < parse_version(old["orchestratorVersion"], "orchestratorVersion"):
            raise invalid(f"Agent pool {name}: downgrading orchestratorVersion is not allowed.", "NotAllowedDowngrade")
        pool["orchestratorVersion"] = version
        pool["currentOrchestratorVersion"] = self._patch(version)
        pool["nodeImageVersion"] = "AKSUbuntu-2204gen2containerd-202501.01.0"
        pool["powerState"] = pool.get("powerState") or {"code": "Running"}
        pool["provisioningState"] = "Succeeded"
        return pool

    def _node_pool(self, record: ClusterRecord, pool: JSON) -> NodePool:
        labels = dict(pool.get("nodeLabels") or {})
        labels.update(
            {
                "kubernetes.azure.com/agentpool": pool["name"],
                "agentpool": pool["name"],
                "kubernetes.azure.com/mode": pool["mode"].lower(),
                "kubernetes.azure.com/cluster": record.props["nodeResourceGroup"],
                "kubernetes.azure.com/role": "agent",
                "node.kubernetes.io/instance-type": pool["vmSize"],
                "topology.kubernetes.io/region": record.location,
            }
        )
        if pool.get("powerState", {}).get("code") == "Stopped":
            count = 0
        else:
            count = pool["count"]
        return NodePool(
            name=pool["name"],
            count=count,
            instance_type=pool["vmSize"],
            labels=labels,
            taints=[parse_taint(t) for t in pool.get("nodeTaints") or []],
            zones=[f"{record.location}-{z}" for z in pool.get("availabilityZones") or []],
        )

    def _start(self, record: ClusterRecord, op, delay: float, job) -> None:
        generation = self.state.generation

        def run():
            error = None
            try:
                job(generation)
            except ProvisioningFailed as exc:
                error = {"code": exc.code, "message": exc.message}
            except Exception as exc:
                log.exception("azure operation %s on %s failed", op.id, record.name)
                error = {"code": "InternalOperationError", "message": f"The operation failed: {exc}"}
            with self.state.lock:
                if self.state.generation != generation:
                    return
                if error:
                    record.props["provisioningState"] = "Failed"
                    record.pool_states = {p: "Failed" for p in record.pools()}
                elif record.props["provisioningState"] != "Deleting":
                    record.props["provisioningState"] = "Succeeded"
                record.operation = None
                self.state.finish(op, error)

        self.schedule(delay, run)

    def _create_job(self, record: ClusterRecord, op):
        def job(generation):
            handle = self.runtime.create_cluster("azure", record.location, record.name)
            with self.state.lock:
                stale = self.state.generation != generation
                if not stale:
                    self.runtime_clusters.add((record.location, record.name))
            if stale:  # reset while the control plane started: nobody owns it any more
                self.runtime.delete_cluster("azure", record.location, record.name)
                return
            with self.state.lock:
                record.handle = handle
                pools = list(record.pools().values())
            for pool in pools:
                self.runtime.set_node_pool("azure", record.location, record.name, self._node_pool(record, pool))
            with self.state.lock:
                fqdn = urlsplit(handle.endpoint).netloc
                record.props["fqdn"] = fqdn
                record.props["azurePortalFQDN"] = fqdn
                record.props["currentKubernetesVersion"] = self._patch(record.props["kubernetesVersion"])
                record.pool_states = {}

        return job

    def _failed_create_job(self, record: ClusterRecord, message: str):
        """A creation a provisioning-failure fault hit: Failed with AKS's error, no control plane."""

        def job(generation):
            error = {"code": PROVISIONING_FAILURE_CODE, "message": message}
            with self.state.lock:
                if self.state.generation == generation:
                    record.props["status"] = {"provisioningError": dict(error)}
            raise ProvisioningFailed(error["code"], message)

        return job

    def _update_job(self, record: ClusterRecord, op, changed: set[str], upgrade_to: str | None):
        def job(generation):
            with self.state.lock:
                pools = [p for name, p in record.pools().items() if name in changed]
            if record.handle is None:  # reconciling a cluster whose creation failed
                handle = self.runtime.create_cluster("azure", record.location, record.name)
                with self.state.lock:
                    self.runtime_clusters.add((record.location, record.name))
                    record.handle = handle
                    record.props["fqdn"] = record.props["azurePortalFQDN"] = urlsplit(handle.endpoint).netloc
                    pools = list(record.pools().values())
            for pool in pools:
                self.runtime.set_node_pool("azure", record.location, record.name, self._node_pool(record, pool))
            with self.state.lock:
                if upgrade_to:
                    record.props["currentKubernetesVersion"] = self._patch(upgrade_to)
                for name in changed:
                    record.pool_states.pop(name, None)

        return job

    def _delete_cluster(self, req: Request, name: str) -> Response:
        self.state.group(req.group)
        key = (req.group.lower(), name.lower())
        record = self.clusters.get(key)
        if record is None:
            return Response(204)
        if record.props["provisioningState"] == "Deleting" and record.operation is not None:
            return Response(202, None, self.state.async_headers(req, record.operation, location=True))
        self._busy(record)
        record.props["provisioningState"] = "Deleting"
        op = self.state.new_operation(NAMESPACE, record.location)
        record.operation = op

        def job(generation):
            self.runtime.delete_cluster("azure", record.location, record.name)
            with self.state.lock:
                self.runtime_clusters.discard((record.location, record.name))
                if self.state.generation == generation:
                    self.clusters.pop(key, None)

        self._start(record, op, scaled(CLUSTER_DELETE_SECONDS, self.factor), job)
        headers = self.state.async_headers(req, op, location=True)
        return Response(202, None, headers)

    def _credentials(self, req: Request, name: str, *, admin: bool) -> Response:
        record = self._record(req, name)
        if record.handle is None:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Managed cluster '{name}' has no running control plane yet "
                f"(provisioningState {record.props['provisioningState']}).",
            )
        role = "clusterAdmin" if admin else "clusterUser"
        user = f"{role}_{record.group}_{record.name}"
        cert, key = self.runtime.issue_client_certificate(
            "azure", record.location, record.name, user, ("system:masters",)
        )
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": record.name,
                    "cluster": {
                        "certificate-authority-data": _b64(record.handle.ca_pem),
                        "server": record.handle.endpoint,
                    },
                }
            ],
            "contexts": [{"name": record.name, "context": {"cluster": record.name, "user": user}}],
            "current-context": record.name,
            "preferences": {},
            "users": [{"name": user, "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}}],
        }
        value = _b64(yaml.safe_dump(kubeconfig, sort_keys=False))
        return Response(200, {"kubeconfigs": [{"name": role, "value": value}]})

    # ---------------------------------------------------------------- agent pools
    def _get_pool(self, req: Request, record: ClusterRecord, pool: str) -> Response:
        found = record.pools().get(pool)
        if found is None:
            raise not_found(POOL_TYPE, f"{record.name}/{pool}", req.group)
        return Response(200, self._pool_view(record, found))

    def _put_pool(self, req: Request, record: ClusterRecord, name: str) -> Response:
        body = req.body if isinstance(req.body, dict) else {}
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise invalid("The request is missing the 'properties' object.", "InvalidRequestContent")
        self._busy(record)
        if record.props["provisioningState"] in ("Deleting", "Failed") or record.handle is None:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Managed cluster '{record.name}' is in provisioningState {record.props['provisioningState']}.",
            )
        pools = record.pools()
        old = pools.get(name)
        profile = {**properties, "name": name}
        cluster_version = record.props["kubernetesVersion"]
        if old is not None:
            # A PUT replaces the pool: what the request leaves out falls back to AKS's defaults,
            # except what cannot change after creation.
            for fixed in ("vmSize", "osType", "type", "availabilityZones"):
                if fixed in profile and profile[fixed] != old.get(fixed):
                    raise invalid(f"Agent pool {name}: {fixed} cannot be changed.", "PropertyChangeNotAllowed")
                profile.setdefault(fixed, old.get(fixed))
            profile.setdefault("mode", old["mode"])
            profile.setdefault("orchestratorVersion", old["orchestratorVersion"])
        pool = self._pool_profile(profile, cluster_version, old, "User")
        if old is not None and old["mode"] == "System" and pool["mode"] != "System":
            others = [p for n, p in pools.items() if n != name and p["mode"] == "System"]
            if not others:
                raise invalid("The last System agent pool cannot become a User pool.", "NoSystemAgentPool")
        new_list = [pool if p["name"] == name else p for p in record.props["agentPoolProfiles"]]
        if old is None:
            new_list.append(pool)
        record.props["agentPoolProfiles"] = new_list
        op = self.state.new_operation(NAMESPACE, record.location)
        record.operation = op
        if old is None:
            record.pool_states[name] = "Creating"
            seconds = POOL_CREATE_SECONDS
        elif pool["orchestratorVersion"] != old["orchestratorVersion"]:
            record.pool_states[name] = "Upgrading"
            seconds = POOL_UPGRADE_SECONDS
        else:
            record.pool_states[name] = "Scaling" if pool["count"] != old["count"] else "Updating"
            seconds = POOL_UPDATE_SECONDS
        record.props["provisioningState"] = "Updating"
        self._start(record, op, scaled(seconds, self.factor), self._update_job(record, op, {name}, None))
        return Response(201 if old is None else 200, self._pool_view(record, pool), self.state.async_headers(req, op))

    def _delete_pool(self, req: Request, record: ClusterRecord, name: str) -> Response:
        pools = record.pools()
        if name not in pools:
            return Response(204)
        self._busy(record)
        if pools[name]["mode"] == "System" and not any(p["mode"] == "System" for n, p in pools.items() if n != name):
            raise invalid(
                f"Agent pool {name} is the last System agent pool; a managed cluster needs one.",
                "OperationNotAllowed",
            )
        op = self.state.new_operation(NAMESPACE, record.location)
        record.operation = op
        record.pool_states[name] = "Deleting"
        record.props["provisioningState"] = "Updating"

        def job(generation):
            self.runtime.delete_node_pool("azure", record.location, record.name, name)
            with self.state.lock:
                if self.state.generation == generation:
                    record.props["agentPoolProfiles"] = [
                        p for p in record.props["agentPoolProfiles"] if p["name"] != name
                    ]
                    record.pool_states.pop(name, None)

        self._start(record, op, scaled(POOL_DELETE_SECONDS, self.factor), job)
        return Response(202, None, self.state.async_headers(req, op, location=True))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _not_allowed(req: Request, _name=None) -> Response:
    raise ArmError(405, "MethodNotAllowed", f"The requested method {req.method} is not allowed for {req.path}.")


def _unknown_type(req: Request) -> ArmError:
    kind = "/".join(req.segments[0::2])
    namespace = req.path.split("/providers/")[1].split("/")[0]
    return ArmError(
        404 if req.segments else 400,
        "InvalidResourceType",
        f"The resource type '{kind}' could not be found in the namespace '{namespace}' for api version "
        f"'{req.api_version}'.",
    )
