"""Test doubles and helpers shared by the sandbox's tests."""

from __future__ import annotations

import pathlib
import threading
import time

from mc_sandbox.core.runtime import ClusterHandle

# The checkout, and the official API specifications in ../shared beside it (as CI lays it out).
ROOT = pathlib.Path(__file__).resolve().parents[2]
SPECS = ROOT.parent / "shared" / "specs"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBsandboxtest\n-----END CERTIFICATE-----\n"


def wait_until(predicate, timeout=5.0, what="the condition", interval=0.05):
    """Poll `predicate` until it returns something truthy, and return that."""
    value = poll(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")
    return value


def poll(predicate, timeout=60.0, interval=0.5):
    """``predicate()`` once it is truthy, else its last value after ``timeout`` seconds (for an
    assertion that shows what the state was)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class FakeRuntime:
    """A KubeRuntime that records what a cloud asks of Kubernetes.

    Clearing `gate` holds every runtime call after it is recorded, as a slow control plane would,
    so tests can look at in-between states (UPDATING, DELETING, RECONCILING) without racing the
    clock; `fail_create` makes control planes fail to start.
    """

    git_version = "v1.33.5"

    def __init__(self):
        self.calls: list[tuple] = []
        self.authenticators = {}
        self.handles: dict[str, ClusterHandle] = {}
        self.fail_create: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def _record(self, *call):
        with self._lock:
            self.calls.append(call)
        assert self.gate.wait(10), "runtime call held for more than 10 s"

    def create_cluster(self, cloud, region, name):
        self._record("create_cluster", cloud, region, name)
        if self.fail_create:
            raise self.fail_create
        key = f"{cloud}/{region}/{name}"
        self.handles[key] = ClusterHandle(key, f"https://127.0.0.1:7{len(self.calls):03d}", CA_PEM, self.git_version)
        return self.handles[key]

    def delete_cluster(self, cloud, region, name):
        self._record("delete_cluster", cloud, region, name)

    def get_cluster(self, cloud, region, name):
        return None

    def set_node_pool(self, cloud, region, cluster, pool):
        self._record("set_node_pool", cloud, region, cluster, pool)

    def delete_node_pool(self, cloud, region, cluster, pool):
        self._record("delete_node_pool", cloud, region, cluster, pool)

    def register_authenticator(self, token_prefix, authenticator):
        self.authenticators[token_prefix] = authenticator

    def issue_client_certificate(self, cloud, region, cluster, common_name, organizations=()):
        self._record("issue_client_certificate", cloud, region, cluster, common_name, organizations)
        return "CERT-PEM", "KEY-PEM"

    def pools(self, cluster):
        return [call[4] for call in self.calls if call[0] == "set_node_pool" and call[3] == cluster]


def azure_clients(sandbox):
    """(ResourceManagementClient, ContainerServiceClient) for the sandbox's Azure, as a user builds
    them: only the endpoints, the CA bundle and instance discovery (off) differ from real Azure."""
    from azure.identity import ClientSecretCredential  # noqa: PLC0415 - only the Azure tests need it
    from azure.mgmt.containerservice import ContainerServiceClient  # noqa: PLC0415
    from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: PLC0415

    azure = sandbox["endpoints"]["azure"]
    credential = ClientSecretCredential(
        azure["tenant_id"],
        azure["client_id"],
        azure["client_secret"],
        authority=azure["authority_host"],
        connection_verify=azure["ca_bundle"],
        disable_instance_discovery=True,
    )
    common = {"base_url": azure["base_url"], "connection_verify": azure["ca_bundle"]}
    return (
        ResourceManagementClient(credential, azure["subscription_id"], **common),
        ContainerServiceClient(credential, azure["subscription_id"], **common),
    )
