"""What an emulated cloud needs from the Kubernetes side of the sandbox.

The cloud emulators (AWS here; GCP and Azure later) decide *when* a cluster exists and what its
node pools are; the Kubernetes runtime makes it real: an upstream control plane per cluster, kwok
nodes per pool, and a token webhook that asks the cloud whether a cloud-style token is valid.
Keeping this boundary small lets each side be tested without the other.
"""

from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


def cluster_key(cloud: str, region: str, name: str) -> str:
    return f"{cloud}/{region}/{name}"


def delete_control_planes(runtime: KubeRuntime, cloud: str, clusters) -> None:
    """Delete the control planes a cloud started, e.g. on reset: (region, name) pairs, in order;
    one that fails to stop is logged and does not keep the others alive."""
    for region, name in sorted(clusters):
        try:
            runtime.delete_cluster(cloud, region, name)
        except Exception:
            log.exception("could not delete the control plane of %s", cluster_key(cloud, region, name))


@dataclass
class NodePool:
    """Nodes of one pool as the cloud describes them; the runtime keeps `count` kwok nodes."""

    name: str
    count: int
    instance_type: str = "m5.large"
    labels: dict[str, str] = field(default_factory=dict)
    # each taint: {"key": ..., "value": ..., "effect": "NoSchedule|PreferNoSchedule|NoExecute"}
    taints: list[dict[str, str]] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)


@dataclass
class ClusterHandle:
    """A running control plane as clients see it."""

    key: str
    endpoint: str  # https://127.0.0.1:<port>
    ca_pem: str  # PEM of the cluster's own CA
    git_version: str  # what /version reports, e.g. v1.33.5


@dataclass
class UserInfo:
    """The identity a token webhook hands to the API server (TokenReview status.user)."""

    username: str
    uid: str = ""
    groups: list[str] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)


class TokenAuthenticator(Protocol):
    """Checks a cloud-style bearer token for one cluster; None means 'not valid' (401)."""

    def __call__(self, cluster: str, token: str) -> UserInfo | None: ...


class KubeRuntime(Protocol):
    """The Kubernetes side of the sandbox, as the cloud emulators see it."""

    def create_cluster(self, cloud: str, region: str, name: str) -> ClusterHandle:
        """Start (or return the running) control plane; blocks until its API is ready."""

    def delete_cluster(self, cloud: str, region: str, name: str) -> None:
        """Stop the control plane and forget its data; no-op when absent."""

    def get_cluster(self, cloud: str, region: str, name: str) -> ClusterHandle | None: ...

    def set_node_pool(self, cloud: str, region: str, cluster: str, pool: NodePool) -> None:
        """Create, scale or relabel the pool's kwok nodes so exactly `pool.count` exist."""

    def delete_node_pool(self, cloud: str, region: str, cluster: str, pool: str) -> None: ...

    def register_authenticator(self, token_prefix: str, authenticator: TokenAuthenticator) -> None:
        """Tokens starting with `token_prefix` are checked by `authenticator`."""

    def issue_client_certificate(
        self, cloud: str, region: str, cluster: str, common_name: str, organizations: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        """(certificate PEM, key PEM) signed by the cluster's CA, e.g. for an AKS user kubeconfig."""


@dataclass(frozen=True)
class TlsFiles:
    """The sandbox-wide CA and a serving certificate for 127.0.0.1/localhost, for cloud APIs
    that clients only reach over TLS (ARM, Entra ID, Google APIs)."""

    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


@dataclass(frozen=True)
class CloudContext:
    """What the daemon hands every emulated cloud."""

    faults: object  # faults.FaultManager
    runtime: KubeRuntime
    time_factor: float
    state_dir: pathlib.Path  # a directory of the cloud's own (keys, files it hands out)
    tls: TlsFiles
    # net.fabric.VpnFabric: where a cloud's VPN resources become tunnels (None: no VPN emulation)
    vpn: object = None
    # core.clock.Clock: the time of day the cloud checks credentials against (None: real time)
    clock: object = None


class Cloud(Protocol):
    """An emulated cloud the daemon runs (AWS, Google Cloud, Azure)."""

    def __init__(self, context: CloudContext) -> None: ...

    def start(self) -> dict:
        """Serve on 127.0.0.1; return this cloud's section of endpoints.yml (endpoints, credential
        files, project/subscription ids). Secrets may appear there: the file is private."""

    def stop(self) -> None: ...

    def reset(self) -> None:
        """Empty the cloud (and delete its clusters from the runtime); credentials stay valid."""

    def status(self) -> dict:
        """Clusters, node pools and operations for `mc-sandbox status`; never secrets."""
