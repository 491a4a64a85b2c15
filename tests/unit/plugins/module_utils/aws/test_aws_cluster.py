# -*- coding: utf-8 -*-
"""EKS: translation to and from the portable shape, request bodies, status mapping, the EKS token,
and the adapter's waiting logic against a scripted in-memory EKS (fake clock, no network)."""

from __future__ import annotations

import base64
import copy
import itertools
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.aws import cluster as C
from ansible_collections.multicloud.fabric.plugins.module_utils.aws import cluster_shape as S
from ansible_collections.multicloud.fabric.plugins.module_utils.aws import credentials as K
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import Connection
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import plan_cluster
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import Deadline, Retrier

ROLE = "arn:aws:iam::123456789012:role/eks"
NODE_ROLE = "arn:aws:iam::123456789012:role/node"

CLUSTER = {
    "name": "prod",
    "arn": "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
    "version": "1.31",
    "platformVersion": "eks.7",
    "status": "ACTIVE",
    "endpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
    "certificateAuthority": {"data": "Q0E="},
    "roleArn": ROLE,
    "resourcesVpcConfig": {
        "vpcId": "vpc-1",
        "subnetIds": ["subnet-b", "subnet-a"],
        "securityGroupIds": ["sg-1"],
        "clusterSecurityGroupId": "sg-eks",
        "endpointPublicAccess": True,
        "endpointPrivateAccess": True,
    },
    "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16"},
    "tags": {"team": "a", "aws:cloudformation:stack-name": "x"},
    "health": {"issues": []},
}
NODEGROUP = {
    "nodegroupName": "workers",
    "clusterName": "prod",
    "version": "1.31",
    "status": "ACTIVE",
    "capacityType": "SPOT",
    "scalingConfig": {"minSize": 1, "maxSize": 5, "desiredSize": 3},
    "instanceTypes": ["m5.large"],
    "diskSize": 50,
    "nodeRole": NODE_ROLE,
    "labels": {"tier": "app"},
    "taints": [{"key": "dedicated", "value": "gpu", "effect": "NO_SCHEDULE"}],
    "health": {"issues": []},
}


def desired_cluster(**extra):
    base = {
        "cloud": "aws",
        "region": "eu-west-1",
        "name": "prod",
        "kubernetes_version": "1.31",
        "endpoint_access": "public",
        "tags": {"team": "a"},
        "purge_tags": True,
        "node_pools": [
            {
                "name": "workers",
                "count": 3,
                "min_count": None,
                "max_count": None,
                "machine_type": "m5.large",
                "labels": {"tier": "app"},
                "taints": [],
                "spot": False,
                "disk_size_gb": None,
            }
        ],
        "network": {"id": "vpc-1", "subnet_ids": ["subnet-a", "subnet-b"], "pods_range": None, "services_range": None},
        "provider": {"role_arn": ROLE, "node_role_arn": NODE_ROLE, "security_group_ids": []},
    }
    base.update(extra)
    return base


# --------------------------------------------------------------------------- pure translation


@pytest.mark.parametrize(
    ("raw", "portable"),
    [
        ("CREATING", "CREATING"),
        ("PENDING", "CREATING"),
        ("ACTIVE", "ACTIVE"),
        ("UPDATING", "UPDATING"),
        ("DELETING", "DELETING"),
        ("FAILED", "FAILED"),
    ],
)
def test_cluster_status(raw, portable):
    assert S.cluster_status(raw) == portable


@pytest.mark.parametrize(
    ("raw", "portable"),
    [
        ("CREATING", "CREATING"),
        ("ACTIVE", "ACTIVE"),
        ("UPDATING", "UPDATING"),
        ("DELETING", "DELETING"),
        ("CREATE_FAILED", "FAILED"),
        ("DELETE_FAILED", "FAILED"),
        ("DEGRADED", "FAILED"),
    ],
)
def test_nodegroup_status(raw, portable):
    assert S.nodegroup_status(raw) == portable


def test_health_message_joins_codes_and_messages():
    assert S.health_message({"health": {"issues": []}}) == ""
    assert S.health_message({}) == ""
    obj = {
        "health": {
            "issues": [
                {"code": "Ec2SubnetInvalidConfiguration", "message": "subnet has no public IPs"},
                {"code": "AccessDenied"},
            ]
        }
    }
    assert S.health_message(obj) == "Ec2SubnetInvalidConfiguration: subnet has no public IPs; AccessDenied"


def test_aws_provider_accepts_flat_and_nested():
    flat = {"provider": {"role_arn": ROLE, "node_role_arn": NODE_ROLE, "security_group_ids": ["sg-1"]}}
    nested = {"provider": {"aws": flat["provider"], "gcp": {"project": "p"}}}
    expected = {"role_arn": ROLE, "node_role_arn": NODE_ROLE, "security_group_ids": ["sg-1"]}
    assert S.aws_provider(flat) == S.aws_provider(nested) == expected
    assert S.aws_provider({}) == {"role_arn": None, "node_role_arn": None, "security_group_ids": []}


def test_taints_map_both_ways():
    portable = {"key": "k", "value": "v", "effect": "PreferNoSchedule"}
    assert S.taint_to_eks(portable) == {"key": "k", "value": "v", "effect": "PREFER_NO_SCHEDULE"}
    assert S.taint_from_eks(S.taint_to_eks(portable)) == portable
    assert S.taint_to_eks({"key": "k", "value": "", "effect": "NoExecute"}) == {"key": "k", "effect": "NO_EXECUTE"}
    assert S.taint_from_eks({"key": "k", "effect": "NO_SCHEDULE"}) == {"key": "k", "value": "", "effect": "NoSchedule"}


def test_scaling_config_and_fixed_size():
    assert S.scaling_config(3) == {"minSize": 3, "maxSize": 3, "desiredSize": 3}
    assert S.scaling_config(3, 1, None) == {"minSize": 3, "maxSize": 3, "desiredSize": 3}
    assert S.scaling_config(3, 1, 5) == {"minSize": 1, "maxSize": 5, "desiredSize": 3}
    assert S.scaling_config(0) == {"minSize": 0, "maxSize": 1, "desiredSize": 0}  # EKS: maxSize >= 1
    assert S.is_fixed_size(3, 3, 3) and S.is_fixed_size(0, 1, 0)
    assert not S.is_fixed_size(1, 5, 3)


def test_nodegroup_to_pool():
    assert S.nodegroup_to_pool(NODEGROUP) == {
        "name": "workers",
        "count": 3,
        "min_count": 1,
        "max_count": 5,
        "machine_type": "m5.large",
        "labels": {"tier": "app"},
        "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
        "spot": True,
        "disk_size_gb": 50,
        "version": "1.31",
        "status": "ACTIVE",
        "provider_status": "ACTIVE",
        "status_message": "",
    }
    fixed = {**NODEGROUP, "scalingConfig": {"minSize": 2, "maxSize": 2, "desiredSize": 2}, "diskSize": "20"}
    health = {"issues": [{"code": "AsgInstanceLaunchFailures", "message": "no capacity"}]}
    pool = S.nodegroup_to_pool({**fixed, "status": "DEGRADED", "capacityType": "ON_DEMAND", "health": health})
    assert pool["status_message"] == "AsgInstanceLaunchFailures: no capacity"
    assert (pool["count"], pool["min_count"], pool["max_count"]) == (2, None, None)
    assert (pool["disk_size_gb"], pool["spot"], pool["status"], pool["provider_status"]) == (
        20,
        False,
        "FAILED",
        "DEGRADED",
    )


def test_cluster_to_portable():
    shape = S.cluster_to_portable(CLUSTER, [NODEGROUP], "eu-west-1", {"purge_tags": True})
    assert shape == {
        "cloud": "aws",
        "region": "eu-west-1",
        "name": "prod",
        "id": CLUSTER["arn"],
        "kubernetes_version": "1.31",
        "version_full": "1.31-eks.7",
        "endpoint_access": "public",
        "tags": {"team": "a"},
        "purge_tags": True,
        "node_pools": [S.nodegroup_to_pool(NODEGROUP)],
        "network": {
            "id": "vpc-1",
            "subnet_ids": ["subnet-a", "subnet-b"],
            "pods_range": None,
            "services_range": "172.20.0.0/16",
        },
        "provider": {"role_arn": ROLE, "node_role_arn": NODE_ROLE, "security_group_ids": ["sg-1"]},
        "status": "ACTIVE",
        "provider_status": "ACTIVE",
        "status_message": "",
        "endpoint": CLUSTER["endpoint"],
        "ca_data": "Q0E=",
        "raw": CLUSTER,
    }
    private = {**CLUSTER, "resourcesVpcConfig": {"endpointPublicAccess": False}, "status": "CREATING"}
    private.pop("endpoint")
    shape = S.cluster_to_portable(private, [], "eu-west-1")
    assert (shape["endpoint_access"], shape["status"], shape["endpoint"]) == ("private", "CREATING", None)
    assert shape["provider"]["node_role_arn"] is None and shape["purge_tags"] is False


def test_cluster_request():
    assert S.cluster_request(desired_cluster()) == {
        "name": "prod",
        "roleArn": ROLE,
        "version": "1.31",
        "tags": {"team": "a"},
        "resourcesVpcConfig": {
            "subnetIds": ["subnet-a", "subnet-b"],
            "endpointPublicAccess": True,
            "endpointPrivateAccess": True,
        },
    }
    request = S.cluster_request(
        desired_cluster(
            kubernetes_version=None,
            endpoint_access="private",
            tags={"aws:x": "no"},
            provider={"aws": {"role_arn": ROLE, "security_group_ids": ["sg-1"]}},
            network={"subnet_ids": ["s1", "s2"], "services_range": "10.100.0.0/16"},
        )
    )
    assert "version" not in request and "tags" not in request
    assert request["resourcesVpcConfig"] == {
        "subnetIds": ["s1", "s2"],
        "endpointPublicAccess": False,
        "endpointPrivateAccess": True,
        "securityGroupIds": ["sg-1"],
    }
    assert request["kubernetesNetworkConfig"] == {"serviceIpv4Cidr": "10.100.0.0/16"}


def test_nodegroup_request():
    pool = {
        "name": "gpu",
        "count": 2,
        "min_count": 1,
        "max_count": 4,
        "machine_type": "g5.xlarge",
        "labels": {"gpu": "true"},
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        "spot": True,
        "disk_size_gb": 100,
    }
    assert S.nodegroup_request("prod", pool, ["subnet-a"], NODE_ROLE) == {
        "clusterName": "prod",
        "nodegroupName": "gpu",
        "scalingConfig": {"minSize": 1, "maxSize": 4, "desiredSize": 2},
        "subnets": ["subnet-a"],
        "nodeRole": NODE_ROLE,
        "capacityType": "SPOT",
        "instanceTypes": ["g5.xlarge"],
        "labels": {"gpu": "true"},
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
        "diskSize": 100,
    }
    plain = S.nodegroup_request("prod", desired_cluster()["node_pools"][0], ["s"], NODE_ROLE)
    assert plain["capacityType"] == "ON_DEMAND" and "taints" not in plain and "diskSize" not in plain


def test_label_and_taint_changes():
    assert S.label_changes({"a": "1", "b": "2"}, {"a": "1", "b": "2"}) is None
    assert S.label_changes({"a": "1", "b": "2"}, {"a": "9", "c": "3"}) == {
        "addOrUpdateLabels": {"a": "9", "c": "3"},
        "removeLabels": ["b"],
    }
    old = [{"key": "k", "value": "v", "effect": "NoSchedule"}, {"key": "x", "value": "", "effect": "NoExecute"}]
    new = [{"key": "k", "value": "w", "effect": "NoSchedule"}, {"key": "x", "value": "", "effect": "NoSchedule"}]
    assert S.taint_changes(old, old) is None
    assert S.taint_changes(old, new) == {
        "addOrUpdateTaints": [
            {"key": "k", "value": "w", "effect": "NO_SCHEDULE"},
            {"key": "x", "effect": "NO_SCHEDULE"},
        ],
        "removeTaints": [{"key": "x", "effect": "NO_EXECUTE"}],
    }


def test_nodegroup_update_request():
    pool = S.nodegroup_to_pool(NODEGROUP)  # autoscaling 1..5, 3 nodes
    assert S.nodegroup_update_request("prod", pool, {"count": 4}) == {
        "clusterName": "prod",
        "nodegroupName": "workers",
        "scalingConfig": {"minSize": 1, "maxSize": 5, "desiredSize": 4},
    }
    off = S.nodegroup_update_request("prod", pool, {"min_count": None, "max_count": None})
    assert off["scalingConfig"] == {"minSize": 3, "maxSize": 3, "desiredSize": 3}
    both = S.nodegroup_update_request("prod", pool, {"labels": {}, "taints": []})
    assert both["labels"] == {"removeLabels": ["tier"]}
    assert both["taints"] == {"removeTaints": [{"key": "dedicated", "value": "gpu", "effect": "NO_SCHEDULE"}]}
    assert "scalingConfig" not in both
    assert S.nodegroup_update_request("prod", pool, {"labels": {"tier": "app"}}) is None


def test_exec_user_passes_profile_endpoint_and_ca_but_no_secret():
    user = K.exec_user("eu-west-1", "prod", {"aws_secret_key": "s3cr3t"})
    assert user == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod", "--output", "json"],
            "env": [],
            "interactiveMode": "Never",
        }
    }
    params = {"aws_profile": "ops", "aws_endpoint_url": "https://sts.example", "aws_ca_bundle": "/ca.pem"}
    assert K.exec_user("eu-west-1", "prod", params)["exec"]["env"] == [
        {"name": "AWS_PROFILE", "value": "ops"},
        {"name": "AWS_ENDPOINT_URL_STS", "value": "https://sts.example"},
        {"name": "AWS_CA_BUNDLE", "value": "/ca.pem"},
    ]


# --------------------------------------------------------------------------- the EKS token


def _sts(endpoint_url=None, token=None):
    botocore_session = pytest.importorskip("botocore.session")
    session = botocore_session.get_session()
    session.set_credentials("AKIAEXAMPLEKEY000001", "example-secret", token)
    return session.create_client("sts", region_name="eu-west-1", endpoint_url=endpoint_url)


def _decode(token):
    assert token.startswith("k8s-aws-v1.")
    body = token[len("k8s-aws-v1.") :]
    assert "=" not in body
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_eks_token_is_a_presigned_get_caller_identity_bound_to_the_cluster():
    sts = _sts()
    url = urlsplit(_decode(K.eks_token(sts, "prod")))
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert url.scheme == "https" and url.netloc == "sts.eu-west-1.amazonaws.com"
    assert query["Action"] == "GetCallerIdentity"
    assert query["X-Amz-Expires"] == "60"
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    assert query["X-Amz-Credential"].startswith("AKIAEXAMPLEKEY000001/")
    assert "/eu-west-1/sts/aws4_request" in query["X-Amz-Credential"]
    # the header handler is gone again: a plain presign of the same client names no cluster
    plain = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    assert "x-k8s-aws-id" not in plain


def test_eks_token_passes_the_sandbox_verifier_for_its_cluster_only():
    """The sandbox checks SigV4 like EKS: a token made here must verify, for this cluster only."""
    auth = pytest.importorskip("mc_sandbox.clouds.aws.auth")
    sts = _sts("http://127.0.0.1:4566")
    token = K.eks_token(sts, "prod")

    def verify(name):
        return auth.verify_eks_token(
            token,
            cluster_name=name,
            hosts={"127.0.0.1:4566"},
            secret_for=lambda key, session_token: "example-secret" if key == "AKIAEXAMPLEKEY000001" else None,
        )

    assert verify("prod").access_key_id == "AKIAEXAMPLEKEY000001"
    assert verify("other") is None


def test_eks_token_carries_the_session_token_of_temporary_credentials():
    url = _decode(K.eks_token(_sts(token="session-token-value"), "prod"))
    assert parse_qs(urlsplit(url).query)["X-Amz-Security-Token"] == ["session-token-value"]


# --------------------------------------------------------------------------- the adapter, scripted


class AwsError(Exception):
    """Shaped like botocore's ClientError, which is all the classifier looks at."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}


class FakeEks:
    """An in-memory EKS whose resources move one scripted status per Describe call."""

    def __init__(self):
        self.clusters = {}
        self.nodegroups = {}
        self.updates = {}
        self.ids = itertools.count(1)
        self.ng_script = ["CREATING", "ACTIVE"]
        self.ng_failure = None

    @staticmethod
    def _advance(obj):
        script = obj.get("_script")
        if script:
            step = script.pop(0)
            if isinstance(step, dict):
                obj.update(step)
            else:
                obj["status"] = step

    @staticmethod
    def _public(obj):
        return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}

    def _cluster(self, name):
        if name not in self.clusters:
            raise AwsError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
        return self.clusters[name]

    def CreateCluster(self, params):
        cluster = {
            **copy.deepcopy(CLUSTER),
            "name": params["name"],
            "status": "CREATING",
            "tags": params.get("tags", {}),
        }
        cluster["_script"] = ["CREATING", "CREATING", "ACTIVE"]
        self.clusters[params["name"]] = cluster
        return {"cluster": self._public(cluster)}

    def DescribeCluster(self, params):
        cluster = self._cluster(params["name"])
        self._advance(cluster)
        if cluster["status"] is None:
            del self.clusters[params["name"]]
            raise AwsError("ResourceNotFoundException", "gone", 404)
        return {"cluster": self._public(cluster)}

    def DeleteCluster(self, params):
        cluster = self._cluster(params["name"])
        if any(key[0] == params["name"] for key in self.nodegroups):
            raise AwsError("ResourceInUseException", "Cluster has nodegroups attached", 409)
        cluster["status"] = "DELETING"
        cluster["_script"] = ["DELETING", None]
        return {"cluster": self._public(cluster)}

    def ListNodegroups(self, params):
        self._cluster(params["clusterName"])
        return {"nodegroups": sorted(ng for cl, ng in self.nodegroups if cl == params["clusterName"])}

    def CreateNodegroup(self, params):
        cluster = self._cluster(params["clusterName"])
        assert cluster["status"] == "ACTIVE", "EKS refuses node groups before the cluster is ACTIVE"
        ng = {
            **copy.deepcopy(NODEGROUP),
            "nodegroupName": params["nodegroupName"],
            "scalingConfig": params["scalingConfig"],
            "labels": params.get("labels", {}),
            "taints": params.get("taints", []),
            "capacityType": params["capacityType"],
            "status": "CREATING",
            "_script": list(self.ng_script),
        }
        self.nodegroups[(params["clusterName"], params["nodegroupName"])] = ng
        return {"nodegroup": self._public(ng)}

    def DescribeNodegroup(self, params):
        key = (params["clusterName"], params["nodegroupName"])
        if key not in self.nodegroups:
            raise AwsError("ResourceNotFoundException", "No node group found", 404)
        ng = self.nodegroups[key]
        self._advance(ng)
        if ng["status"] is None:
            del self.nodegroups[key]
            raise AwsError("ResourceNotFoundException", "No node group found", 404)
        return {"nodegroup": self._public(ng)}

    def DeleteNodegroup(self, params):
        ng = self.nodegroups[(params["clusterName"], params["nodegroupName"])]
        if ng["status"] in ("CREATING", "UPDATING", "DELETING"):
            raise AwsError("ResourceInUseException", f"Nodegroup is {ng['status']}", 409)
        ng["status"] = "DELETING"
        ng["_script"] = ["DELETING", None]
        return {"nodegroup": self._public(ng)}

    def _start_update(self, script):
        update_id = f"u-{next(self.ids)}"
        self.updates[update_id] = {"id": update_id, "status": "InProgress", "errors": [], "_script": script}
        return {"update": self._public(self.updates[update_id])}

    def UpdateClusterVersion(self, params):
        self._cluster(params["name"])["version"] = params["version"]
        return self._start_update(["InProgress", "InProgress", "Successful"])

    def UpdateNodegroupConfig(self, params):
        ng = self.nodegroups[(params["clusterName"], params["nodegroupName"])]
        ng["scalingConfig"] = params.get("scalingConfig", ng["scalingConfig"])
        return self._start_update(["InProgress", "Successful"])

    def DescribeUpdate(self, params):
        update = self.updates[params["updateId"]]
        self._advance(update)
        return {"update": self._public(update)}

    def TagResource(self, params):
        next(c for c in self.clusters.values() if c["arn"] == params["resourceArn"])["tags"].update(params["tags"])
        return {}

    def UntagResource(self, params):
        tags = next(c for c in self.clusters.values() if c["arn"] == params["resourceArn"])["tags"]
        for key in params["tagKeys"]:
            tags.pop(key, None)
        return {}


class FakeConn:
    """What Clusters needs of a Connection, over FakeEks; waiting comes from the real Connection."""

    cloud = "aws"
    region = "eu-west-1"
    poll_interval = 5.0
    waiter = Connection.waiter
    wait = Connection.wait
    deadline = Connection.deadline

    def __init__(self, eks, clock):
        self.eks = eks
        self.params = {}
        self.retrier = Retrier("aws", clock=clock, sleep=clock.sleep)
        self.calls = []

    def api(self, service, operation, params=None, *, region=None, resource=None, eventual=False):
        assert service == "eks"
        self.calls.append(operation)
        return self.retrier.call(getattr(self.eks, operation), params or {}, resource=resource, call=operation)

    def paginate(self, service, operation, key, params=None, *, region=None, resource=None):
        return self.api(service, operation, params, region=region, resource=resource)[key]


@pytest.fixture
def eks():
    return FakeEks()


@pytest.fixture
def clusters(eks, clock):
    return C.Clusters(FakeConn(eks, clock))


def run(clusters, action, desired, clock, current=None):
    clusters.apply(action, desired, current)
    return clusters.wait(desired, action, Deadline(3600, clock))


def create(clusters, desired, clock):
    """Create the cluster as mc_cluster does: every action of the plan, each waited for."""
    current = None
    for action in plan_cluster(None, desired):
        current = run(clusters, action, desired, clock, current)
    return current


WRITES = ("Create", "Update", "Delete", "Tag", "Untag")


def test_create_cluster_then_node_groups_once_active(clusters, eks, clock):
    desired = desired_cluster()
    actions = plan_cluster(None, desired)
    assert actions == [{"action": "create_cluster"}, {"action": "create_node_pool", "pool": desired["node_pools"][0]}]
    clusters.apply(actions[0], desired, None)
    assert clusters.conn.calls == ["CreateCluster"]  # apply only starts the control plane
    shape = clusters.wait(desired, actions[0], Deadline(3600, clock))
    assert (shape["status"], shape["node_pools"]) == ("ACTIVE", [])
    # Waiting only reads: the node group is the next action's write.
    assert [c for c in clusters.conn.calls if c.startswith(WRITES)] == ["CreateCluster"]
    shape = run(clusters, actions[1], desired, clock, shape)
    assert [(p["name"], p["count"], p["status"]) for p in shape["node_pools"]] == [("workers", 3, "ACTIVE")]
    assert [c for c in clusters.conn.calls if c.startswith(WRITES)] == ["CreateCluster", "CreateNodegroup"]
    assert clock.sleeps and all(s >= 5.0 for s in clock.sleeps)


def test_a_failed_node_group_stops_the_wait_with_eks_health_text(clusters, eks, clock):
    eks.ng_script = [
        "CREATING",
        {
            "status": "CREATE_FAILED",
            "health": {"issues": [{"code": "NodeCreationFailure", "message": "Instances failed to join the cluster"}]},
        },
    ]
    with pytest.raises(E.ResourceFailedError) as info:
        create(clusters, desired_cluster(), clock)
    error = info.value
    assert (error.cloud, error.resource, error.code) == ("aws", "eks cluster prod", "FAILED")
    assert "node group workers is CREATE_FAILED: NodeCreationFailure: Instances failed to join the cluster" in str(
        error
    )


def test_a_failed_cluster_stops_the_wait_with_eks_health_text(clusters, eks, clock):
    clusters.apply({"action": "create_cluster"}, desired_cluster(), None)
    eks.clusters["prod"]["_script"] = [
        {"status": "FAILED", "health": {"issues": [{"code": "AccessDenied", "message": "role cannot be assumed"}]}}
    ]
    with pytest.raises(E.ResourceFailedError) as info:
        clusters.wait(desired_cluster(), {"action": "create_cluster"}, Deadline(3600, clock))
    assert "AccessDenied: role cannot be assumed" in str(info.value)
    assert "CreateNodegroup" not in clusters.conn.calls


def test_upgrade_waits_for_the_update_even_while_the_status_still_says_active(clusters, eks, clock):
    desired = desired_cluster()
    create(clusters, desired, clock)
    clusters.conn.calls.clear()
    shape = run(clusters, {"action": "upgrade_control_plane", "version": "1.32"}, desired, clock)
    assert clusters.conn.calls.count("DescribeUpdate") == 3
    assert shape["kubernetes_version"] == "1.32"


def test_a_failed_update_stops_with_its_errors(clusters, eks, clock):
    desired = desired_cluster()
    create(clusters, desired, clock)
    clusters.apply({"action": "update_node_pool", "pool": "workers", "changes": {"count": 5}}, desired, None)
    update = next(iter(eks.updates.values()))
    update["_script"] = [
        {"status": "Failed", "errors": [{"errorCode": "NodeCreationFailure", "errorMessage": "capacity"}]}
    ]
    with pytest.raises(E.ResourceFailedError) as info:
        clusters.wait(desired, {"action": "update_node_pool", "pool": "workers"}, Deadline(3600, clock))
    assert info.value.resource == "eks nodegroup prod/workers"
    assert "NodeCreationFailure: capacity" in str(info.value)


def test_update_node_pool_without_a_real_change_sends_nothing(clusters, eks, clock):
    desired = desired_cluster()
    create(clusters, desired, clock)
    clusters.conn.calls.clear()
    clusters.apply(
        {"action": "update_node_pool", "pool": "workers", "changes": {"labels": {"tier": "app"}}}, desired, None
    )
    assert "UpdateNodegroupConfig" not in clusters.conn.calls


def test_delete_cluster_deletes_node_groups_first_and_waits_for_busy_ones(clusters, eks, clock):
    desired = desired_cluster()
    create(clusters, desired, clock)
    run(clusters, {"action": "create_node_pool", "pool": {**desired["node_pools"][0], "name": "b"}}, desired, clock)
    eks.nodegroups[("prod", "b")].update(status="UPDATING", _script=["UPDATING", "UPDATING", "ACTIVE"])
    clusters.conn.calls.clear()
    assert run(clusters, {"action": "delete_cluster"}, desired, clock) is None
    calls = clusters.conn.calls
    assert calls.count("DeleteNodegroup") == 2
    assert calls.index("DeleteCluster") > max(i for i, c in enumerate(calls) if c == "DeleteNodegroup")
    assert eks.clusters == {} and eks.nodegroups == {}
    assert clusters.read(desired) is None


def test_delete_and_create_node_pool_wait_for_the_pool(clusters, eks, clock):
    desired = desired_cluster()
    create(clusters, desired, clock)
    extra = {**desired["node_pools"][0], "name": "extra", "spot": True}
    shape = run(clusters, {"action": "create_node_pool", "pool": extra}, desired, clock)
    assert [p["name"] for p in shape["node_pools"]] == ["extra", "workers"]
    shape = run(clusters, {"action": "delete_node_pool", "pool": "extra"}, desired, clock)
    assert [p["name"] for p in shape["node_pools"]] == ["workers"]


def test_update_tags_leaves_aws_tags_alone(clusters, eks, clock):
    desired = desired_cluster()
    current = create(clusters, desired, clock)
    eks.clusters["prod"]["tags"]["aws:eks:x"] = "1"
    shape = run(
        clusters,
        {"action": "update_tags", "set": {"env": "prod"}, "remove": ["team", "aws:eks:x"], "tags": {"env": "prod"}},
        desired,
        clock,
        current,
    )
    assert shape["tags"] == {"env": "prod"}
    assert eks.clusters["prod"]["tags"]["aws:eks:x"] == "1"


def test_create_needs_the_role_arns(clusters):
    with pytest.raises(E.ValidationError) as info:
        clusters.apply({"action": "create_cluster"}, desired_cluster(provider={"aws": {}}), None)
    assert info.value.field == "aws.role_arn"
    with pytest.raises(E.ValidationError) as info:
        clusters.apply({"action": "create_cluster"}, desired_cluster(provider={"role_arn": ROLE}), None)
    assert info.value.field == "aws.node_role_arn"
    assert clusters.conn.calls == []


def test_read_and_list(clusters, eks, clock):
    assert clusters.read(desired_cluster()) is None
    create(clusters, desired_cluster(), clock)
    eks.ListClusters = lambda params: {"clusters": ["prod"]}
    assert [c["name"] for c in clusters.list()] == ["prod"]


def test_kube_user_modes(clusters):
    current = {"region": "eu-west-1", "name": "prod"}
    assert clusters.kube_user(current, mode="exec")["exec"]["args"][1] == "eu-west-1"
    with pytest.raises(ValueError, match="mode"):
        clusters.kube_user(current, mode="nope")


def test_kube_user_token_from_the_connection_credentials():
    pytest.importorskip("boto3")
    params = {"aws_access_key": "AKIAEXAMPLEKEY000001", "aws_secret_key": "example-secret"}
    conn = Connection(params, Retrier("aws"), "us-east-1")
    user = C.Clusters(conn).kube_user({"region": "eu-west-1", "name": "prod"})
    assert set(user) == {"token"}
    url = urlsplit(_decode(user["token"]))
    assert url.netloc == "sts.eu-west-1.amazonaws.com"
    assert "example-secret" not in user["token"]


# --------------------------------------------------------------------------- interrupted creates


class Killed(BaseException):
    """The run dies here: no ``except Exception`` catches it, nothing after it runs."""


def two_pools():
    first = desired_cluster()["node_pools"][0]
    return desired_cluster(node_pools=[first, {**first, "name": "batch", "count": 1}])


@pytest.mark.parametrize("operation", ["CreateCluster", "CreateNodegroup"])
def test_a_run_killed_between_the_cluster_and_its_node_groups_converges_on_rerun(
    clusters, eks, clock, monkeypatch, operation
):
    """EKS creates the cluster, then (once ACTIVE) one node group per pool: a run killed in
    between is finished by the next one, which finds both by name and creates nothing twice."""
    desired = two_pools()
    real = clusters.conn.api
    seen = []

    def api(service, op, params=None, **kwargs):
        answer = real(service, op, params, **kwargs)
        if op == operation:
            seen.append(op)
            if len(seen) == 1:
                monkeypatch.setattr(clusters.conn, "api", real)
                raise Killed(op)
        return answer

    monkeypatch.setattr(clusters.conn, "api", api)
    with pytest.raises(Killed):
        create(clusters, desired, clock)
    # the rerun: settle what the killed run left busy, then plan and act as mc_cluster does
    deadline = Deadline(3600, clock)
    current = clusters.conn.wait(
        clusters.conn.waiter("eks cluster prod", state_of=lambda c: c["status"], success=("ACTIVE",)),
        lambda: clusters.read(desired),
        deadline,
    )
    for action in plan_cluster(current, desired):
        clusters.apply(action, desired, current)
        current = clusters.wait(desired, action, deadline)
    assert plan_cluster(clusters.read(desired), desired) == []
    assert list(eks.clusters) == ["prod"]
    assert sorted(eks.nodegroups) == [("prod", "batch"), ("prod", "workers")]
    assert clusters.conn.calls.count("CreateCluster") == 1
    assert clusters.conn.calls.count("CreateNodegroup") == 2
