"""The sandbox end to end, as a user of the official SDKs sees it.

A real sandbox daemon (`mc-sandbox up`) with real control planes; only boto3, the kubernetes
client and the machine's kubectl talk to it, through endpoint overrides. Slow-ish (a control
plane starts in seconds), so everything shares one sandbox and one EKS cluster.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import requests
import yaml
from botocore.config import Config
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from mc_sandbox.clouds.aws.auth import eks_token
from mc_sandbox.core.clients import aws_session, eks_subnets, kube_api, ready_nodes
from support import wait_until

REGION = "us-east-1"
CLUSTER = "e2e"
FAST = Config(retries={"mode": "standard", "max_attempts": 10})


def session(sandbox):
    return aws_session(sandbox["endpoints"], REGION)


def aws_client(sandbox, service):
    return session(sandbox).client(service, endpoint_url=sandbox["endpoints"]["aws"]["endpoint_url"], config=FAST)


def kube_client(cluster, token, tmp_path) -> k8s.ApiClient:
    return kube_api(cluster, token, tmp_path)


@pytest.fixture(scope="module")
def eks(sandbox, tmp_path_factory):
    subnets = eks_subnets(aws_client(sandbox, "ec2"), REGION)
    client = aws_client(sandbox, "eks")
    client.create_cluster(
        name=CLUSTER,
        version="1.33",
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": subnets},
    )
    assert client.describe_cluster(name=CLUSTER)["cluster"]["status"] == "CREATING"
    client.get_waiter("cluster_active").wait(name=CLUSTER, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    client.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName="workers",
        scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 3},
        subnets=subnets,
        instanceTypes=["m5.large"],
        labels={"team": "platform"},
        nodeRole="arn:aws:iam::123456789012:role/node",
    )
    client.get_waiter("nodegroup_active").wait(
        clusterName=CLUSTER, nodegroupName="workers", WaiterConfig={"Delay": 1, "MaxAttempts": 300}
    )
    cluster = client.describe_cluster(name=CLUSTER)["cluster"]
    token = eks_token(session(sandbox).client("sts", endpoint_url=sandbox["endpoints"]["aws"]["endpoint_url"]), CLUSTER)
    api = kube_client(cluster, token, tmp_path_factory.mktemp("kube"))
    return {"cluster": cluster, "token": token, "api": api, "client": client}


def test_eks_cluster_is_a_real_control_plane_with_three_ready_nodes(eks):
    assert eks["cluster"]["status"] == "ACTIVE"
    assert eks["cluster"]["endpoint"].startswith("https://127.0.0.1:")
    nodes = wait_until(lambda: len(ready_nodes(eks["api"])) == 3 and ready_nodes(eks["api"]), 120, "3 Ready nodes")
    for node in nodes:
        labels = node.metadata.labels
        assert labels["eks.amazonaws.com/nodegroup"] == "workers"
        assert labels["node.kubernetes.io/instance-type"] == "m5.large"
        assert labels["team"] == "platform"


def test_deployment_becomes_available_and_load_balancer_answers(eks):
    apps, core = k8s.AppsV1Api(eks["api"]), k8s.CoreV1Api(eks["api"])
    labels = {"app": "web"}
    apps.create_namespaced_deployment(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
                },
            },
        },
    )
    wait_until(
        lambda: (apps.read_namespaced_deployment("web", "default").status.available_replicas or 0) == 3,
        120,
        "3 available replicas",
    )
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "selector": labels, "ports": [{"port": 8080, "targetPort": 8080}]},
        },
    )

    def ingress():
        lb = core.read_namespaced_service("web", "default").status.load_balancer
        return lb and lb.ingress and lb.ingress[0]

    point = wait_until(ingress, 60, "LoadBalancer ingress")
    url = f"http://{point.ip}:8080/health"
    health = wait_until(lambda: _health(url, 200, ready=3), 30, "the LB responder to see 3 ready endpoints")
    assert health == {
        "cloud": "aws",
        "region": REGION,
        "cluster": CLUSTER,
        "namespace": "default",
        "service": "web",
        "status": "healthy",
        "ready_endpoints": 3,
        "path": "/health",
    }
    # Like a cloud load balancer's health check, the responder follows the Service's
    # EndpointSlices: no ready pod, 503; pods back, 200.
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 0}})
    down = wait_until(lambda: _health(url, 503), 60, "503 once the Deployment is scaled to zero")
    assert (down["status"], down["ready_endpoints"], down["cloud"]) == ("unhealthy", 0, "aws")
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 1}})
    up = wait_until(lambda: _health(url, 200, ready=1), 60, "200 once a pod is ready again")
    assert (up["status"], up["ready_endpoints"]) == ("healthy", 1)


def _health(url, status, ready=0):
    """The responder's JSON when it answers `status` (with `ready` ready endpoints), else None."""
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        return None
    body = response.json()
    return body if response.status_code == status and body["ready_endpoints"] == ready else None


def _get(url):
    try:
        return requests.get(url, timeout=5).json()
    except requests.RequestException:
        return None


def test_kubectl_works_with_the_pinned_version_and_openapi_v3(eks, sandbox, tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed on this machine")
    cluster = eks["cluster"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": CLUSTER,
                        "cluster": {
                            "server": cluster["endpoint"],
                            "certificate-authority-data": cluster["certificateAuthority"]["data"],
                        },
                    }
                ],
                "users": [{"name": "aws", "user": {"token": eks["token"]}}],
                "contexts": [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": "aws"}}],
                "current-context": CLUSTER,
            }
        )
    )

    def kubectl_run(*args):
        return subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=60, check=True
        ).stdout

    version = json.loads(kubectl_run("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == sandbox["endpoints"]["kubernetes_version"]
    assert version["serverVersion"]["gitVersion"].startswith("v1.33.")
    assert "paths" in json.loads(kubectl_run("get", "--raw", "/openapi/v3"))
    assert len(kubectl_run("get", "nodes", "-o", "name").split()) == 3


def test_forged_eks_token_is_rejected(eks, sandbox, tmp_path):
    token = eks["token"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    api = kube_client(eks["cluster"], forged, tmp_path)
    with pytest.raises(ApiException) as info:
        k8s.CoreV1Api(api).list_node()
    assert info.value.status == 401
    sts = session(sandbox).client("sts", endpoint_url=sandbox["endpoints"]["aws"]["endpoint_url"])
    other_cluster = eks_token(sts, "some-other-cluster")
    with pytest.raises(ApiException) as info:
        k8s.CoreV1Api(kube_client(eks["cluster"], other_cluster, tmp_path)).list_node()
    assert info.value.status == 401


def test_service_account_token_works_and_is_limited_by_rbac(eks, tmp_path):
    core, rbac = k8s.CoreV1Api(eks["api"]), k8s.RbacAuthorizationV1Api(eks["api"])
    core.create_namespace({"metadata": {"name": "team-a"}})
    core.create_namespaced_service_account("team-a", {"metadata": {"name": "reader"}})
    request = core.create_namespaced_service_account_token("reader", "team-a", {"spec": {"expirationSeconds": 600}})
    sa = kube_client(eks["cluster"], request.status.token, tmp_path)
    sa_core = k8s.CoreV1Api(sa)
    with pytest.raises(ApiException) as info:
        sa_core.list_namespaced_pod("team-a")
    assert info.value.status == 403
    rbac.create_namespaced_role(
        "team-a",
        {"metadata": {"name": "pod-reader"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]},
    )
    rbac.create_namespaced_role_binding(
        "team-a",
        {
            "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "team-a"}],
        },
    )
    wait_until(lambda: _allowed(lambda: sa_core.list_namespaced_pod("team-a")), 30, "RBAC to allow listing pods")
    with pytest.raises(ApiException) as info:
        sa_core.list_node()
    assert info.value.status == 403


def _allowed(call):
    try:
        call()
        return True
    except ApiException as exc:
        if exc.status == 403:
            return False
        raise


def test_injected_throttling_is_retried_and_counted(eks, sandbox):
    cli = sandbox["cli"]
    cli(
        "fault",
        "add",
        "--cloud",
        "aws",
        "--operation",
        "DescribeCluster",
        "--rate",
        "0.3",
        "--status",
        "429",
        "--retry-after",
        "0",
    )
    try:
        for _i in range(20):
            assert eks["client"].describe_cluster(name=CLUSTER)["cluster"]["status"] == "ACTIVE"
    finally:
        cli("fault", "clear")
    status = json.loads(cli("status", "--json").stdout)
    injected = status["faults"]["injected"]["aws"]["DescribeCluster"]["429"]
    assert injected > 0
    assert status["faults"]["requests"]["aws"]["DescribeCluster"] >= 20 + injected


def test_region_down_cuts_api_and_load_balancer_and_clear_restores(eks, sandbox):
    cli = sandbox["cli"]
    core = k8s.CoreV1Api(eks["api"])
    lb = core.read_namespaced_service("web", "default").status.load_balancer.ingress[0]
    url = f"http://{lb.ip}:8080/health"
    assert wait_until(lambda: _get(url), 30, "the LB responder")["status"] == "healthy"
    cli("fault", "region-down", f"aws/{REGION}")
    try:
        with pytest.raises(Exception) as info:  # urllib3 raises MaxRetryError on connection refused
            core.list_node(_request_timeout=5)
        assert "refused" in str(info.value).lower() or "max retries" in str(info.value).lower()
        assert _get(url) is None
        status = json.loads(cli("status", "--json").stdout)
        assert status["faults"]["regions_down"] == [f"aws/{REGION}"]
        cluster_status = status["kubernetes"]["clusters"][f"aws/{REGION}/{CLUSTER}"]
        assert cluster_status["reachable"] is False
    finally:
        cli("fault", "clear")
    assert len(core.list_node().items) == 3
    assert wait_until(lambda: _get(url), 30, "the LB responder to come back")["status"] == "healthy"


def test_statefulset_and_daemonset_become_ready(eks):
    apps = k8s.AppsV1Api(eks["api"])
    template = {
        "metadata": {"labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "registry.invalid/db:1"}]},
    }
    apps.create_namespaced_stateful_set(
        "default",
        {
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template,
            },
        },
    )
    agent = {
        "metadata": {"labels": {"app": "agent"}},
        "spec": {"containers": [{"name": "agent", "image": "registry.invalid/agent:1"}]},
    }
    apps.create_namespaced_daemon_set(
        "default",
        {"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": agent}},
    )
    wait_until(
        lambda: (apps.read_namespaced_stateful_set("db", "default").status.ready_replicas or 0) == 2, 120, "2 ready db"
    )

    def daemonset_ready():
        status = apps.read_namespaced_daemon_set("agent", "default").status
        return status.desired_number_scheduled >= 3 and status.number_available == status.desired_number_scheduled

    wait_until(daemonset_ready, 120, "the DaemonSet on every node")


def test_scaling_the_nodegroup_changes_the_nodes(eks):
    client = eks["client"]
    client.update_nodegroup_config(
        clusterName=CLUSTER, nodegroupName="workers", scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 4}
    )
    client.get_waiter("nodegroup_active").wait(
        clusterName=CLUSTER, nodegroupName="workers", WaiterConfig={"Delay": 1, "MaxAttempts": 300}
    )
    wait_until(lambda: len(ready_nodes(eks["api"])) == 4, 120, "4 Ready nodes")
    client.update_nodegroup_config(
        clusterName=CLUSTER, nodegroupName="workers", scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 3}
    )
    client.get_waiter("nodegroup_active").wait(
        clusterName=CLUSTER, nodegroupName="workers", WaiterConfig={"Delay": 1, "MaxAttempts": 300}
    )
    wait_until(lambda: len(k8s.CoreV1Api(eks["api"]).list_node().items) == 3, 120, "back to 3 nodes")
