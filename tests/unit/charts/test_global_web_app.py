"""The global-web-app chart as Helm renders it, its values schema, and its server."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "global-web-app"
HELM = shutil.which("helm") or str(ROOT / ".venv" / "bin" / "helm")


def helm(*args, check=True):
    if not os.access(HELM, os.X_OK):
        pytest.fail("no helm binary: run `make helm` (make units does)")
    return subprocess.run([HELM, *args], capture_output=True, text=True, check=check)


def render(*sets, values="values-aws.yaml"):
    args = ["template", "global-web-app", str(CHART), "--namespace", "web", "-f", str(CHART / values)]
    for item in sets:
        args += ["--set", item]
    objects = [doc for doc in yaml.safe_load_all(helm(*args).stdout) if doc]
    return {obj["kind"]: obj for obj in objects}


def test_renders_deployment_service_pdb_and_configmap_for_one_cloud():
    objects = render("clusterName=fabric-aws", "replicaCount=3")
    assert sorted(objects) == ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"]
    deployment = objects["Deployment"]
    assert deployment["metadata"]["name"] == "global-web-app"
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/library/python:3.12-slim"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert (env["CLOUD_PROVIDER"], env["REGION"], env["CLUSTER_NAME"]) == ("aws", "us-east-1", "fabric-aws")
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["volumes"][0]["configMap"]["name"] == "global-web-app"

    service = objects["Service"]
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector == objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]
    assert objects["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert objects["ConfigMap"]["data"]["app.py"] == (CHART / "files" / "app.py").read_text()


def test_a_new_server_rolls_the_pods_and_per_cloud_values_apply():
    aws = render()["Deployment"]["spec"]["template"]["metadata"]
    assert len(aws["annotations"]["checksum/app"]) == 64
    azure = render(values="values-azure.yaml")["Deployment"]
    env = {item["name"]: item["value"] for item in azure["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["CLOUD_PROVIDER"], env["REGION"]) == ("azure", "eastus")
    assert azure["metadata"]["labels"]["multicloud.fabric/cloud"] == "azure"
    no_pdb = render("podDisruptionBudget.enabled=false")
    assert "PodDisruptionBudget" not in no_pdb


@pytest.mark.parametrize(
    ("sets", "field"),
    [
        (["replicaCount=-1"], "/replicaCount"),
        (["cloud=oracle"], "/cloud"),
        (["region="], "/region"),
        (["service.port=0"], "/service/port"),
        (["service.type=ExternalName"], "/service/type"),
        (["image.tag="], "/image/tag"),
        (["probes.path=health"], "/probes/path"),
    ],
)
def test_bad_values_are_refused_naming_the_field(sets, field):
    args = ["template", "t", str(CHART), "-f", str(CHART / "values-gcp.yaml")]
    for item in sets:
        args += ["--set", item]
    result = helm(*args, check=False)
    assert result.returncode != 0
    assert f"at '{field}'" in result.stderr, result.stderr


def test_default_values_alone_are_refused_the_chart_must_know_its_cloud():
    result = helm("lint", str(CHART), check=False)
    assert result.returncode != 0 and "at '/cloud'" in result.stdout + result.stderr
    assert helm("lint", "--strict", str(CHART), "-f", str(CHART / "values-gcp.yaml")).returncode == 0


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_server_answers_health_with_its_identity_and_stops_on_sigterm():
    port = _free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "CLOUD_PROVIDER": "gcp",
        "REGION": "us-central1",
        "CLUSTER_NAME": "fabric-gcp",
    }
    proc = subprocess.Popen([sys.executable, str(CHART / "files" / "app.py")], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {
            "cloud": "gcp",
            "region": "us-central1",
            "cluster": "fabric-gcp",
            "status": "healthy",
            "path": "/health",
        }
        assert requests.get(f"http://127.0.0.1:{port}/?probe=1", timeout=2).json()["status"] == "healthy"
        missing = requests.get(f"http://127.0.0.1:{port}/nope", timeout=2)
        assert missing.status_code == 404 and json.loads(missing.text)["cloud"] == "gcp"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
