"""EKS as the sandbox serves it: moto's EKS with EKS's lifecycles and real control planes.

moto creates clusters and nodegroups ACTIVE on the spot, has no cluster or nodegroup updates and
never starts anything. `EksEmulator` takes over the operations where that matters: it lets moto
validate and store the resource, then runs the resource through EKS's states (CREATING, UPDATING,
DELETING) on simulated time, and at the right moment asks the Kubernetes runtime to make it real.
Every other EKS operation (Describe*, List*, tags) goes to moto untouched and sees the same objects.
"""

from __future__ import annotations

import base64
import functools
import logging
from urllib.parse import quote

from botocore import xform_name
from moto.core.utils import utcnow
from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.eks.exceptions import EKSError
from moto.eks.models import CLUSTER_NOT_READY_MSG, eks_backends, validate_safe_to_delete
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from mc_sandbox.clouds.aws.eks.models import (
    CLUSTER_CONFIG_UPDATE_SECONDS,
    CLUSTER_CREATE_SECONDS,
    CLUSTER_DELETE_SECONDS,
    CLUSTER_VERSION_UPDATE_SECONDS,
    DEFAULT_VERSION,
    NODEGROUP_CONFIG_UPDATE_SECONDS,
    NODEGROUP_CREATE_SECONDS,
    NODEGROUP_DELETE_SECONDS,
    NODEGROUP_VERSION_UPDATE_SECONDS,
    ClusterState,
    EksError,
    Update,
    check_scaling,
    failure_health,
    in_use,
    invalid_parameter,
    invalid_request,
    json_response,
    minor,
    node_pool,
    not_found,
    release_version,
    update_param,
)
from mc_sandbox.core.config import scaled
from mc_sandbox.core.lifecycle import ClusterEmulator
from mc_sandbox.core.runtime import KubeRuntime, NodePool

log = logging.getLogger(__name__)

# UpdateClusterConfig members other than resourcesVpcConfig: (update type, update param type).
_CLUSTER_CONFIG_UPDATES = {
    "logging": ("LoggingUpdate", "ClusterLogging"),
    "accessConfig": ("AccessConfigUpdate", "AuthenticationMode"),
    "upgradePolicy": ("UpgradePolicyUpdate", "UpgradePolicy"),
    "zonalShiftConfig": ("ZonalShiftConfigUpdate", "ZonalShiftConfig"),
}
_ENDPOINT_ACCESS_PARAMS = {
    "endpointPublicAccess": "EndpointPublicAccess",
    "endpointPrivateAccess": "EndpointPrivateAccess",
    "publicAccessCidrs": "PublicAccessCidrs",
}
_VPC_PARAMS = {"subnetIds": "Subnets", "securityGroupIds": "SecurityGroups"}
_SCALING_PARAMS = {"minSize": "MinSize", "maxSize": "MaxSize", "desiredSize": "DesiredSize"}
_NOT_CONFIG = {"name", "clientRequestToken", "resourcesVpcConfig"}
# EKS's HTTP status per error code, for the errors moto's own checks raise.
MOTO_ERROR_STATUS = {
    "ResourceInUseException": 409,
    "ResourceNotFoundException": 404,
    "InvalidParameterException": 400,
    "InvalidRequestException": 400,
    "ResourceLimitExceededException": 400,
    "ServerException": 500,
}
# The health issue code of a cluster whose creation a provisioning-failure fault fails.
PROVISIONING_FAILURE_CODE = "InsufficientFreeAddresses"


def from_moto(exc: EKSError) -> EksError:
    """moto's EKS exception as EKS answers it. moto's exception classes changed shape across its
    releases (a JSON body with ``TYPE``/``STATUS`` before 5.2, ``code``/``message`` attributes
    since), so this reads only the code, the message and the error members EKS models."""
    code = getattr(exc, "code", None) or getattr(exc, "TYPE", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    fields = {}
    for key in ("clusterName", "nodegroupName", "addonName", "fargateProfileName"):
        value = getattr(exc, key, None)
        if value:
            fields[key] = value
    return EksError(MOTO_ERROR_STATUS.get(code, 400), code, message, **fields)


class EksEmulator(ClusterEmulator):
    """The EKS operations moto lacks or gets wrong, and the background transitions behind them."""

    cloud = "aws"

    def __init__(self, runtime: KubeRuntime, moto_app, *, account_id: str, time_factor: float, identify, faults=None):
        """`identify(access_key_id, region)` returns the caller's ARN (what GetCallerIdentity says);
        `faults` (a FaultManager, by default the runtime's) decides which creations fail."""
        super().__init__(runtime, time_factor=time_factor, faults=faults)
        self._moto = moto_app
        self._account = account_id
        self._identify = identify
        self._clusters: dict[tuple[str, str], ClusterState] = {}
        self._handlers = {
            "CreateCluster": self._create_cluster,
            "DeleteCluster": self._delete_cluster,
            "UpdateClusterVersion": self._update_cluster_version,
            "UpdateClusterConfig": self._update_cluster_config,
            "DescribeUpdate": self._describe_update,
            "ListUpdates": self._list_updates,
            "CreateNodegroup": self._create_nodegroup,
            "UpdateNodegroupConfig": self._update_nodegroup_config,
            "UpdateNodegroupVersion": self._update_nodegroup_version,
            "DeleteNodegroup": self._delete_nodegroup,
        }

    # ---------------------------------------------------------------- lifecycle
    def _forget(self) -> None:
        self._clusters.clear()

    def status(self) -> list[dict]:
        with self._lock:
            clusters = []
            for (region, name), state in sorted(self._clusters.items()):
                cluster = self._backend(region).clusters.get(name)
                if cluster is None:
                    continue
                updates = [{"id": u.id, "type": u.type} for u in state.updates.values() if u.status == "InProgress"]
                for nodegroup, by_id in sorted(state.nodegroup_updates.items()):
                    updates += [
                        {"id": u.id, "type": u.type, "nodegroup": nodegroup}
                        for u in by_id.values()
                        if u.status == "InProgress"
                    ]
                nodegroups = [
                    {
                        "name": ng.nodegroup_name,
                        "status": ng.status,
                        "version": ng.version,
                        "desired_size": ng.scaling_config.get("desiredSize"),
                    }
                    for ng in sorted(cluster.nodegroups.values(), key=lambda ng: ng.nodegroup_name)
                ]
                clusters.append(
                    {
                        "region": region,
                        "name": name,
                        "status": cluster.status,
                        "version": cluster.version,
                        "endpoint": cluster.endpoint,
                        "creator": state.creator_arn,
                        "nodegroups": nodegroups,
                        "updates_in_progress": updates,
                    }
                )
            return clusters

    def creator(self, region: str, name: str) -> str | None:
        """The ARN EKS makes cluster admin (None if the cluster opted out or is unknown)."""
        with self._lock:
            state = self._clusters.get((region, name))
            if state is None or not state.creator_is_admin:
                return None
            return state.creator_arn

    def regions_of(self, name: str) -> list[str]:
        with self._lock:
            return sorted(region for region, cluster in self._clusters if cluster == name)

    # ---------------------------------------------------------------- requests
    def handles(self, operation: str) -> bool:
        return operation in self._handlers

    def handle(self, operation: str, region: str, access_key_id: str, params: dict, environ: dict) -> Response:
        """Answer one EKS request; `params` merges the URI, query string and JSON body."""
        try:
            with self._lock:
                return self._handlers[operation](region, access_key_id, params, environ)
        except EksError as exc:
            return exc.response()
        except EKSError as exc:  # moto's own validation
            return from_moto(exc).response()

    def _create_cluster(self, region, access_key_id, params, environ):
        vpc = params.get("resourcesVpcConfig") or {}
        zones = self._subnet_zones(region, vpc.get("subnetIds") or [])
        if len(set(zones.values())) < 2:
            raise invalid_parameter("Subnets specified must be in at least two different AZs")
        version = params.get("version") or DEFAULT_VERSION
        minor(version)
        created = Response.from_app(self._moto, environ)
        if created.status_code != 200:
            return created
        name = params["name"]
        cluster = self._backend(region).clusters[name]
        cluster.version = version
        cluster.status = "CREATING"
        cluster.endpoint = None
        cluster.certificate_authority = None
        cluster.health = {"issues": []}
        vpc_id = self._backend_ec2(region).get_subnet(next(iter(zones))).vpc_id
        cluster.resources_vpc_config = {
            "endpointPublicAccess": True,
            "endpointPrivateAccess": False,
            "publicAccessCidrs": ["0.0.0.0/0"],
            **vpc,
            "vpcId": vpc_id,
        }
        access = params.get("accessConfig") or {}
        bootstrap = access.get("bootstrapClusterCreatorAdminPermissions", True)
        cluster.access_config = {
            "authenticationMode": access.get("authenticationMode", "CONFIG_MAP"),
            "bootstrapClusterCreatorAdminPermissions": bootstrap,
        }
        self._clusters[(region, name)] = ClusterState(
            creator_arn=self._identify(access_key_id, region), creator_is_admin=bootstrap
        )
        failure = self._provisioning_failure("aws", region, name)
        if failure is None:
            self._later(CLUSTER_CREATE_SECONDS, self._activate_cluster, region, name)
        else:
            self._later(CLUSTER_CREATE_SECONDS, self._fail_cluster, region, name, message=failure)
        return self._describe(environ, f"/clusters/{quote(name)}")

    def _delete_cluster(self, region, access_key_id, params, environ):
        name = params["name"]
        cluster = self._backend(region).describe_cluster(name)
        if cluster.status not in ("ACTIVE", "FAILED"):
            raise in_use(f"Cluster {name} is {cluster.status} and cannot be deleted now", clusterName=name)
        validate_safe_to_delete(cluster)
        cluster.status = "DELETING"
        self._later(CLUSTER_DELETE_SECONDS, self._finish_cluster_delete, region, name)
        return self._describe(environ, f"/clusters/{quote(name)}")

    def _update_cluster_version(self, region, access_key_id, params, environ):
        name = params["name"]
        cluster = self._backend(region).describe_cluster(name)
        self._check_cluster_updatable(region, cluster)
        version = params.get("version", "")
        if minor(version) != minor(cluster.version) + 1:
            raise invalid_parameter(
                f"Unsupported Kubernetes minor version update from {cluster.version} to {version}", clusterName=name
            )
        behind = sorted(n for n, ng in cluster.nodegroups.items() if ng.version != cluster.version)
        if behind:
            raise invalid_request(
                f"Nodegroups {','.join(behind)} must be updated to match cluster version {cluster.version} "
                "before updating cluster version",
                clusterName=name,
            )
        update = Update(
            "VersionUpdate",
            [update_param("Version", version), update_param("PlatformVersion", cluster.platformVersion)],
        )
        return self._start_cluster_update(region, cluster, update, {"version": version}, CLUSTER_VERSION_UPDATE_SECONDS)

    def _update_cluster_config(self, region, access_key_id, params, environ):
        name = params["name"]
        cluster = self._backend(region).describe_cluster(name)
        self._check_cluster_updatable(region, cluster)
        kinds, update_params, changes = set(), [], {}
        vpc = params.get("resourcesVpcConfig") or {}
        for kind, names in (("EndpointAccessUpdate", _ENDPOINT_ACCESS_PARAMS), ("VpcConfigUpdate", _VPC_PARAMS)):
            given = [key for key in names if key in vpc]
            if given:
                kinds.add(kind)
                update_params += [update_param(names[key], vpc[key]) for key in given]
                changes["resources_vpc_config"] = {**cluster.resources_vpc_config, **vpc}
        if "subnetIds" in vpc:
            self._subnet_zones(region, vpc["subnetIds"])
        for member, value in params.items():
            if member in _NOT_CONFIG or value is None:
                continue
            if member not in _CLUSTER_CONFIG_UPDATES:
                raise invalid_parameter(f"The sandbox does not emulate UpdateClusterConfig {member}", clusterName=name)
            kind, param_type = _CLUSTER_CONFIG_UPDATES[member]
            kinds.add(kind)
            if member == "accessConfig":
                update_params.append(update_param(param_type, value.get("authenticationMode", "")))
                changes["access_config"] = {**cluster.access_config, **value}
            else:
                update_params.append(update_param(param_type, value))
                changes[xform_name(member)] = value
        if len(kinds) != 1:
            raise invalid_parameter(
                "Only one type of update can be allowed." if kinds else "No changes needed for the cluster",
                clusterName=name,
            )
        update = Update(kinds.pop(), update_params)
        return self._start_cluster_update(region, cluster, update, changes, CLUSTER_CONFIG_UPDATE_SECONDS)

    def _describe_update(self, region, access_key_id, params, environ):
        updates = self._updates_of(region, params)
        update = updates.get(params["updateId"])
        if update is None:
            raise not_found(f"No update found for ID: {params['updateId']}", clusterName=params["name"])
        return json_response({"update": update.to_json()})

    def _list_updates(self, region, access_key_id, params, environ):
        ids = list(self._updates_of(region, params))
        try:
            start = int(params.get("nextToken") or 0)
            end = start + int(params.get("maxResults") or 100)
        except ValueError:
            raise invalid_parameter("nextToken and maxResults must come from a previous ListUpdates") from None
        body = {"updateIds": ids[start:end]}
        if end < len(ids):
            body["nextToken"] = str(end)
        return json_response(body)

    def _create_nodegroup(self, region, access_key_id, params, environ):
        name = params["name"]
        cluster = self._backend(region).describe_cluster(name)
        version = params.get("version") or cluster.version
        if minor(version) > minor(cluster.version):
            raise invalid_parameter(
                f"Requested Nodegroup Kubernetes version {version} is newer than the cluster version {cluster.version}",
                clusterName=name,
            )
        if params.get("scalingConfig"):
            check_scaling(params["scalingConfig"])
        self._subnet_zones(region, params.get("subnets") or [])
        created = Response.from_app(self._moto, environ)
        if created.status_code != 200:
            return created
        ng_name = params["nodegroupName"]
        ng = cluster.nodegroups[ng_name]
        ng.version = version
        ng.release_version = params.get("releaseVersion") or release_version(version)
        # moto hands every nodegroup the same module-level default dicts and lists; an update of
        # one would change them all, so give each nodegroup its own copies.
        ng.scaling_config = dict(ng.scaling_config)
        ng.instance_types = list(ng.instance_types)
        ng.health = {"issues": []}
        ng.status = "CREATING"
        self._later(NODEGROUP_CREATE_SECONDS, self._activate_nodegroup, region, name, ng_name)
        return self._describe(environ, f"/clusters/{quote(name)}/node-groups/{quote(ng_name)}")

    def _update_nodegroup_config(self, region, access_key_id, params, environ):
        name, ng_name = params["name"], params["nodegroupName"]
        _, ng = self._nodegroup_for_update(region, name, ng_name)
        labels, taints, scaling = dict(ng.labels), [dict(t) for t in ng.taints], dict(ng.scaling_config)
        update_params = []
        label_change = params.get("labels") or {}
        add, remove = label_change.get("addOrUpdateLabels") or {}, label_change.get("removeLabels") or []
        labels.update(add)
        for key in remove:
            labels.pop(key, None)
        update_params += [update_param("LabelsToAdd", add)] if add else []
        update_params += [update_param("LabelsToRemove", remove)] if remove else []
        taint_change = params.get("taints") or {}
        add, remove = taint_change.get("addOrUpdateTaints") or [], taint_change.get("removeTaints") or []
        for taint in remove + add:  # a taint is identified by key and effect
            taints = [t for t in taints if (t["key"], t.get("effect")) != (taint["key"], taint.get("effect"))]
        taints += add
        update_params += [update_param("TaintsToAdd", add)] if add else []
        update_params += [update_param("TaintsToRemove", remove)] if remove else []
        scaling_change = params.get("scalingConfig") or {}
        scaling.update(scaling_change)
        check_scaling(scaling)
        update_params += [
            update_param(kind, str(scaling_change[key]))
            for key, kind in _SCALING_PARAMS.items()
            if key in scaling_change
        ]
        changes = {"labels": labels, "taints": taints, "scaling_config": scaling}
        for member, attribute in (("updateConfig", "update_config"), ("nodeRepairConfig", "node_repair_config")):
            if params.get(member):
                changes[attribute] = params[member]
                update_params += [
                    update_param(key[0].upper() + key[1:], str(value)) for key, value in params[member].items()
                ]
        if not update_params:
            raise invalid_parameter("No changes needed for the nodegroup", clusterName=name, nodegroupName=ng_name)
        update = Update("ConfigUpdate", update_params)
        return self._start_nodegroup_update(region, ng, update, changes, NODEGROUP_CONFIG_UPDATE_SECONDS)

    def _update_nodegroup_version(self, region, access_key_id, params, environ):
        name, ng_name = params["name"], params["nodegroupName"]
        cluster, ng = self._nodegroup_for_update(region, name, ng_name)
        version = params.get("version") or cluster.version
        ids = {"clusterName": name, "nodegroupName": ng_name}
        if minor(version) > minor(cluster.version):
            raise invalid_parameter(
                f"Requested Nodegroup Kubernetes version {version} is newer than the cluster version {cluster.version}",
                **ids,
            )
        if minor(version) < minor(ng.version):
            raise invalid_request(
                f"Nodegroup {ng_name} is at Kubernetes version {ng.version} and cannot be downgraded to {version}",
                **ids,
            )
        release = params.get("releaseVersion") or release_version(version)
        if not release.startswith(f"{version}."):
            raise invalid_parameter(
                f"Requested Nodegroup release version {release} is invalid. Allowed release version is "
                f"{release_version(version)}",
                **ids,
            )
        update = Update("VersionUpdate", [update_param("Version", version), update_param("ReleaseVersion", release)])
        changes = {"version": version, "release_version": release}
        return self._start_nodegroup_update(region, ng, update, changes, NODEGROUP_VERSION_UPDATE_SECONDS)

    def _delete_nodegroup(self, region, access_key_id, params, environ):
        name, ng_name = params["name"], params["nodegroupName"]
        ng = self._backend(region).describe_nodegroup(name, ng_name)
        if ng.status in ("CREATING", "UPDATING", "DELETING"):
            raise in_use(
                f"Nodegroup {ng_name} is {ng.status} and cannot be deleted now", clusterName=name, nodegroupName=ng_name
            )
        ng.status = "DELETING"
        self._later(NODEGROUP_DELETE_SECONDS, self._finish_nodegroup_delete, region, name, ng_name)
        return self._describe(environ, f"/clusters/{quote(name)}/node-groups/{quote(ng_name)}")

    # ---------------------------------------------------------------- request helpers
    def _backend(self, region: str):
        return eks_backends[self._account][region]

    def _backend_ec2(self, region: str):
        return ec2_backends[self._account][region]

    def _state(self, region: str, name: str) -> ClusterState:
        return self._clusters.setdefault((region, name), ClusterState())

    def _subnet_zones(self, region: str, subnet_ids: list[str]) -> dict[str, str]:
        """subnet id -> availability zone; an unknown subnet is EKS's InvalidParameterException."""
        try:
            return {sid: self._backend_ec2(region).get_subnet(sid).availability_zone for sid in subnet_ids}
        except InvalidSubnetIdError as exc:
            raise invalid_parameter(exc.message) from None

    def _describe(self, environ: dict, path: str) -> Response:
        """moto's DescribeCluster/DescribeNodegroup of the resource, which is also what EKS's
        Create*/Delete* return, so moto stays the one place that serializes its objects."""
        headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", ""), "X-Moto-Account-Id": self._account}
        return Response.from_app(self._moto, EnvironBuilder(path=path, method="GET", headers=headers).get_environ())

    def _check_cluster_updatable(self, region: str, cluster) -> None:
        state = self._state(region, cluster.name)
        if cluster.status == "UPDATING" or any(u.status == "InProgress" for u in state.updates.values()):
            raise in_use(f"Cluster {cluster.name} has an update in progress", clusterName=cluster.name)
        if cluster.status != "ACTIVE":
            raise invalid_request(CLUSTER_NOT_READY_MSG.format(clusterName=cluster.name), clusterName=cluster.name)

    def _nodegroup_for_update(self, region: str, name: str, ng_name: str):
        cluster = self._backend(region).describe_cluster(name)
        ng = self._backend(region).describe_nodegroup(name, ng_name)
        ids = {"clusterName": name, "nodegroupName": ng_name}
        pending = self._state(region, name).nodegroup_updates.get(ng_name, {}).values()
        if ng.status == "UPDATING" or any(u.status == "InProgress" for u in pending):
            raise in_use(f"Nodegroup {ng_name} has an update in progress", **ids)
        if cluster.status != "ACTIVE":
            raise in_use(f"Cluster {name} is {cluster.status}; nodegroups can be updated when it is ACTIVE", **ids)
        if ng.status not in ("ACTIVE", "DEGRADED"):
            raise invalid_request(f"Nodegroup {ng_name} is {ng.status} and cannot be updated", **ids)
        return cluster, ng

    def _updates_of(self, region: str, params: dict) -> dict[str, Update]:
        name, ng_name = params["name"], params.get("nodegroupName")
        self._backend(region).describe_cluster(name)
        state = self._state(region, name)
        if ng_name:
            self._backend(region).describe_nodegroup(name, ng_name)
            return state.nodegroup_updates.get(ng_name, {})
        return state.updates

    def _start_cluster_update(self, region, cluster, update: Update, changes: dict, seconds: float) -> Response:
        self._state(region, cluster.name).updates[update.id] = update
        cluster.status = "UPDATING"
        self._later(seconds, self._finish_cluster_update, region, cluster.name, update=update, changes=changes)
        return json_response({"update": update.to_json()})

    def _start_nodegroup_update(self, region, ng, update: Update, changes: dict, seconds: float) -> Response:
        self._state(region, ng.cluster_name).nodegroup_updates.setdefault(ng.nodegroup_name, {})[update.id] = update
        ng.status = "UPDATING"
        self._later(
            seconds,
            self._finish_nodegroup_update,
            region,
            ng.cluster_name,
            ng.nodegroup_name,
            update=update,
            changes=changes,
        )
        return json_response({"update": update.to_json()})

    # ---------------------------------------------------------------- background transitions
    def _later(self, seconds: float, job, *args, **kwargs) -> None:
        """Run `job(generation, *args, **kwargs)` after `seconds` of simulated time."""
        self._scheduler.call_later(
            scaled(seconds, self._factor), functools.partial(job, self._generation, *args, **kwargs)
        )

    def _live_cluster(self, generation: int, region: str, name: str):
        """The cluster if it still exists in this generation (callers hold the lock)."""
        if generation != self._generation:
            return None
        return self._backend(region).clusters.get(name)

    def _live_nodegroup(self, generation: int, region: str, name: str, ng_name: str):
        cluster = self._live_cluster(generation, region, name)
        return cluster.nodegroups.get(ng_name) if cluster else None

    def _fail(self, where: tuple, status: str, message: str, *resources: str, code: str = "InternalFailure"):
        """The cluster or nodegroup `where` = (generation, region, cluster, nodegroup or None), if it is
        still there, goes to `status` with one health issue (by default of EKS's own, naming itself);
        returns it (or None)."""
        generation, region, name, nodegroup = where
        with self._lock:
            if nodegroup is None:
                target = self._live_cluster(generation, region, name)
            else:
                target = self._live_nodegroup(generation, region, name, nodegroup)
            if target is not None:
                target.status = status
                target.health = failure_health(message, *(resources or [nodegroup or name]), code=code)
            return target

    def _activate_cluster(self, generation: int, region: str, name: str) -> None:
        with self._lock:
            if self._live_cluster(generation, region, name) is None:
                return
            self._started.add((region, name))
        try:
            handle = self._runtime.create_cluster("aws", region, name)
        except Exception as exc:
            log.warning("aws/%s/%s: control plane failed to start: %s", region, name, exc)
            self._fail((generation, region, name, None), "FAILED", f"Control plane failed: {exc}")
            return
        with self._lock:
            cluster = self._live_cluster(generation, region, name)
            if cluster is not None:
                cluster.endpoint = handle.endpoint
                cluster.certificate_authority = {"data": base64.b64encode(handle.ca_pem.encode()).decode()}
                cluster.status = "ACTIVE"

    def _fail_cluster(self, generation: int, region: str, name: str, *, message: str) -> None:
        """A creation a provisioning-failure fault hit: FAILED with EKS's health issue, no control plane."""
        with self._lock:
            cluster = self._live_cluster(generation, region, name)
            if cluster is None:
                return
            subnets = (cluster.resources_vpc_config or {}).get("subnetIds") or [name]
            self._fail((generation, region, name, None), "FAILED", message, *subnets, code=PROVISIONING_FAILURE_CODE)

    def _finish_cluster_delete(self, generation: int, region: str, name: str) -> None:
        with self._lock:
            if self._live_cluster(generation, region, name) is None:
                return
        try:
            self._runtime.delete_cluster("aws", region, name)
        except Exception as exc:
            log.warning("aws/%s/%s: control plane failed to stop: %s", region, name, exc)
            self._fail((generation, region, name, None), "FAILED", f"Deletion failed: {exc}")
            return
        with self._lock:
            self._started.discard((region, name))
            if self._live_cluster(generation, region, name) is not None:
                self._backend(region).delete_cluster(name)
                self._clusters.pop((region, name), None)

    def _finish_cluster_update(self, generation: int, region: str, name: str, *, update: Update, changes: dict) -> None:
        with self._lock:
            cluster = self._live_cluster(generation, region, name)
            if cluster is None:
                return
            for attribute, value in changes.items():
                setattr(cluster, attribute, value)
            cluster.status = "ACTIVE"
            update.status = "Successful"

    def _node_pool(self, region: str, ng, **changes) -> NodePool:
        zones = set()
        for subnet_id in ng.subnets or []:
            try:
                zones.add(self._backend_ec2(region).get_subnet(subnet_id).availability_zone)
            except InvalidSubnetIdError:
                continue  # deleted since; EKS would keep the nodes it has
        return node_pool(ng, region, sorted(zones), **changes)

    def _activate_nodegroup(self, generation: int, region: str, name: str, ng_name: str) -> None:
        with self._lock:
            ng = self._live_nodegroup(generation, region, name, ng_name)
            if ng is None:
                return
            pool = self._node_pool(region, ng)
        try:
            self._runtime.set_node_pool("aws", region, name, pool)
        except Exception as exc:
            log.warning("aws/%s/%s: nodegroup %s failed: %s", region, name, ng_name, exc)
            self._fail((generation, region, name, ng_name), "CREATE_FAILED", str(exc), code="NodeCreationFailure")
            return
        with self._lock:
            ng = self._live_nodegroup(generation, region, name, ng_name)
            if ng is not None:
                ng.status = "ACTIVE"

    def _finish_nodegroup_update(
        self, generation: int, region: str, name: str, ng_name: str, *, update: Update, changes: dict
    ) -> None:
        with self._lock:
            ng = self._live_nodegroup(generation, region, name, ng_name)
            if ng is None:
                return
            pool = self._node_pool(region, ng, **changes)
        try:
            self._runtime.set_node_pool("aws", region, name, pool)
        except Exception as exc:
            log.warning("aws/%s/%s: update of nodegroup %s failed: %s", region, name, ng_name, exc)
            with self._lock:
                if self._fail((generation, region, name, ng_name), "DEGRADED", str(exc)) is not None:
                    update.status = "Failed"
                    update.errors = [{"errorCode": "Unknown", "errorMessage": str(exc), "resourceIds": [ng_name]}]
            return
        with self._lock:
            ng = self._live_nodegroup(generation, region, name, ng_name)
            if ng is None:
                return
            for attribute, value in changes.items():
                setattr(ng, attribute, value)
            ng.modified_at = utcnow()
            ng.health = {"issues": []}
            ng.status = "ACTIVE"
            update.status = "Successful"

    def _finish_nodegroup_delete(self, generation: int, region: str, name: str, ng_name: str) -> None:
        with self._lock:
            if self._live_nodegroup(generation, region, name, ng_name) is None:
                return
        try:
            self._runtime.delete_node_pool("aws", region, name, ng_name)
        except Exception as exc:
            log.warning("aws/%s/%s: deleting nodegroup %s failed: %s", region, name, ng_name, exc)
            self._fail((generation, region, name, ng_name), "DELETE_FAILED", str(exc))
            return
        with self._lock:
            if self._live_nodegroup(generation, region, name, ng_name) is not None:
                self._backend(region).delete_nodegroup(name, ng_name)
                self._state(region, name).nodegroup_updates.pop(ng_name, None)
