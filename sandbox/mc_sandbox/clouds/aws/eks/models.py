"""EKS's rules and records as the sandbox applies them: timings, defaults, errors, validation, updates."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from werkzeug.wrappers import Response

from mc_sandbox.core.runtime import NodePool

# How long each operation really takes on EKS (seconds); the sandbox scales them by its time factor.
CLUSTER_CREATE_SECONDS = 600
CLUSTER_DELETE_SECONDS = 300
CLUSTER_VERSION_UPDATE_SECONDS = 1800
CLUSTER_CONFIG_UPDATE_SECONDS = 300
NODEGROUP_CREATE_SECONDS = 180
NODEGROUP_CONFIG_UPDATE_SECONDS = 120
NODEGROUP_VERSION_UPDATE_SECONDS = 600
NODEGROUP_DELETE_SECONDS = 300

# The version EKS gets when CreateCluster names none: the minor the sandbox's control planes run
# (k8s.io/kubernetes in mc_sandbox/kube/go.mod), so the two agree by default.
DEFAULT_VERSION = "1.33"
DEFAULT_INSTANCE_TYPE = "t3.medium"
# Release versions look like EKS AMI releases: <kubernetes version>.<patch>-<build date>.
AMI_BUILD_DATE = "20250101"

TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


class EksError(Exception):
    """An EKS error response: HTTP status, the error type boto3 reports as the code, a message."""

    def __init__(self, status: int, code: str, message: str, **fields):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def response(self) -> Response:
        body = json.dumps({"message": self.message, **self.fields})
        return Response(
            body, status=self.status, headers={"x-amzn-ErrorType": self.code}, content_type="application/json"
        )


def invalid_parameter(message: str, **fields) -> EksError:
    return EksError(400, "InvalidParameterException", message, **fields)


def invalid_request(message: str, **fields) -> EksError:
    return EksError(400, "InvalidRequestException", message, **fields)


def in_use(message: str, **fields) -> EksError:
    return EksError(409, "ResourceInUseException", message, **fields)


def not_found(message: str, **fields) -> EksError:
    return EksError(404, "ResourceNotFoundException", message, **fields)


def minor(version: str) -> int:
    """The minor of an EKS version ("1.31" -> 31); EKS versions are always 1.<minor>."""
    match = re.fullmatch(r"1\.(\d+)", version or "")
    if not match:
        raise invalid_parameter(f"unsupported Kubernetes version {version!r}")
    return int(match.group(1))


def release_version(version: str) -> str:
    return f"{version}.0-{AMI_BUILD_DATE}"


def failure_health(message: str, *resources: str, code: str = "InternalFailure") -> dict:
    """EKS's `health` of a cluster or nodegroup that failed (by default for a reason of the service's own)."""
    return {"issues": [{"code": code, "message": message, "resourceIds": list(resources)}]}


def update_param(kind: str, value) -> dict[str, str]:
    return {"type": kind, "value": value if isinstance(value, str) else json.dumps(value)}


def check_scaling(scaling: dict) -> None:
    low, high, desired = scaling.get("minSize", 0), scaling.get("maxSize", 1), scaling.get("desiredSize", 0)
    if low < 0 or high < 1:
        raise invalid_parameter("minSize must be >= 0 and maxSize must be >= 1")
    if low > high:
        raise invalid_parameter(f"Minimum capacity {low} can't be greater than maximum capacity {high}")
    if desired > high:
        raise invalid_parameter(f"desired capacity {desired} can't be greater than max size {high}")
    if desired < low:
        raise invalid_parameter(f"Minimum capacity {low} can't be greater than desired size {desired}")


@dataclass
class Update:
    """One EKS update (DescribeUpdate's `update`); EKS keeps them after they finish."""

    type: str
    params: list[dict[str, str]]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "InProgress"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    errors: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": self.params,
            "createdAt": self.created_at.timestamp(),
            "errors": self.errors,
        }


@dataclass
class ClusterState:
    """What the sandbox knows about a cluster beyond moto's object."""

    creator_arn: str | None = None
    creator_is_admin: bool = True  # accessConfig.bootstrapClusterCreatorAdminPermissions
    updates: dict[str, Update] = field(default_factory=dict)
    nodegroup_updates: dict[str, dict[str, Update]] = field(default_factory=dict)


def node_pool(ng, region: str, zones: list[str], **changes) -> NodePool:
    """The runtime's view of a moto nodegroup, with `changes` (labels, taints, scaling_config)
    applied: the nodegroup's labels plus those EKS puts on every node, taints in Kubernetes' spelling."""
    labels = changes.get("labels", ng.labels)
    taints = changes.get("taints", ng.taints)
    scaling = changes.get("scaling_config", ng.scaling_config)
    instance_type = (ng.instance_types or [DEFAULT_INSTANCE_TYPE])[0]
    return NodePool(
        name=ng.nodegroup_name,
        count=int(scaling.get("desiredSize", 0)),
        instance_type=instance_type,
        labels={
            **labels,
            "eks.amazonaws.com/nodegroup": ng.nodegroup_name,
            "eks.amazonaws.com/capacityType": ng.capacity_type,
            "node.kubernetes.io/instance-type": instance_type,
            "topology.kubernetes.io/region": region,
        },
        taints=[{"key": t["key"], "value": t.get("value", ""), "effect": TAINT_EFFECTS[t["effect"]]} for t in taints],
        zones=zones,
    )


def json_response(body: dict) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")
