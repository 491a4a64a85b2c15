"""The sandbox's AWS through boto3, the way the collection talks to it, with a fake Kubernetes runtime."""

from __future__ import annotations

import base64
import socket
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import boto3
import botocore.auth
import botocore.retries.standard
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError
from mc_sandbox.clouds.aws.auth import TOKEN_PREFIX, eks_token
from mc_sandbox.clouds.aws.eks.models import CLUSTER_CREATE_SECONDS, DEFAULT_VERSION
from mc_sandbox.clouds.aws.server import AwsCloud
from mc_sandbox.core.clock import Clock
from mc_sandbox.core.config import scaled
from mc_sandbox.core.faults import FaultRule
from mc_sandbox.core.runtime import CloudContext, NodePool
from support import CA_PEM, wait_until

from ansible_collections.multicloud.fabric.plugins.module_utils.common.classify import classify_error

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-cluster"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-node"
# 10 simulated minutes of cluster creation take 0.12 s.
TIME_FACTOR = 0.0002


@pytest.fixture(scope="module", autouse=True)
def _no_default_amis():
    """moto loads thousands of AMIs into every EC2 region it creates, again after each reset;
    nothing here looks at images, and skipping them saves seconds per run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        yield


@pytest.fixture
def cloud(faults, runtime, tmp_path):
    cloud = AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None))
    cloud.start()
    yield cloud
    cloud.stop()
    cloud.reset()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mc-sandbox")]


@pytest.fixture(scope="module")
def botocore_session():
    """One botocore session for the module: loading service models (EC2's is large) once keeps tests fast."""
    return botocore.session.get_session()


@pytest.fixture
def session(cloud, botocore_session):
    creds = cloud.credentials
    return boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        region_name=REGION,
        botocore_session=botocore_session,
    )


def client(session, cloud, service, attempts=1):
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return session.client(service, endpoint_url=cloud.endpoint, config=config)


@pytest.fixture
def eks(session, cloud):
    return client(session, cloud, "eks")


@pytest.fixture
def subnets(session, cloud):
    """moto's default subnets, one per availability zone: subnet id -> zone."""
    found = client(session, cloud, "ec2").describe_subnets()["Subnets"]
    return {s["SubnetId"]: s["AvailabilityZone"] for s in sorted(found, key=lambda s: s["AvailabilityZone"])}


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def create_cluster(eks, subnets, name="c1", wait=True, **kwargs):
    cluster = eks.create_cluster(
        name=name, roleArn=ROLE, resourcesVpcConfig={"subnetIds": list(subnets)[:2]}, **kwargs
    )["cluster"]
    if wait:
        wait_until(lambda: eks.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE")
    return cluster


def create_nodegroup(eks, subnets, cluster="c1", name="ng1", wait=True, **kwargs):
    nodegroup = eks.create_nodegroup(
        clusterName=cluster, nodegroupName=name, nodeRole=NODE_ROLE, subnets=list(subnets)[:2], **kwargs
    )["nodegroup"]
    if wait:
        wait_nodegroup(eks, cluster, name, "ACTIVE")
    return nodegroup


def wait_nodegroup(eks, cluster, name, status):
    return wait_until(
        lambda: (
            (ng := eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"])["status"] == status
            and ng
        )
    )


def wait_update(eks, cluster, update, **kwargs):
    return wait_until(
        lambda: (
            (u := eks.describe_update(name=cluster, updateId=update["id"], **kwargs)["update"])["status"]
            == "Successful"
            and u
        )
    )


# ------------------------------------------------------------------ clusters
def test_cluster_is_creating_then_active_with_the_runtimes_control_plane(cloud, runtime, eks, subnets):
    created = create_cluster(eks, subnets, wait=False)
    assert created["status"] == "CREATING"
    assert "endpoint" not in created
    assert created["version"] == DEFAULT_VERSION
    assert created["resourcesVpcConfig"]["endpointPublicAccess"] is True

    cluster = wait_until(lambda: (c := eks.describe_cluster(name="c1")["cluster"])["status"] == "ACTIVE" and c)
    assert runtime.calls == [("create_cluster", "aws", REGION, "c1")]
    assert cluster["endpoint"] == "https://127.0.0.1:7001"
    assert base64.b64decode(cluster["certificateAuthority"]["data"]).decode() == CA_PEM
    assert [(c["name"], c["status"], c["endpoint"]) for c in cloud.status()["clusters"]] == [
        ("c1", "ACTIVE", "https://127.0.0.1:7001")
    ]


def test_failed_control_plane_marks_the_cluster_failed_with_a_health_issue(runtime, eks, subnets):
    runtime.fail_create = RuntimeError("etcd did not start")
    create_cluster(eks, subnets, wait=False)
    with pytest.raises(WaiterError) as excinfo:  # what the collection's modules wait with
        eks.get_waiter("cluster_active").wait(name="c1", WaiterConfig={"Delay": 0.01, "MaxAttempts": 500})
    assert "FAILED" in str(excinfo.value)
    [issue] = excinfo.value.last_response["cluster"]["health"]["issues"]
    assert issue["code"] == "InternalFailure"
    assert "etcd did not start" in issue["message"]
    assert issue["resourceIds"] == ["c1"]

    eks.delete_cluster(name="c1")  # a failed cluster can be deleted
    wait_until(lambda: not eks.list_clusters()["clusters"])


def test_cluster_subnets_must_exist_and_span_two_zones(eks, subnets):
    one_zone = list(subnets)[:1]
    with pytest.raises(ClientError) as excinfo:
        eks.create_cluster(name="c1", roleArn=ROLE, resourcesVpcConfig={"subnetIds": one_zone})
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        eks.create_cluster(name="c1", roleArn=ROLE, resourcesVpcConfig={"subnetIds": [*one_zone, "subnet-0bad"]})
    assert error_code(excinfo) == "InvalidParameterException"
    assert "subnet-0bad" in str(excinfo.value)


def test_delete_refused_while_nodegroups_remain_then_deletes(cloud, runtime, eks, subnets):
    create_cluster(eks, subnets)
    create_nodegroup(eks, subnets)
    with pytest.raises(ClientError) as excinfo:
        eks.delete_cluster(name="c1")
    assert error_code(excinfo) == "ResourceInUseException"

    assert eks.delete_nodegroup(clusterName="c1", nodegroupName="ng1")["nodegroup"]["status"] == "DELETING"
    wait_until(lambda: not eks.list_nodegroups(clusterName="c1")["nodegroups"])
    assert ("delete_node_pool", "aws", REGION, "c1", "ng1") in runtime.calls

    runtime.gate.clear()
    assert eks.delete_cluster(name="c1")["cluster"]["status"] == "DELETING"
    assert eks.describe_cluster(name="c1")["cluster"]["status"] == "DELETING"
    runtime.gate.set()
    wait_until(lambda: not eks.list_clusters()["clusters"])
    assert ("delete_cluster", "aws", REGION, "c1") in runtime.calls
    with pytest.raises(ClientError) as excinfo:
        eks.describe_cluster(name="c1")
    assert error_code(excinfo) == "ResourceNotFoundException"
    assert cloud.status()["clusters"] == []


# ------------------------------------------------------------------ nodegroups
def test_nodegroup_create_scale_label_taint_drive_the_node_pool(runtime, eks, subnets):
    create_cluster(eks, subnets)
    zones = sorted(set(list(subnets.values())[:2]))
    created = create_nodegroup(
        eks,
        subnets,
        wait=False,
        scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2},
        instanceTypes=["m5.large"],
        capacityType="SPOT",
        labels={"team": "web", "tier": "front"},
        taints=[{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}],
    )
    assert created["status"] == "CREATING"
    wait_nodegroup(eks, "c1", "ng1", "ACTIVE")
    eks_labels = {
        "eks.amazonaws.com/nodegroup": "ng1",
        "eks.amazonaws.com/capacityType": "SPOT",
        "node.kubernetes.io/instance-type": "m5.large",
        "topology.kubernetes.io/region": REGION,
    }
    assert runtime.pools("c1") == [
        NodePool(
            name="ng1",
            count=2,
            instance_type="m5.large",
            labels={"team": "web", "tier": "front", **eks_labels},
            taints=[{"key": "dedicated", "value": "web", "effect": "NoSchedule"}],
            zones=zones,
        )
    ]

    runtime.gate.clear()
    update = eks.update_nodegroup_config(
        clusterName="c1",
        nodegroupName="ng1",
        labels={"addOrUpdateLabels": {"tier": "back"}, "removeLabels": ["team"]},
        taints={
            "addOrUpdateTaints": [{"key": "spot", "effect": "PREFER_NO_SCHEDULE"}],
            "removeTaints": [{"key": "dedicated", "effect": "NO_SCHEDULE"}],
        },
        scalingConfig={"desiredSize": 3},
    )["update"]
    assert (update["type"], update["status"]) == ("ConfigUpdate", "InProgress")
    assert {p["type"] for p in update["params"]} == {
        "LabelsToAdd",
        "LabelsToRemove",
        "TaintsToAdd",
        "TaintsToRemove",
        "DesiredSize",
    }
    assert eks.describe_nodegroup(clusterName="c1", nodegroupName="ng1")["nodegroup"]["status"] == "UPDATING"
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="ng1", scalingConfig={"desiredSize": 1})
    assert error_code(excinfo) == "ResourceInUseException"
    runtime.gate.set()

    wait_update(eks, "c1", update, nodegroupName="ng1")
    nodegroup = wait_nodegroup(eks, "c1", "ng1", "ACTIVE")
    assert nodegroup["labels"] == {"tier": "back"}
    assert nodegroup["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 3}
    assert runtime.pools("c1")[-1] == NodePool(
        name="ng1",
        count=3,
        instance_type="m5.large",
        labels={"tier": "back", **eks_labels},
        taints=[{"key": "spot", "value": "", "effect": "PreferNoSchedule"}],
        zones=zones,
    )
    assert eks.list_updates(name="c1", nodegroupName="ng1")["updateIds"] == [update["id"]]
    assert eks.list_updates(name="c1")["updateIds"] == []

    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_config(clusterName="c1", nodegroupName="ng1", scalingConfig={"desiredSize": 4})
    assert error_code(excinfo) == "InvalidParameterException"


def test_nodegroups_do_not_share_default_scaling(eks, subnets):
    """moto gives every nodegroup created without scalingConfig the same dict."""
    create_cluster(eks, subnets)
    create_nodegroup(eks, subnets, name="a")
    create_nodegroup(eks, subnets, name="b")
    update = eks.update_nodegroup_config(
        clusterName="c1", nodegroupName="a", scalingConfig={"desiredSize": 1, "minSize": 1}
    )
    wait_update(eks, "c1", update["update"], nodegroupName="a")
    assert eks.describe_nodegroup(clusterName="c1", nodegroupName="b")["nodegroup"]["scalingConfig"]["desiredSize"] == 2


# ------------------------------------------------------------------ updates and versions
def test_cluster_version_update_lifecycle(eks, subnets):
    create_cluster(eks, subnets, version="1.31")
    for version in ("1.33", "1.31", "1.30"):
        with pytest.raises(ClientError) as excinfo:
            eks.update_cluster_version(name="c1", version=version)
        assert error_code(excinfo) == "InvalidParameterException"

    update = eks.update_cluster_version(name="c1", version="1.32")["update"]
    assert (update["type"], update["status"]) == ("VersionUpdate", "InProgress")
    assert {"type": "Version", "value": "1.32"} in update["params"]
    cluster = eks.describe_cluster(name="c1")["cluster"]
    assert (cluster["status"], cluster["version"]) == ("UPDATING", "1.31")
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_version(name="c1", version="1.32")
    assert error_code(excinfo) == "ResourceInUseException"
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_config(name="c1", resourcesVpcConfig={"endpointPrivateAccess": True})
    assert error_code(excinfo) == "ResourceInUseException"

    assert eks.describe_update(name="c1", updateId=update["id"])["update"]["status"] == "InProgress"
    wait_update(eks, "c1", update)
    cluster = eks.describe_cluster(name="c1")["cluster"]
    assert (cluster["status"], cluster["version"]) == ("ACTIVE", "1.32")
    assert eks.list_updates(name="c1")["updateIds"] == [update["id"]]
    with pytest.raises(ClientError) as excinfo:
        eks.describe_update(name="c1", updateId="00000000-0000-0000-0000-000000000000")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_cluster_config_update_returns_an_update_and_merges_vpc_config(eks, subnets):
    create_cluster(eks, subnets)
    with pytest.raises(ClientError) as excinfo:
        eks.update_cluster_config(
            name="c1",
            resourcesVpcConfig={"endpointPrivateAccess": True},
            logging={"clusterLogging": [{"types": ["api"], "enabled": True}]},
        )
    assert error_code(excinfo) == "InvalidParameterException"

    update = eks.update_cluster_config(name="c1", resourcesVpcConfig={"endpointPrivateAccess": True})["update"]
    assert update["type"] == "EndpointAccessUpdate"
    assert update["params"] == [{"type": "EndpointPrivateAccess", "value": "true"}]
    wait_update(eks, "c1", update)
    vpc = eks.describe_cluster(name="c1")["cluster"]["resourcesVpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["subnetIds"] == list(subnets)[:2]


def test_nodegroup_version_follows_the_cluster(eks, subnets):
    create_cluster(eks, subnets, version="1.31")
    nodegroup = create_nodegroup(eks, subnets)
    assert nodegroup["version"] == "1.31"
    assert nodegroup["releaseVersion"].startswith("1.31.")
    with pytest.raises(ClientError) as excinfo:
        create_nodegroup(eks, subnets, name="newer", version="1.32")
    assert error_code(excinfo) == "InvalidParameterException"

    wait_update(eks, "c1", eks.update_cluster_version(name="c1", version="1.32")["update"])
    with pytest.raises(ClientError) as excinfo:  # EKS: nodegroups first, then the next minor
        eks.update_cluster_version(name="c1", version="1.33")
    assert error_code(excinfo) == "InvalidRequestException"
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName="c1", nodegroupName="ng1", version="1.33")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        eks.update_nodegroup_version(clusterName="c1", nodegroupName="ng1", version="1.30")
    assert error_code(excinfo) == "InvalidRequestException"

    update = eks.update_nodegroup_version(clusterName="c1", nodegroupName="ng1")["update"]
    assert (update["type"], update["params"][0]) == ("VersionUpdate", {"type": "Version", "value": "1.32"})
    wait_update(eks, "c1", update, nodegroupName="ng1")
    nodegroup = wait_nodegroup(eks, "c1", "ng1", "ACTIVE")
    assert (nodegroup["version"], nodegroup["releaseVersion"][:5]) == ("1.32", "1.32.")
    eks.update_cluster_version(name="c1", version="1.33")  # allowed now


# ------------------------------------------------------------------ faults
def test_throttling_is_retried_by_boto3_and_counted(faults, session, cloud, monkeypatch):
    # botocore decides what to retry; only its backoff sleep is skipped to keep the test fast.
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    faults.add_rule(FaultRule(cloud="aws", operation="ListClusters", error_rate=0.3, statuses=[429], retry_after=0))
    eks = client(session, cloud, "eks", attempts=10)
    retries = sum(eks.list_clusters()["ResponseMetadata"]["RetryAttempts"] for _ in range(10))

    snapshot = faults.snapshot()
    injected = snapshot["injected"]["aws"]["ListClusters"]["429"]
    assert injected == retries > 0
    assert snapshot["requests"]["aws"]["ListClusters"] == 10 + injected


@pytest.mark.parametrize(
    "case",
    [
        ("eks", "DescribeCluster", lambda c: c.describe_cluster(name="c1"), 503, "ServiceUnavailableException"),
        ("eks", "ListClusters", lambda c: c.list_clusters(), 500, "ServerException"),
        ("eks", "ListClusters", lambda c: c.list_clusters(), 429, "ThrottlingException"),
        ("ec2", "DescribeVpcs", lambda c: c.describe_vpcs(), 429, "RequestLimitExceeded"),
        ("ec2", "DescribeVpcs", lambda c: c.describe_vpcs(), 503, "Unavailable"),
        ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity(), 429, "Throttling"),
        ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity(), 500, "InternalFailure"),
        ("iam", "ListUsers", lambda c: c.list_users(), 503, "ServiceUnavailable"),
    ],
    ids=lambda case: f"{case[1]}-{case[3]}",
)
def test_injected_errors_use_each_services_wire_format(faults, session, cloud, case):
    service, operation, call, status, code = case
    faults.add_rule(FaultRule(cloud="aws", operation=operation, error_rate=1.0, statuses=[status], retry_after=2))
    with pytest.raises(ClientError) as excinfo:
        call(client(session, cloud, service))
    assert error_code(excinfo) == code
    metadata = excinfo.value.response["ResponseMetadata"]
    assert metadata["HTTPStatusCode"] == status
    assert metadata["HTTPHeaders"].get("retry-after") == ("2" if status == 429 else None)
    snapshot = faults.snapshot()
    assert snapshot["injected"]["aws"][operation] == {str(status): 1}
    assert snapshot["requests"]["aws"][operation] == 1


# ------------------------------------------------------------------ EKS tokens
@pytest.fixture
def authenticate(runtime, cloud):
    return runtime.authenticators[TOKEN_PREFIX]


def sts_client(cloud, access_key_id, secret_access_key, session_token=None, endpoint=None):
    return boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=endpoint or cloud.endpoint,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
    )


def reencode(token, edit):
    encoded = token[len(TOKEN_PREFIX) :]
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(edit(url).encode()).decode().rstrip("=")


def test_creator_token_is_cluster_admin(cloud, eks, subnets, authenticate, monkeypatch):
    create_cluster(eks, subnets)
    creds = cloud.credentials
    user = authenticate(
        f"aws/{REGION}/c1", eks_token(sts_client(cloud, creds.access_key_id, creds.secret_access_key), "c1")
    )
    assert user.username == f"arn:aws:iam::{ACCOUNT}:user/mc-sandbox"
    assert user.groups == ["system:masters"]
    assert user.uid.startswith(f"aws-iam-authenticator:{ACCOUNT}:")
    assert user.extra["accessKeyId"] == [creds.access_key_id]

    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)  # a Session finds the sandbox like the AWS CLI does
    session = boto3.Session(creds.access_key_id, creds.secret_access_key, region_name=REGION)
    assert authenticate("c1", eks_token(session, "c1")).groups == ["system:masters"]


def test_a_token_expires_when_the_sandbox_clock_passes_its_max_age(faults, runtime, tmp_path, monkeypatch):
    monkeypatch.delenv("MC_SANDBOX_EKS_TOKEN_MAX_AGE", raising=False)
    clock = Clock()
    cloud = AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None, clock=clock))
    cloud.start()
    try:
        creds = cloud.credentials
        session = boto3.Session(creds.access_key_id, creds.secret_access_key, region_name=REGION)
        eks = client(session, cloud, "eks")
        ec2 = client(session, cloud, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        ids = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in enumerate("ab")
        ]
        create_cluster(eks, ids)
        authenticate = runtime.authenticators[TOKEN_PREFIX]
        token = eks_token(sts_client(cloud, creds.access_key_id, creds.secret_access_key), "c1")
        assert authenticate(f"aws/{REGION}/c1", token) is not None
        clock.advance(15 * 60 - 30)
        assert authenticate(f"aws/{REGION}/c1", token) is not None, "refused before its 15 minutes"
        clock.advance(60)
        assert authenticate(f"aws/{REGION}/c1", token) is None, "accepted after its 15 minutes"
        # A token signed after the jump is fresh: a client refreshing its credentials gets in.
        time.sleep(1.1)  # SigV4 dates have whole seconds
        fresh = eks_token(sts_client(cloud, creds.access_key_id, creds.secret_access_key), "c1")
        assert authenticate(f"aws/{REGION}/c1", fresh) is not None
        with pytest.raises(ValueError, match="advance_seconds"):
            clock.advance(-1)
    finally:
        cloud.stop()
        cloud.reset()


def test_other_iam_user_authenticates_without_admin(cloud, session, eks, subnets, authenticate):
    create_cluster(eks, subnets)
    iam = client(session, cloud, "iam")
    iam.create_user(UserName="dev")
    key = iam.create_access_key(UserName="dev")["AccessKey"]
    token = eks_token(sts_client(cloud, key["AccessKeyId"], key["SecretAccessKey"]), "c1")
    user = authenticate(f"aws/{REGION}/c1", token)
    assert user.username == f"arn:aws:iam::{ACCOUNT}:user/dev"
    assert user.groups == ["system:authenticated"]

    iam.update_access_key(UserName="dev", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert authenticate(f"aws/{REGION}/c1", token) is None


def test_assumed_role_creator_is_admin_in_every_session(cloud, session, subnets, authenticate):
    role = client(session, cloud, "iam").create_role(RoleName="deployer", AssumeRolePolicyDocument="{}")["Role"]

    def role_session(name):
        creds = client(session, cloud, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName=name)["Credentials"]
        return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]

    ci_key, ci_secret, ci_token = role_session("ci")
    ci = boto3.Session(
        aws_access_key_id=ci_key, aws_secret_access_key=ci_secret, aws_session_token=ci_token, region_name=REGION
    )
    create_cluster(client(ci, cloud, "eks"), subnets)
    user = authenticate(f"aws/{REGION}/c1", eks_token(sts_client(cloud, *role_session("laptop")), "c1"))
    assert user.groups == ["system:masters"]
    assert user.extra["canonicalArn"] == [role["Arn"]]
    assert user.extra["sessionName"] == ["laptop"]
    forged = eks_token(sts_client(cloud, ci_key, ci_secret, "not-the-session-token"), "c1")
    assert authenticate(f"aws/{REGION}/c1", forged) is None


def test_creator_without_bootstrap_admin_is_not_admin(cloud, eks, subnets, authenticate):
    create_cluster(eks, subnets, accessConfig={"bootstrapClusterCreatorAdminPermissions": False})
    creds = cloud.credentials
    token = eks_token(sts_client(cloud, creds.access_key_id, creds.secret_access_key), "c1")
    assert authenticate(f"aws/{REGION}/c1", token).groups == ["system:authenticated"]


def test_invalid_tokens_are_rejected(cloud, eks, subnets, authenticate, monkeypatch):
    create_cluster(eks, subnets)
    creds = cloud.credentials
    sts = sts_client(cloud, creds.access_key_id, creds.secret_access_key)
    good = eks_token(sts, "c1")
    assert authenticate(f"aws/{REGION}/c1", good) is not None

    def flip_signature(url):
        return url[:-1] + ("0" if url[-1] != "0" else "1")

    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - timedelta(minutes=16))
    stale = eks_token(sts, "c1")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - timedelta(minutes=14))
    recent = eks_token(sts, "c1")
    monkeypatch.undo()
    assert authenticate(f"aws/{REGION}/c1", recent) is not None

    elsewhere = eks_token(
        sts_client(cloud, creds.access_key_id, creds.secret_access_key, endpoint="https://sts.eu-west-1.amazonaws.com"),
        "c1",
    )
    bad = {
        "wrong cluster id": (f"aws/{REGION}/c1", eks_token(sts, "c2")),
        "tampered signature": (f"aws/{REGION}/c1", reencode(good, flip_signature)),
        "tampered action": (
            f"aws/{REGION}/c1",
            reencode(good, lambda u: u.replace("GetCallerIdentity", "GetSessionToken")),
        ),
        "expired": (f"aws/{REGION}/c1", stale),
        "not the sandbox's STS": (f"aws/{REGION}/c1", elsewhere),
        "unknown key": (f"aws/{REGION}/c1", eks_token(sts_client(cloud, "AKIAUNKNOWNUNKNOWN00", "x" * 40), "c1")),
        "malformed base64": (f"aws/{REGION}/c1", TOKEN_PREFIX + "!!not*base64!!"),
        "not a URL": (f"aws/{REGION}/c1", TOKEN_PREFIX + base64.urlsafe_b64encode(b"\xff\xfe").decode()),
        "wrong prefix": (f"aws/{REGION}/c1", "k8s-aws-v2." + good[len(TOKEN_PREFIX) :]),
        "another cloud": (f"gcp/{REGION}/c1", good),
    }
    assert {case: authenticate(cluster, token) for case, (cluster, token) in bad.items()} == dict.fromkeys(bad)


@pytest.fixture
def short_tokens(monkeypatch):
    """EKS tokens accepted for 60 s in the sandbox made after this (instead of 15 minutes)."""
    monkeypatch.setenv("MC_SANDBOX_EKS_TOKEN_MAX_AGE", "60")


def test_a_shortened_token_lifetime_rejects_tokens_older_than_it(short_tokens, cloud, eks, subnets, authenticate):
    """MC_SANDBOX_EKS_TOKEN_MAX_AGE rehearses a run that outlives its EKS tokens: a token signed
    longer ago than the setting is refused, one signed within it still authenticates."""
    create_cluster(eks, subnets)
    creds = cloud.credentials
    sts = sts_client(cloud, creds.access_key_id, creds.secret_access_key)
    real = botocore.auth.get_current_datetime
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr(botocore.auth, "get_current_datetime", lambda: real() - timedelta(seconds=90))
        older = eks_token(sts, "c1")
        clock.setattr(botocore.auth, "get_current_datetime", lambda: real() - timedelta(seconds=30))
        younger = eks_token(sts, "c1")
    assert authenticate(f"aws/{REGION}/c1", older) is None
    assert authenticate(f"aws/{REGION}/c1", younger) is not None


def test_a_token_lifetime_that_is_not_a_positive_number_is_refused(faults, runtime, tmp_path, monkeypatch):
    for raw in ("soon", "0"):
        monkeypatch.setenv("MC_SANDBOX_EKS_TOKEN_MAX_AGE", raw)
        with pytest.raises(ValueError, match="MC_SANDBOX_EKS_TOKEN_MAX_AGE"):
            AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None))


# ------------------------------------------------------------------ lifecycle of the sandbox itself
def test_reset_empties_everything_and_stops_control_planes(cloud, session, runtime, eks, subnets):
    create_cluster(eks, subnets)
    create_cluster(eks, subnets, name="pending", wait=False)
    cloud.reset()
    assert ("delete_cluster", "aws", REGION, "c1") in runtime.calls
    assert eks.list_clusters()["clusters"] == []
    assert cloud.status()["clusters"] == []
    time.sleep(scaled(CLUSTER_CREATE_SECONDS, TIME_FACTOR) * 2)
    assert ("create_cluster", "aws", REGION, "pending") not in runtime.calls  # its activation was dropped
    sts = client(session, cloud, "sts")
    assert sts.get_caller_identity()["Arn"].endswith(":user/mc-sandbox")  # the sandbox's key still works


def test_credentials_stay_out_of_reprs_and_status(cloud):
    secret = cloud.credentials.secret_access_key
    shown = repr(cloud.credentials) + repr(cloud) + str(cloud.status())
    assert secret not in shown
    assert cloud.credentials.access_key_id not in shown


def test_stop_closes_the_port(faults, runtime, tmp_path):
    cloud = AwsCloud(CloudContext(faults, runtime, TIME_FACTOR, tmp_path, tls=None))
    port = urlsplit(cloud.start()["endpoint_url"]).port
    cloud.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert not [t.name for t in threading.enumerate() if t.name.startswith("mc-sandbox")]


def test_status_shows_every_ec2_network_piece_but_the_default_vpcs(cloud, session):
    """The teardown's "nothing left" check reads this: a VPC, subnet, gateway (attached or not),
    route table or security group left anywhere shows; moto's default VPC per region does not."""
    ec2 = client(session, cloud, "ec2")
    assert cloud.status()["ec2"] == {}  # a region moto made holds its default VPC only
    tag = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "left"}]}]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=tag)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    attached = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=attached, VpcId=vpc)
    stray = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    group = ec2.create_security_group(GroupName="nodes", Description="d", VpcId=vpc)["GroupId"]
    other = client(
        boto3.Session(
            aws_access_key_id=cloud.credentials.access_key_id,
            aws_secret_access_key=cloud.credentials.secret_access_key,
            region_name="us-west-2",
        ),
        cloud,
        "ec2",
    )
    other_vpc = other.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]

    ec2_status = cloud.status()["ec2"]
    ids = {
        region: {kind: [i["id"] for i in items] for kind, items in pieces.items()}
        for region, pieces in ec2_status.items()
    }
    assert ids == {
        REGION: {
            "vpcs": [vpc],
            "subnets": [subnet],
            "internet_gateways": sorted([attached, stray]),
            "route_tables": [table],
            "security_groups": [group],
        },
        "us-west-2": {"vpcs": [other_vpc]},
    }
    assert ec2_status[REGION]["vpcs"][0]["name"] == "left"
    gateways = {g["id"]: g["vpc_id"] for g in ec2_status[REGION]["internet_gateways"]}
    assert gateways == {attached: vpc, stray: None}

    for delete in (
        lambda: ec2.delete_security_group(GroupId=group),
        lambda: ec2.delete_route_table(RouteTableId=table),
        lambda: ec2.detach_internet_gateway(InternetGatewayId=attached, VpcId=vpc),
        lambda: ec2.delete_internet_gateway(InternetGatewayId=attached),
        lambda: ec2.delete_internet_gateway(InternetGatewayId=stray),
        lambda: ec2.delete_subnet(SubnetId=subnet),
        lambda: ec2.delete_vpc(VpcId=vpc),
        lambda: other.delete_vpc(VpcId=other_vpc),
    ):
        delete()
    assert cloud.status()["ec2"] == {}


# ---------------------------------------------------------------- unknown regions
def test_unknown_region_is_refused_like_aws_and_not_retried(cloud, session):
    """A request signed for a region AWS does not have gets AWS's signature error at once (an
    HTML 500 would be retried as transient); the collection classifies it as not retryable."""

    ec2 = session.client(
        "ec2", endpoint_url=cloud.endpoint, region_name="mars-1", config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as info:
        ec2.describe_vpcs()
    error = info.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert error["Error"]["Code"] == "AuthFailure"
    assert "valid region, not 'mars-1'" in error["Error"]["Message"]
    assert classify_error("aws", info.value).kind == "authentication"
    eks = session.client(
        "eks", endpoint_url=cloud.endpoint, region_name="mars-1", config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as info:
        eks.list_clusters()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # A real region of another partition is served.
    assert (
        session.client("ec2", endpoint_url=cloud.endpoint, region_name="us-gov-west-1").describe_vpcs()["Vpcs"]
        is not None
    )
