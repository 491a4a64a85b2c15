"""Real Kubernetes control planes for the sandbox's clusters.

One embedded etcd serves every cluster (each API server under its own key prefix). Each cluster
runs the upstream kube-apiserver, kube-controller-manager, kube-scheduler and kwok (which plays
the kubelets of simulated nodes), all from the one `mc-kube` binary built from pinned upstream Go
modules. Clients reach a cluster through a TCP proxy so a region outage can cut it off.
"""

from __future__ import annotations

import base64
import json
import logging
import pathlib
import shutil
import subprocess
import threading
import time

import requests
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from mc_sandbox.core.faults import FaultManager
from mc_sandbox.core.procs import LOOPBACK, Process, free_port, stop_all, wait_for_port
from mc_sandbox.core.runtime import ClusterHandle, NodePool, TokenAuthenticator, cluster_key
from mc_sandbox.k8s.pki import CertificateAuthority, ClusterPKI
from mc_sandbox.k8s.proxy import TcpProxy
from mc_sandbox.k8s.webhook import TokenWebhook

log = logging.getLogger(__name__)

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service: first address of SERVICE_CIDR
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
POOL_LABEL = "sandbox.multicloud.fabric/pool"
POOL_KEYS_ANNOTATION = "sandbox.multicloud.fabric/pool-label-keys"
READY_TIMEOUT = 180.0
NODE_LEASE_SECONDS = 40  # the kubelet's default
# A cluster's state lives only as long as the sandbox (the clouds' state is in memory), so a long
# graceful drain of kube-apiserver buys nothing: it gets this long after SIGTERM, then SIGKILL.
STOP_GRACE = 3.0

# (cpu, memory) of the instance types the examples use; anything else gets the default.
INSTANCE_SIZES = {
    "t3.medium": ("2", "4Gi"),
    "t3.large": ("2", "8Gi"),
    "m5.large": ("2", "8Gi"),
    "m5.xlarge": ("4", "16Gi"),
    "m6i.xlarge": ("4", "16Gi"),
    "e2-standard-4": ("4", "16Gi"),
    "n2-standard-4": ("4", "16Gi"),
    "Standard_D4s_v5": ("4", "16Gi"),
}
DEFAULT_SIZE = ("4", "16Gi")


def _kubeconfig(server: str, ca: pathlib.Path, cert: pathlib.Path, key: pathlib.Path, name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": name, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def _prefix_end(prefix: bytes) -> bytes:
    return prefix[:-1] + bytes([prefix[-1] + 1])


class ControlPlane:
    """One cluster's processes, files and ports."""

    def __init__(self, manager: KubeManager, cloud: str, region: str, name: str):
        self.cloud, self.region, self.name = cloud, region, name
        self.key = cluster_key(cloud, region, name)
        self.dir = manager.state / "clusters" / f"{cloud}-{region}-{name}"
        self.pki = ClusterPKI(self.dir / "pki")
        self.manager = manager
        self.api_port = free_port()
        self.proxy = TcpProxy(free_port(), self.api_port)
        self.processes: dict[str, Process] = {}
        self.pools: dict[str, NodePool] = {}
        self.lock = threading.Lock()
        self._api: k8s.ApiClient | None = None

    # ------------------------------------------------------------------ files
    def kubeconfig_path(self, user: str) -> pathlib.Path:
        return self.dir / f"{user}.kubeconfig"

    def _write_files(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.pki.exists():
            self.pki.create(self.name, SERVICE_IP)
        direct = f"https://{LOOPBACK}:{self.api_port}"
        for user in ("admin", "controller-manager", "scheduler", "sandbox"):
            config = _kubeconfig(
                direct, self.pki.path("ca.crt"), self.pki.path(f"{user}.crt"), self.pki.path(f"{user}.key"), self.name
            )
            self.kubeconfig_path(user).write_text(yaml.safe_dump(config))
        webhook = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "webhook", "cluster": {"server": self.manager.webhook.url(self.key)}}],
            "users": [{"name": "kube-apiserver", "user": {}}],
            "contexts": [{"name": "webhook", "context": {"cluster": "webhook", "user": "kube-apiserver"}}],
            "current-context": "webhook",
        }
        (self.dir / "token-webhook.kubeconfig").write_text(yaml.safe_dump(webhook))

    # ------------------------------------------------------------------ processes
    def _commands(self) -> dict[str, list[str]]:
        binary = str(self.manager.binary)
        pki = self.pki.path
        kubeconfig = self.kubeconfig_path
        return {
            "kube-apiserver": [
                binary,
                "kube-apiserver",
                f"--etcd-servers={self.manager.etcd_url}",
                f"--etcd-prefix=/registry/{self.key}",
                f"--bind-address={LOOPBACK}",
                f"--advertise-address={LOOPBACK}",
                f"--secure-port={self.api_port}",
                f"--tls-cert-file={pki('apiserver.crt')}",
                f"--tls-private-key-file={pki('apiserver.key')}",
                f"--client-ca-file={pki('ca.crt')}",
                f"--service-account-key-file={pki('sa.pub')}",
                f"--service-account-signing-key-file={pki('sa.key')}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # a loopback advertise address cannot be an Endpoints address: don't reconcile it
                "--endpoint-reconciler-type=none",
                f"--requestheader-client-ca-file={pki('front-proxy-ca.crt')}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki('front-proxy-client.crt')}",
                f"--proxy-client-key-file={pki('front-proxy-client.key')}",
                "--authorization-mode=Node,RBAC",
                f"--authentication-token-webhook-config-file={self.dir / 'token-webhook.kubeconfig'}",
                "--authentication-token-webhook-cache-ttl=10s",
                "--allow-privileged=true",
                "--profiling=false",
                "--event-ttl=15m",
            ],
            "kube-controller-manager": [
                binary,
                "kube-controller-manager",
                f"--kubeconfig={kubeconfig('controller-manager')}",
                f"--authentication-kubeconfig={kubeconfig('controller-manager')}",
                f"--authorization-kubeconfig={kubeconfig('controller-manager')}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={free_port()}",
                f"--cert-dir={self.dir / 'controller-manager-certs'}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki('sa.key')}",
                f"--root-ca-file={pki('ca.crt')}",
                f"--cluster-signing-cert-file={pki('ca.crt')}",
                f"--cluster-signing-key-file={pki('ca.key')}",
                "--profiling=false",
            ],
            "kube-scheduler": [
                binary,
                "kube-scheduler",
                f"--kubeconfig={kubeconfig('scheduler')}",
                f"--authentication-kubeconfig={kubeconfig('scheduler')}",
                f"--authorization-kubeconfig={kubeconfig('scheduler')}",
                f"--bind-address={LOOPBACK}",
                f"--secure-port={free_port()}",
                f"--cert-dir={self.dir / 'scheduler-certs'}",
                "--leader-elect=false",
                "--profiling=false",
            ],
            "kwok": [
                binary,
                "kwok",
                f"--kubeconfig={kubeconfig('sandbox')}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
                f"--config={self.manager.kwok_config}",
                f"--server-address={LOOPBACK}:{free_port()}",
                f"--node-ip={LOOPBACK}",
                "--cidr=10.244.0.1/16",
                # Renew each node's Lease as a kubelet does. With only Stage documents in --config
                # kwok leaves leases off, and then the node lifecycle controller finds every node
                # silent after its grace period, marks them NotReady and their pods not Ready
                # (which kwok never undoes), so Services lose their endpoints within a minute.
                f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
            ],
        }

    def start(self) -> None:
        self._write_files()
        commands = self._commands()
        logs = self.dir / "logs"
        api = self.processes["kube-apiserver"] = Process(
            "kube-apiserver", commands["kube-apiserver"], logs / "kube-apiserver.log"
        ).start()
        self._wait_ready(api)
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
            self.processes[name] = Process(name, commands[name], logs / f"{name}.log").start()
        self.apply_faults()

    def _wait_ready(self, api: Process) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        cert = (str(self.pki.path("admin.crt")), str(self.pki.path("admin.key")))
        url = f"https://{LOOPBACK}:{self.api_port}/readyz"
        while True:
            if not api.alive():
                raise RuntimeError(f"kube-apiserver of {self.key} exited: {api.tail()}")
            try:
                if requests.get(url, cert=cert, verify=str(self.pki.path("ca.crt")), timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"kube-apiserver of {self.key} not ready after {READY_TIMEOUT:.0f}s: {api.tail()}")
            time.sleep(0.25)

    def apply_faults(self) -> None:
        if self.manager.faults.is_down(self.cloud, self.region):
            self.proxy.down()
        else:
            self.proxy.up()

    def stop(self) -> None:
        self.proxy.down()
        processes, self.processes = list(self.processes.values()), {}
        stop_all(processes, STOP_GRACE)
        self._api = None

    def handle(self) -> ClusterHandle:
        return ClusterHandle(
            key=self.key,
            endpoint=f"https://{LOOPBACK}:{self.proxy.port}",
            ca_pem=self.pki.ca_pem,
            git_version=self.manager.git_version,
        )

    def status(self) -> dict:
        return {
            "cloud": self.cloud,
            "region": self.region,
            "name": self.name,
            "endpoint": f"https://{LOOPBACK}:{self.proxy.port}",
            "reachable": self.proxy.is_up,
            "processes": {name: ("running" if p.alive() else "exited") for name, p in self.processes.items()},
            "node_pools": {name: pool.count for name, pool in self.pools.items()},
            "admin_kubeconfig": str(self.kubeconfig_path("admin")),
        }

    # ------------------------------------------------------------------ nodes
    def api(self) -> k8s.ApiClient:
        if self._api is None:
            config = k8s.Configuration()
            config.host = f"https://{LOOPBACK}:{self.api_port}"
            config.ssl_ca_cert = str(self.pki.path("ca.crt"))
            config.cert_file = str(self.pki.path("sandbox.crt"))
            config.key_file = str(self.pki.path("sandbox.key"))
            self._api = k8s.ApiClient(config)
        return self._api

    def set_pool(self, pool: NodePool) -> None:
        with self.lock:
            core = k8s.CoreV1Api(self.api())
            existing = {
                node.metadata.name: node for node in core.list_node(label_selector=f"{POOL_LABEL}={pool.name}").items
            }
            wanted = [f"{pool.name}-{index}" for index in range(pool.count)]
            for index, name in enumerate(wanted):
                body = self._node_body(pool, name, index)
                if name in existing:
                    old_keys = json.loads(existing[name].metadata.annotations.get(POOL_KEYS_ANNOTATION, "[]"))
                    labels = dict(body["metadata"]["labels"])
                    labels.update({key: None for key in old_keys if key not in labels})
                    core.patch_node(
                        name,
                        {
                            "metadata": {"labels": labels, "annotations": body["metadata"]["annotations"]},
                            "spec": {"taints": body["spec"]["taints"] or None},
                        },
                    )
                else:
                    core.create_node(body)
            for name in sorted(set(existing) - set(wanted)):
                try:
                    core.delete_node(name)
                except ApiException as exc:
                    if exc.status != 404:
                        raise
            if pool.count:
                self.pools[pool.name] = pool
            else:
                self.pools.pop(pool.name, None)

    def _node_body(self, pool: NodePool, name: str, index: int) -> dict:
        cpu, memory = INSTANCE_SIZES.get(pool.instance_type, DEFAULT_SIZE)
        labels = {
            **pool.labels,
            POOL_LABEL: pool.name,
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": pool.instance_type,
            "type": "kwok",
        }
        if pool.zones:
            labels["topology.kubernetes.io/zone"] = pool.zones[index % len(pool.zones)]
        labels.setdefault("topology.kubernetes.io/region", self.region)
        resources = {"cpu": cpu, "memory": memory, "pods": "110"}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {
                    KWOK_ANNOTATION: "fake",
                    "node.alpha.kubernetes.io/ttl": "0",
                    POOL_KEYS_ANNOTATION: json.dumps(sorted(pool.labels)),
                },
            },
            "spec": {"taints": [dict(t) for t in pool.taints]},
            "status": {
                "allocatable": resources,
                "capacity": resources,
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "osImage": "kwok",
                    "kernelVersion": "kwok",
                    "containerRuntimeVersion": "kwok",
                    "kubeletVersion": self.manager.git_version,
                    "kubeProxyVersion": self.manager.git_version,
                    "machineID": name,
                    "systemUUID": name,
                    "bootID": name,
                },
            },
        }


class KubeManager:
    """Implements runtime.KubeRuntime with real control planes."""

    def __init__(self, state: pathlib.Path, binary: pathlib.Path, kwok_config: pathlib.Path, faults: FaultManager):
        self.state = state
        self.binary = binary
        self.kwok_config = kwok_config
        self.faults = faults
        self.webhook = TokenWebhook()
        self.clusters: dict[str, ControlPlane] = {}
        self._lock = threading.Lock()
        self._creating: dict[str, threading.Lock] = {}
        self.etcd: Process | None = None
        self.etcd_port = 0
        self.git_version = self._versions().get("kubernetes", "unknown")
        self._listeners = []
        faults.on_change(self.apply_faults)

    def _versions(self) -> dict:
        out = subprocess.run([str(self.binary), "version"], capture_output=True, text=True, check=True, timeout=30)  # noqa: S603
        return json.loads(out.stdout)

    @property
    def etcd_url(self) -> str:
        return f"http://{LOOPBACK}:{self.etcd_port}"

    def start(self) -> None:
        # Every start is a fresh set of clouds: drop what an earlier sandbox left in etcd and on disk.
        data = self.state / "etcd"
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(self.state / "clusters", ignore_errors=True)
        self.webhook.start()
        self.etcd_port, peer = free_port(), free_port()
        self.etcd = Process(
            "etcd",
            [
                str(self.binary),
                "etcd",
                "--name=sandbox",
                f"--data-dir={data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://{LOOPBACK}:{peer}",
                f"--initial-advertise-peer-urls=http://{LOOPBACK}:{peer}",
                f"--initial-cluster=sandbox=http://{LOOPBACK}:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            self.state / "logs" / "etcd.log",
        ).start()
        wait_for_port(self.etcd_port, 30)

    def stop(self) -> None:
        planes, self.clusters = list(self.clusters.values()), {}
        threads = [threading.Thread(target=plane.stop) for plane in planes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.etcd is not None:
            self.etcd.stop()
        self.webhook.stop()

    def on_cluster_change(self, callback) -> None:
        """`callback(event, plane)` with event 'created' or 'deleted' (the load balancer controller)."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ KubeRuntime
    def register_authenticator(self, token_prefix: str, authenticator: TokenAuthenticator) -> None:
        self.webhook.register(token_prefix, authenticator)

    def create_cluster(self, cloud: str, region: str, name: str) -> ClusterHandle:
        key = cluster_key(cloud, region, name)
        with self._lock:
            creating = self._creating.setdefault(key, threading.Lock())
        with creating:
            plane = self.clusters.get(key)
            if plane is not None:
                return plane.handle()
            plane = ControlPlane(self, cloud, region, name)
            try:
                plane.start()
            except Exception:
                plane.stop()
                raise
            self.clusters[key] = plane
        for callback in self._listeners:
            callback("created", plane)
        return plane.handle()

    def get_cluster(self, cloud: str, region: str, name: str) -> ClusterHandle | None:
        plane = self.clusters.get(cluster_key(cloud, region, name))
        return plane.handle() if plane else None

    def delete_cluster(self, cloud: str, region: str, name: str) -> None:
        plane = self.clusters.pop(cluster_key(cloud, region, name), None)
        if plane is None:
            return
        for callback in self._listeners:
            callback("deleted", plane)
        plane.stop()
        self._delete_prefix(f"/registry/{plane.key}/")
        shutil.rmtree(plane.dir, ignore_errors=True)

    def _delete_prefix(self, prefix: str) -> None:
        raw = prefix.encode()
        body = {"key": base64.b64encode(raw).decode(), "range_end": base64.b64encode(_prefix_end(raw)).decode()}
        requests.post(f"{self.etcd_url}/v3/kv/deleterange", json=body, timeout=10).raise_for_status()

    def _plane(self, cloud: str, region: str, cluster: str) -> ControlPlane:
        plane = self.clusters.get(cluster_key(cloud, region, cluster))
        if plane is None:
            raise KeyError(f"no control plane for {cluster_key(cloud, region, cluster)}")
        return plane

    def set_node_pool(self, cloud: str, region: str, cluster: str, pool: NodePool) -> None:
        self._plane(cloud, region, cluster).set_pool(pool)

    def issue_client_certificate(
        self, cloud: str, region: str, cluster: str, common_name: str, organizations: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        pki = self._plane(cloud, region, cluster).pki
        ca = CertificateAuthority.load(pki.path("ca.crt"), pki.path("ca.key"))
        cert, key = ca.issue(common_name, organizations=organizations, client=True)
        return cert.decode(), key.decode()

    def delete_node_pool(self, cloud: str, region: str, cluster: str, pool: str) -> None:
        plane = self.clusters.get(cluster_key(cloud, region, cluster))
        if plane is not None:
            plane.set_pool(NodePool(name=pool, count=0))

    # ------------------------------------------------------------------ faults
    def apply_faults(self) -> None:
        for plane in list(self.clusters.values()):
            plane.apply_faults()

    def status(self) -> dict:
        return {
            "kubernetes": self.git_version,
            "etcd": "running" if self.etcd and self.etcd.alive() else "stopped",
            "clusters": {key: plane.status() for key, plane in sorted(self.clusters.items())},
            "token_webhook": {"reviews": self.webhook.reviews, "accepted": self.webhook.accepted},
        }
