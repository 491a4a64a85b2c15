"""GKE API v1 as the sandbox serves it: clusters, node pools and operations with GKE's lifecycles.

Requests change state at once (a cluster is PROVISIONING, an operation RUNNING) and a scheduler
finishes them on simulated time; the job that makes a cluster RUNNING asks the Kubernetes runtime
for a real control plane, on a worker thread, never on a request thread. One operation at a time
runs per cluster, as GKE mostly enforces.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mc_sandbox.clouds.gcp.exceptions import ApiError, already_exists, failed_precondition, invalid, not_found
from mc_sandbox.clouds.gcp.locations import is_region, is_zone
from mc_sandbox.core.config import scaled
from mc_sandbox.core.lifecycle import ClusterEmulator
from mc_sandbox.core.runtime import KubeRuntime, NodePool

log = logging.getLogger(__name__)

# How long GKE really takes (seconds); the sandbox scales them by the time factor.
CLUSTER_CREATE_SECONDS = 300
CLUSTER_DELETE_SECONDS = 180
MASTER_UPGRADE_SECONDS = 300
CLUSTER_UPDATE_SECONDS = 60
NODE_POOL_CREATE_SECONDS = 120
NODE_POOL_DELETE_SECONDS = 90
NODE_POOL_RESIZE_SECONDS = 60
NODE_POOL_UPGRADE_SECONDS = 180
NODE_POOL_UPDATE_SECONDS = 30
SET_LABELS_SECONDS = 5

# The versions the sandbox's GKE offers, newest first; `DEFAULT_MINOR` is the default channel's.
VERSIONS = {
    "1.34": "1.34.1-gke.1100",
    "1.33": "1.33.5-gke.1100",
    "1.32": "1.32.9-gke.1100",
    "1.31": "1.31.13-gke.1100",
}
DEFAULT_MINOR = "1.33"
DEFAULT_MACHINE_TYPE = "e2-medium"

# Enums the sandbox reads or writes, in proto order (the integer encoding is the index).
ENUMS = {
    "cluster_status": ["STATUS_UNSPECIFIED", "PROVISIONING", "RUNNING", "RECONCILING", "STOPPING", "ERROR", "DEGRADED"],
    "pool_status": [
        "STATUS_UNSPECIFIED",
        "PROVISIONING",
        "RUNNING",
        "RUNNING_WITH_ERROR",
        "RECONCILING",
        "STOPPING",
        "ERROR",
    ],
    "op_status": ["STATUS_UNSPECIFIED", "PENDING", "RUNNING", "DONE", "ABORTING"],
    "op_type": [
        "TYPE_UNSPECIFIED",
        "CREATE_CLUSTER",
        "DELETE_CLUSTER",
        "UPGRADE_MASTER",
        "UPGRADE_NODES",
        "REPAIR_CLUSTER",
        "UPDATE_CLUSTER",
        "CREATE_NODE_POOL",
        "DELETE_NODE_POOL",
        "SET_NODE_POOL_MANAGEMENT",
        "AUTO_REPAIR_NODES",
        "AUTO_UPGRADE_NODES",
        "SET_LABELS",
        "SET_MASTER_AUTH",
        "SET_NODE_POOL_SIZE",
        "SET_NETWORK_POLICY",
        "SET_MAINTENANCE_POLICY",
        "RESIZE_CLUSTER",
        "FLEET_FEATURE_UPGRADE",
    ],
    "effect": ["EFFECT_UNSPECIFIED", "NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"],
}
# What a creation that a provisioning-failure fault hits reports: the cluster condition's code
# (StatusCondition.Code), its canonical code, and the operation's google.rpc.Code (RESOURCE_EXHAUSTED).
PROVISIONING_FAILURE_CONDITION = {"code": "GCE_QUOTA_EXCEEDED", "canonicalCode": "RESOURCE_EXHAUSTED"}
PROVISIONING_FAILURE_RPC_CODE = 8
_KUBE_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}
_NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?")
_ZONE = re.compile(r"([a-z]+-[a-z]+\d+)-[a-z]")
_REGION = re.compile(r"[a-z]+-[a-z]+\d+")
# Cluster fields only GKE sets: whatever a client sends there is ignored, as GKE does.
_OUTPUT_ONLY = {
    "selfLink",
    "zone",
    "endpoint",
    "currentMasterVersion",
    "currentNodeVersion",
    "createTime",
    "status",
    "statusMessage",
    "conditions",
    "nodeIpv4CidrSize",
    "servicesIpv4Cidr",
    "instanceGroupUrls",
    "currentNodeCount",
    "expireTime",
    "location",
    "id",
    "labelFingerprint",
    "etag",
}


class OperationFailed(Exception):
    """Ends an operation DONE with `error` {code (a google.rpc.Code), message}."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def enum_value(kind: str, value, ints: bool):
    """A stored enum name as the client asked for it (integers with `enum-encoding=int`)."""
    return ENUMS[kind].index(value) if ints else value


def enum_name(kind: str, value, field_name: str) -> str:
    """An enum from a request, by name or by number, as its name (400 when neither)."""
    names = ENUMS[kind]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value in names:
        return value
    raise invalid(f"Invalid value at '{field_name}': {value!r}", (field_name, f"Invalid value {value!r}"))


def region_of(location: str) -> str:
    match = _ZONE.fullmatch(location)
    return match.group(1) if match else location


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def version_key(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version)
    return tuple(int(n) for n in numbers)


def minor_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


def resolve_version(requested: str | None, field_name: str) -> str:
    """A version a client may ask for (`latest`, `-`, `1.33`, `1.33.5`, `1.33.5-gke.1100`)."""
    if requested in (None, "", "-", "latest"):
        return VERSIONS[DEFAULT_MINOR] if requested in (None, "") else next(iter(VERSIONS.values()))
    for full in VERSIONS.values():
        if requested == full or full.startswith(requested + ".") or full.startswith(requested + "-"):
            return full
    raise invalid(
        f"Version {requested!r} is invalid. Valid versions: {', '.join(VERSIONS.values())}",
        (field_name, f"unsupported version {requested!r}"),
    )


def label_fingerprint(labels: dict) -> str:
    return hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]


@dataclass
class Operation:
    name: str
    type: str
    location: str
    target: str
    cluster: str
    status: str = "RUNNING"
    start: str = field(default_factory=_now)
    end: str | None = None
    error: dict | None = None
    detail: str = ""

    def to_json(self, base: str, ints: bool) -> dict:
        body = {
            "name": self.name,
            "zone": self.location,
            "location": self.location,
            "operationType": enum_value("op_type", self.type, ints),
            "status": enum_value("op_status", self.status, ints),
            "selfLink": f"{base}/operations/{self.name}",
            "targetLink": self.target,
            "startTime": self.start,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.end:
            body["endTime"] = self.end
        if self.error:
            body["error"] = self.error
            body["statusMessage"] = self.error["message"]
        return body


@dataclass
class ClusterState:
    location: str
    body: dict  # the cluster as the client described it, plus what GKE sets
    pools: dict[str, dict] = field(default_factory=dict)
    status: str = "PROVISIONING"
    busy: str | None = None  # the running operation's name


class GkeEmulator(ClusterEmulator):
    """The GKE v1 API (locations form) over an in-memory model and the Kubernetes runtime."""

    cloud = "gcp"

    def __init__(self, runtime: KubeRuntime, project: str, *, time_factor: float, faults=None):
        """`faults` (a FaultManager, by default the runtime's) decides which creations fail."""
        super().__init__(runtime, time_factor=time_factor, faults=faults)
        self._project = project
        self._clusters: dict[tuple[str, str], ClusterState] = {}
        self._operations: dict[str, Operation] = {}
        self._handlers = {
            "ListClusters": self._list_clusters,
            "CreateCluster": self._create_cluster,
            "GetCluster": self._get_cluster,
            "UpdateCluster": self._update_cluster,
            "DeleteCluster": self._delete_cluster,
            "UpdateMaster": self._update_master,
            "SetLabels": self._set_labels,
            "ListNodePools": self._list_node_pools,
            "CreateNodePool": self._create_node_pool,
            "GetNodePool": self._get_node_pool,
            "UpdateNodePool": self._update_node_pool,
            "DeleteNodePool": self._delete_node_pool,
            "SetNodePoolSize": self._set_node_pool_size,
            "SetNodePoolAutoscaling": self._set_node_pool_autoscaling,
            "ListOperations": self._list_operations,
            "GetOperation": self._get_operation,
            "GetServerConfig": self._get_server_config,
        }

    # ---------------------------------------------------------------- lifecycle
    def _forget(self) -> None:
        self._clusters.clear()
        self._operations.clear()

    def status(self) -> dict:
        with self._lock:
            clusters = [
                {
                    "location": state.location,
                    "name": name,
                    "status": state.status,
                    "version": state.body.get("currentMasterVersion"),
                    "endpoint": state.body.get("endpoint"),
                    "node_pools": [
                        {
                            "name": pool["name"],
                            "status": pool["status"],
                            "version": pool["version"],
                            "node_count": pool["initialNodeCount"],
                        }
                        for pool in state.pools.values()
                    ],
                }
                for (_, name), state in sorted(self._clusters.items())
            ]
            operations = [
                {"name": op.name, "type": op.type, "location": op.location, "target": op.target}
                for op in self._operations.values()
                if op.status != "DONE"
            ]
        return {"clusters": clusters, "operations_in_progress": operations}

    # ---------------------------------------------------------------- requests
    def handles(self, operation: str) -> bool:
        return operation in self._handlers

    def handle(self, operation: str, params: dict, body: dict, ints: bool) -> dict:
        """Answer one request; `params` holds the path's location/cluster/pool/operation ids."""
        with self._lock:
            return self._handlers[operation](params, body, ints)

    # ---------------------------------------------------------------- naming
    def _base(self, location: str) -> str:
        return f"https://container.googleapis.com/v1/projects/{self._project}/locations/{location}"

    def _cluster_link(self, location: str, name: str) -> str:
        return f"{self._base(location)}/clusters/{name}"

    def _cluster(self, params: dict) -> ClusterState:
        location, name = params["location"], params["cluster"]
        state = self._clusters.get((location, name))
        if state is None:
            raise not_found(f"Not found: projects/{self._project}/locations/{location}/clusters/{name}.")
        return state

    def _pool(self, state: ClusterState, params: dict) -> dict:
        pool = state.pools.get(params["pool"])
        if pool is None:
            raise not_found(
                f"Not found: projects/{self._project}/locations/{state.location}/clusters/"
                f"{params['cluster']}/nodePools/{params['pool']}."
            )
        return pool

    def _check_idle(self, state: ClusterState) -> None:
        if state.busy is not None:
            raise failed_precondition(
                f"Cluster is running incompatible operation {state.busy}. Please wait and try again."
            )
        if state.status not in ("RUNNING", "RECONCILING", "DEGRADED"):
            raise failed_precondition(f"Cluster is {state.status} and cannot be changed now.")

    def _start_operation(self, state: ClusterState, kind: str, target: str, seconds: float, finish) -> Operation:
        name = state.body["name"]
        op = Operation(
            name=f"operation-{int(time.time() * 1000)}-{secrets.token_hex(4)}",
            type=kind,
            location=state.location,
            target=target,
            cluster=name,
        )
        self._operations[op.name] = op
        state.busy = op.name
        generation = self._generation
        key = (state.location, name)

        def job():
            with self._lock:
                if generation != self._generation or self._clusters.get(key) is not state:
                    return
            error = None
            try:
                finish()
            except OperationFailed as exc:
                error = {"code": exc.code, "message": exc.message}
            except ApiError as exc:
                error = {"code": {400: 3, 404: 5, 409: 6, 500: 13}.get(exc.code, 2), "message": exc.message}
            except Exception as exc:
                log.exception("GKE operation %s failed", op.name)
                error = {"code": 13, "message": f"Internal error: {exc}"}
            with self._lock:
                op.status, op.end, op.error = "DONE", _now(), error
                if state.busy == op.name:
                    state.busy = None

        self._scheduler.call_later(scaled(seconds, self._factor), job)
        return op

    # ---------------------------------------------------------------- output
    def _pool_json(self, state: ClusterState, pool: dict, ints: bool) -> dict:
        body = copy.deepcopy(pool)
        body["status"] = enum_value("pool_status", pool["status"], ints)
        for taint in (body.get("config") or {}).get("taints") or []:
            taint["effect"] = enum_value("effect", taint["effect"], ints)
        return body

    def _cluster_json(self, state: ClusterState, ints: bool) -> dict:
        body = copy.deepcopy(state.body)
        body["status"] = enum_value("cluster_status", state.status, ints)
        pools = [self._pool_json(state, pool, ints) for pool in state.pools.values()]
        body["nodePools"] = pools
        body["currentNodeCount"] = sum(p["initialNodeCount"] * len(p["locations"]) for p in pools)
        if pools:
            body["currentNodeVersion"] = min((p["version"] for p in pools), key=version_key)
        else:
            body.pop("currentNodeVersion", None)
        return body

    # ---------------------------------------------------------------- clusters
    def _list_clusters(self, params, body, ints):
        location = params["location"]
        clusters = [
            self._cluster_json(state, ints)
            for (loc, _), state in sorted(self._clusters.items())
            if location in ("-", loc)
        ]
        return {"clusters": clusters} if clusters else {}

    def _get_cluster(self, params, body, ints):
        return self._cluster_json(self._cluster(params), ints)

    def _create_cluster(self, params, body, ints):
        location = params["location"]
        if not (is_zone(location) or is_region(location)):
            raise not_found(f'Location "{location}" does not exist.')
        cluster = body.get("cluster")
        if not isinstance(cluster, dict):
            raise invalid("Cluster is required.", ("cluster", "must be set"))
        name = cluster.get("name") or ""
        if not _NAME.fullmatch(name):
            raise invalid(
                f"Invalid value for field 'cluster.name': {name!r}. Must be a match of regex "
                "'(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)' (only alphanumerics and '-' allowed, must start with "
                "a letter and end with an alphanumeric, and must be no longer than 40 characters).",
                ("cluster.name", "must be 1-40 lowercase letters, digits or '-', starting with a letter"),
            )
        if (location, name) in self._clusters:
            raise already_exists(f"Already exists: projects/{self._project}/locations/{location}/clusters/{name}.")
        version = resolve_version(cluster.get("initialClusterVersion"), "cluster.initial_cluster_version")
        zones = self._zones(location, cluster.get("locations"), "cluster.locations")
        pools_in = cluster.get("nodePools") or []
        if pools_in and (cluster.get("initialNodeCount") or cluster.get("nodeConfig")):
            raise invalid(
                "Cannot specify both node_pools and initial_node_count or node_config.",
                ("cluster.node_pools", "cannot be combined with initial_node_count/node_config"),
            )
        if not pools_in:
            if not cluster.get("initialNodeCount"):
                raise invalid(
                    "Cluster.initial_node_count must be greater than zero.",
                    ("cluster.initial_node_count", "must be greater than zero"),
                )
            pools_in = [
                {
                    "name": "default-pool",
                    "initialNodeCount": cluster["initialNodeCount"],
                    "config": cluster.get("nodeConfig") or {},
                }
            ]
        pools = {}
        for index, pool_in in enumerate(pools_in):
            pool = self._new_pool(
                location, name, pool_in, zones=zones, version=version, where=f"cluster.node_pools[{index}]"
            )
            if pool["name"] in pools:
                raise invalid(
                    f"Node pool names must be unique: {pool['name']!r} appears twice.",
                    (f"cluster.node_pools[{index}].name", "duplicate name"),
                )
            pools[pool["name"]] = pool
        stored = {k: copy.deepcopy(v) for k, v in cluster.items() if k not in _OUTPUT_ONLY and k != "nodePools"}
        stored.pop("initialNodeCount", None)
        stored.pop("nodeConfig", None)
        labels = stored.get("resourceLabels") or {}
        stored.update(
            {
                "name": name,
                "locations": zones,
                "location": location,
                "zone": location,
                "selfLink": self._cluster_link(location, name),
                "initialClusterVersion": version,
                "currentMasterVersion": version,
                "createTime": _now(),
                "id": secrets.token_hex(32),
                "network": cluster.get("network") or "default",
                "subnetwork": cluster.get("subnetwork") or "default",
                "clusterIpv4Cidr": cluster.get("clusterIpv4Cidr") or "10.52.0.0/14",
                "servicesIpv4Cidr": "34.118.224.0/20",
                "loggingService": cluster.get("loggingService") or "logging.googleapis.com/kubernetes",
                "monitoringService": cluster.get("monitoringService") or "monitoring.googleapis.com/kubernetes",
                "labelFingerprint": label_fingerprint(labels),
                "masterAuth": {
                    k: v for k, v in (cluster.get("masterAuth") or {}).items() if k == "clientCertificateConfig"
                },
                "etag": secrets.token_hex(8),
            }
        )
        state = ClusterState(location=location, body=stored, pools=pools)
        self._clusters[(location, name)] = state
        zone = location if _ZONE.fullmatch(location) else None
        failure = self._provisioning_failure("gcp", region_of(location), name, zone=zone)
        op = self._start_operation(
            state,
            "CREATE_CLUSTER",
            stored["selfLink"],
            CLUSTER_CREATE_SECONDS,
            (lambda: self._finish_create(state)) if failure is None else (lambda: self._fail_create(state, failure)),
        )
        return op.to_json(self._base(location), ints)

    def _zones(self, location: str, given, field_name: str) -> list[str]:
        if given:
            bad = [z for z in given if not (_ZONE.fullmatch(z) and region_of(z) == region_of(location))]
            if bad:
                raise invalid(
                    f"Locations {bad} are not zones of {region_of(location)}.",
                    (field_name, f"must be zones of {region_of(location)}"),
                )
            return list(given)
        if _ZONE.fullmatch(location):
            return [location]
        return [f"{location}-{z}" for z in "abc"]

    def _new_pool(self, location, cluster, pool_in: dict, *, zones, version, where: str) -> dict:
        name = pool_in.get("name") or ""
        if not _NAME.fullmatch(name):
            raise invalid(
                f"Invalid node pool name {name!r}.", (f"{where}.name", "must match [a-z]([-a-z0-9]*[a-z0-9])?")
            )
        count = pool_in.get("initialNodeCount", 0)
        if not isinstance(count, int) or count < 0:
            raise invalid("initial_node_count must be >= 0.", (f"{where}.initial_node_count", "must be >= 0"))
        pool_version = resolve_version(pool_in.get("version") or version, f"{where}.version")
        if version_key(pool_version) > version_key(version):
            raise invalid(
                f"Node version {pool_version} must not be newer than the master version {version}.",
                (f"{where}.version", "newer than the master"),
            )
        autoscaling = pool_in.get("autoscaling")
        if autoscaling:
            self._check_autoscaling(autoscaling, f"{where}.autoscaling")
        config = copy.deepcopy(pool_in.get("config") or {})
        config.setdefault("machineType", DEFAULT_MACHINE_TYPE)
        config.setdefault("diskSizeGb", 100)
        config.setdefault("imageType", "COS_CONTAINERD")
        config["taints"] = self._taints(config.get("taints") or [], f"{where}.config.taints")
        if not config["taints"]:
            config.pop("taints")
        pool_zones = (
            self._zones(location, pool_in.get("locations"), f"{where}.locations")
            if pool_in.get("locations")
            else list(zones)
        )
        pool = {k: copy.deepcopy(v) for k, v in pool_in.items() if k not in ("status", "selfLink", "instanceGroupUrls")}
        pool.update(
            {
                "name": name,
                "config": config,
                "initialNodeCount": count,
                "locations": pool_zones,
                "version": pool_version,
                "status": "PROVISIONING",
                "selfLink": f"{self._cluster_link(location, cluster)}/nodePools/{name}",
                "podIpv4CidrSize": 24,
                "management": pool_in.get("management") or {"autoUpgrade": True, "autoRepair": True},
                "instanceGroupUrls": [
                    f"https://www.googleapis.com/compute/v1/projects/{self._project}/zones/{zone}/"
                    f"instanceGroupManagers/gke-{cluster}-{name}-grp"
                    for zone in pool_zones
                ],
            }
        )
        return pool

    @staticmethod
    def _check_autoscaling(autoscaling: dict, where: str) -> None:
        low = autoscaling.get("minNodeCount", 0)
        high = autoscaling.get("maxNodeCount", 0)
        if autoscaling.get("enabled") and (low < 0 or high < 1 or low > high):
            raise invalid(
                "Autoscaling needs 0 <= min_node_count <= max_node_count and max_node_count >= 1.",
                (f"{where}.max_node_count", f"min {low}, max {high}"),
            )

    @staticmethod
    def _taints(taints: list, where: str) -> list[dict]:
        out = []
        for index, taint in enumerate(taints):
            effect = enum_name("effect", taint.get("effect"), f"{where}[{index}].effect")
            if effect == "EFFECT_UNSPECIFIED" or not taint.get("key"):
                raise invalid(
                    "A taint needs a key and an effect.", (f"{where}[{index}]", "key and effect are required")
                )
            out.append({"key": taint["key"], "value": taint.get("value", ""), "effect": effect})
        return out

    def _kube_pool(self, state: ClusterState, pool: dict) -> NodePool:
        config = pool.get("config") or {}
        machine = config.get("machineType") or DEFAULT_MACHINE_TYPE
        labels = {
            **(config.get("labels") or {}),
            "cloud.google.com/gke-nodepool": pool["name"],
            "cloud.google.com/machine-family": machine.split("-")[0],
            "node.kubernetes.io/instance-type": machine,
            "topology.kubernetes.io/region": region_of(state.location),
        }
        taints = [
            {"key": t["key"], "value": t.get("value", ""), "effect": _KUBE_EFFECTS[t["effect"]]}
            for t in config.get("taints") or []
        ]
        return NodePool(
            name=pool["name"],
            count=pool["initialNodeCount"] * len(pool["locations"]),
            instance_type=machine,
            labels=labels,
            taints=taints,
            zones=list(pool["locations"]),
        )

    def _finish_create(self, state: ClusterState) -> None:
        name = state.body["name"]
        try:
            handle = self._runtime.create_cluster("gcp", state.location, name)
            with self._lock:
                self._started.add((state.location, name))
                pools = list(state.pools.values())
            for pool in pools:
                self._runtime.set_node_pool("gcp", state.location, name, self._kube_pool(state, pool))
        except Exception as exc:
            with self._lock:
                state.status = "ERROR"
                state.body["statusMessage"] = f"Control plane failed to start: {exc}"
                for pool in state.pools.values():
                    pool["status"] = "ERROR"
            raise
        with self._lock:
            state.body["endpoint"] = handle.endpoint.removeprefix("https://")
            state.body["masterAuth"]["clusterCaCertificate"] = base64.b64encode(handle.ca_pem.encode()).decode()
            state.status = "RUNNING"
            for pool in state.pools.values():
                pool["status"] = "RUNNING"

    def _fail_create(self, state: ClusterState, message: str) -> None:
        """A creation a provisioning-failure fault hit: ERROR with GKE's message, no control plane."""
        with self._lock:
            state.status = "ERROR"
            state.body["statusMessage"] = message
            state.body["conditions"] = [{**PROVISIONING_FAILURE_CONDITION, "message": message}]
            for pool in state.pools.values():
                pool["status"] = "ERROR"
        raise OperationFailed(PROVISIONING_FAILURE_RPC_CODE, message)

    def _delete_cluster(self, params, body, ints):
        state = self._cluster(params)
        if state.status == "STOPPING":
            raise failed_precondition(f"Cluster {params['cluster']} is already being deleted.")
        if state.busy is not None:
            raise failed_precondition(
                f"Cluster is running incompatible operation {state.busy}. Please wait and try again."
            )
        state.status = "STOPPING"
        for pool in state.pools.values():
            pool["status"] = "STOPPING"
        op = self._start_operation(
            state, "DELETE_CLUSTER", state.body["selfLink"], CLUSTER_DELETE_SECONDS, lambda: self._finish_delete(state)
        )
        return op.to_json(self._base(state.location), ints)

    def _finish_delete(self, state: ClusterState) -> None:
        name = state.body["name"]
        self._runtime.delete_cluster("gcp", state.location, name)
        with self._lock:
            self._started.discard((state.location, name))
            if self._clusters.get((state.location, name)) is state:
                del self._clusters[(state.location, name)]

    def _update_master(self, params, body, ints):
        state = self._cluster(params)
        self._check_idle(state)
        version = self._master_upgrade_target(state, body.get("masterVersion"), "master_version")
        return self._upgrade_master(state, version, ints)

    def _master_upgrade_target(self, state: ClusterState, requested, field_name: str) -> str:
        current = state.body["currentMasterVersion"]
        version = resolve_version(requested or None, field_name) if requested != "-" else current
        if version_key(version) < version_key(current):
            raise invalid(
                f"Master cannot be downgraded from {current} to {version}.", (field_name, "downgrade not allowed")
            )
        if version_key(minor_of(version))[1] > version_key(minor_of(current))[1] + 1:
            raise invalid(
                f"Master cannot be upgraded more than one minor version at a time: {current} -> {version}.",
                (field_name, "skips a minor version"),
            )
        return version

    def _upgrade_master(self, state: ClusterState, version: str, ints: bool) -> dict:
        state.status = "RECONCILING"

        def finish():
            with self._lock:
                state.body["currentMasterVersion"] = version
                state.status = "RUNNING"

        op = self._start_operation(state, "UPGRADE_MASTER", state.body["selfLink"], MASTER_UPGRADE_SECONDS, finish)
        op.detail = f"Upgrading master to {version}"
        return op.to_json(self._base(state.location), ints)

    def _update_cluster(self, params, body, ints):
        state = self._cluster(params)
        update = body.get("update")
        if not isinstance(update, dict) or not update:
            raise invalid("Update is required.", ("update", "must be set"))
        self._check_idle(state)
        supported = {"desiredMasterVersion", "desiredNodeVersion", "desiredNodePoolId", "desiredNodePoolAutoscaling"}
        unknown = sorted(set(update) - supported)
        if unknown:
            raise invalid(
                f"The sandbox does not emulate cluster updates of {', '.join(unknown)}.",
                *[(f"update.{name}", "not emulated by the sandbox") for name in unknown],
            )
        if "desiredMasterVersion" in update:
            if len(update) > 1:
                raise invalid(
                    "A master upgrade cannot be combined with other updates.",
                    ("update", "desiredMasterVersion must be the only update"),
                )
            version = self._master_upgrade_target(
                state, update["desiredMasterVersion"], "update.desired_master_version"
            )
            return self._upgrade_master(state, version, ints)
        pool_name = update.get("desiredNodePoolId")
        if not pool_name:
            raise invalid("desired_node_pool_id is required.", ("update.desired_node_pool_id", "must be set"))
        pool = self._pool(state, {**params, "pool": pool_name})
        if "desiredNodeVersion" in update:
            return self._upgrade_nodes(state, pool, update["desiredNodeVersion"], "update.desired_node_version", ints)
        return self._autoscale(state, pool, update["desiredNodePoolAutoscaling"], "UPDATE_CLUSTER", ints)

    def _set_labels(self, params, body, ints):
        state = self._cluster(params)
        self._check_idle(state)
        fingerprint = body.get("labelFingerprint")
        if fingerprint != state.body["labelFingerprint"]:
            raise failed_precondition(
                "Labels could not be set due to fingerprint mismatch. Please fetch the cluster and retry."
            )
        labels = dict(body.get("resourceLabels") or {})

        def finish():
            with self._lock:
                state.body["resourceLabels"] = labels
                state.body["labelFingerprint"] = label_fingerprint(labels)

        op = self._start_operation(state, "SET_LABELS", state.body["selfLink"], SET_LABELS_SECONDS, finish)
        return op.to_json(self._base(state.location), ints)

    # ---------------------------------------------------------------- node pools
    def _list_node_pools(self, params, body, ints):
        state = self._cluster(params)
        return {"nodePools": [self._pool_json(state, pool, ints) for pool in state.pools.values()]}

    def _get_node_pool(self, params, body, ints):
        state = self._cluster(params)
        return self._pool_json(state, self._pool(state, params), ints)

    def _create_node_pool(self, params, body, ints):
        state = self._cluster(params)
        pool_in = body.get("nodePool")
        if not isinstance(pool_in, dict):
            raise invalid("Node pool is required.", ("node_pool", "must be set"))
        if pool_in.get("name") in state.pools:
            raise already_exists(
                f"Already exists: projects/{self._project}/locations/{state.location}/clusters/"
                f"{params['cluster']}/nodePools/{pool_in['name']}."
            )
        self._check_idle(state)
        pool = self._new_pool(
            state.location,
            params["cluster"],
            pool_in,
            zones=state.body["locations"],
            version=state.body["currentMasterVersion"],
            where="node_pool",
        )
        state.pools[pool["name"]] = pool
        state.status = "RECONCILING"

        def finish():
            self._runtime.set_node_pool("gcp", state.location, params["cluster"], self._kube_pool(state, pool))
            with self._lock:
                pool["status"] = "RUNNING"
                state.status = "RUNNING"

        op = self._start_operation(state, "CREATE_NODE_POOL", pool["selfLink"], NODE_POOL_CREATE_SECONDS, finish)
        return op.to_json(self._base(state.location), ints)

    def _delete_node_pool(self, params, body, ints):
        state = self._cluster(params)
        pool = self._pool(state, params)
        self._check_idle(state)
        pool["status"] = "STOPPING"
        state.status = "RECONCILING"

        def finish():
            self._runtime.delete_node_pool("gcp", state.location, params["cluster"], pool["name"])
            with self._lock:
                state.pools.pop(pool["name"], None)
                state.status = "RUNNING"

        op = self._start_operation(state, "DELETE_NODE_POOL", pool["selfLink"], NODE_POOL_DELETE_SECONDS, finish)
        return op.to_json(self._base(state.location), ints)

    def _set_node_pool_size(self, params, body, ints):
        state = self._cluster(params)
        pool = self._pool(state, params)
        count = body.get("nodeCount")
        if not isinstance(count, int) or count < 0:
            raise invalid("node_count must be >= 0.", ("node_count", "must be a non-negative integer"))
        self._check_idle(state)
        pool["status"] = "RECONCILING"

        def finish():
            with self._lock:
                pool["initialNodeCount"] = count
            self._runtime.set_node_pool("gcp", state.location, params["cluster"], self._kube_pool(state, pool))
            with self._lock:
                pool["status"] = "RUNNING"

        op = self._start_operation(state, "SET_NODE_POOL_SIZE", pool["selfLink"], NODE_POOL_RESIZE_SECONDS, finish)
        return op.to_json(self._base(state.location), ints)

    def _set_node_pool_autoscaling(self, params, body, ints):
        state = self._cluster(params)
        pool = self._pool(state, params)
        self._check_idle(state)
        return self._autoscale(state, pool, body.get("autoscaling") or {}, "SET_NODE_POOL_MANAGEMENT", ints)

    def _autoscale(self, state: ClusterState, pool: dict, autoscaling: dict, kind: str, ints: bool) -> dict:
        self._check_autoscaling(autoscaling, "autoscaling")
        autoscaling = dict(autoscaling)
        if "locationPolicy" in autoscaling:
            names = ["LOCATION_POLICY_UNSPECIFIED", "BALANCED", "ANY"]
            value = autoscaling["locationPolicy"]
            autoscaling["locationPolicy"] = names[value] if isinstance(value, int) and value < len(names) else value
        pool["status"] = "RECONCILING"
        clamp = autoscaling.get("enabled")

        def finish():
            with self._lock:
                pool["autoscaling"] = autoscaling
                count = pool["initialNodeCount"]
                if clamp:
                    low, high = autoscaling.get("minNodeCount", 0), autoscaling.get("maxNodeCount", count)
                    pool["initialNodeCount"] = min(max(count, low), high)
                changed = pool["initialNodeCount"] != count
            if changed:
                self._runtime.set_node_pool("gcp", state.location, state.body["name"], self._kube_pool(state, pool))
            with self._lock:
                pool["status"] = "RUNNING"

        op = self._start_operation(state, kind, pool["selfLink"], NODE_POOL_UPDATE_SECONDS, finish)
        return op.to_json(self._base(state.location), ints)

    def _upgrade_nodes(self, state: ClusterState, pool: dict, requested, field_name: str, ints: bool) -> dict:
        master = state.body["currentMasterVersion"]
        latest = ("-", "", "latest", None)  # the nodes' newest possible version is the master's
        version = master if requested in latest else resolve_version(requested, field_name)
        if version_key(version) > version_key(master):
            raise invalid(
                f"Node version {version} must not be newer than the master version {master}.",
                (field_name, "newer than the master"),
            )
        pool["status"] = "RECONCILING"
        state.status = "RECONCILING"

        def finish():
            with self._lock:
                pool["version"] = version
                pool["status"] = "RUNNING"
                state.status = "RUNNING"

        op = self._start_operation(state, "UPGRADE_NODES", pool["selfLink"], NODE_POOL_UPGRADE_SECONDS, finish)
        op.detail = f"Upgrading node pool {pool['name']} to {version}"
        return op.to_json(self._base(state.location), ints)

    def _update_node_pool(self, params, body, ints):
        state = self._cluster(params)
        pool = self._pool(state, params)
        routing = {"name", "projectId", "zone", "clusterId", "nodePoolId"}
        supported = {"nodeVersion", "imageType", "labels", "taints", "locations", "machineType"}
        given = {k: v for k, v in body.items() if k not in routing}
        unknown = sorted(set(given) - supported)
        if unknown:
            raise invalid(
                f"The sandbox does not emulate node pool updates of {', '.join(unknown)}.",
                *[(name, "not emulated by the sandbox") for name in unknown],
            )
        self._check_idle(state)
        if given.get("nodeVersion") and set(given) <= {"nodeVersion", "imageType"}:
            if given.get("imageType"):
                pool["config"]["imageType"] = given["imageType"]
            return self._upgrade_nodes(state, pool, given["nodeVersion"], "node_version", ints)
        changes: dict = {}
        if "labels" in given:
            changes["labels"] = dict((given["labels"] or {}).get("labels") or {})
        if "taints" in given:
            changes["taints"] = self._taints((given["taints"] or {}).get("taints") or [], "taints.taints")
        if "machineType" in given:
            changes["machineType"] = given["machineType"]
        if "imageType" in given:
            changes["imageType"] = given["imageType"]
        locations = self._zones(state.location, given["locations"], "locations") if given.get("locations") else None
        version = None
        if given.get("nodeVersion"):
            version = resolve_version(given["nodeVersion"], "node_version") if given["nodeVersion"] != "-" else None
        if not changes and locations is None and version is None:
            raise invalid("No changes requested for the node pool.", ("node_pool", "nothing to update"))
        pool["status"] = "RECONCILING"

        def finish():
            with self._lock:
                pool["config"].update(changes)
                if not pool["config"].get("taints"):
                    pool["config"].pop("taints", None)
                if locations is not None:
                    pool["locations"] = locations
                if version is not None:
                    pool["version"] = version
            self._runtime.set_node_pool("gcp", state.location, state.body["name"], self._kube_pool(state, pool))
            with self._lock:
                pool["status"] = "RUNNING"

        op = self._start_operation(state, "UPDATE_CLUSTER", pool["selfLink"], NODE_POOL_UPDATE_SECONDS, finish)
        return op.to_json(self._base(state.location), ints)

    # ---------------------------------------------------------------- operations
    def _list_operations(self, params, body, ints):
        location = params["location"]
        ops = [
            op.to_json(self._base(op.location), ints)
            for op in self._operations.values()
            if location in ("-", op.location)
        ]
        return {"operations": ops} if ops else {}

    def _get_operation(self, params, body, ints):
        op = self._operations.get(params["operation"])
        if op is None or params["location"] not in ("-", op.location):
            raise not_found(
                f"Not found: projects/{self._project}/locations/{params['location']}/operations/{params['operation']}."
            )
        return op.to_json(self._base(op.location), ints)

    def _get_server_config(self, params, body, ints):
        versions = list(VERSIONS.values())
        return {
            "defaultClusterVersion": VERSIONS[DEFAULT_MINOR],
            "validNodeVersions": versions,
            "defaultImageType": "COS_CONTAINERD",
            "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD"],
            "validMasterVersions": versions,
        }
