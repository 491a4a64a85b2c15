"""Inventory figures: `ansible-inventory --list` over ~300 EKS, GKE and AKS clusters through the
`multicloud.fabric.clusters` plugin, concurrent (max_workers=8), serial (max_workers=1) and cached.

    .venv/bin/python benchmarks/inventory_clusters.py [--latency-ms 50] [--rounds 1] [--json]

The three emulated clouds run in this process, each an HTTP(S) server on 127.0.0.1 reached by the
plugin through the official SDKs, as in production. Their Kubernetes side is a stub (no control
planes: 300 would not fit on one machine), which the plugin never notices: it only reads the cloud
APIs. The clusters are created through boto3, google-cloud-container and azure-mgmt-containerservice
with simulated time stopped (time factor 0), then every request of every cloud gets `--latency-ms`
of added latency from the sandbox's fault framework, as a far-away cloud API would.

Each `ansible-inventory` run must find every cluster (a run that misses one is an error, not a
figure). Times are wall times of the whole command, Ansible's own start included; the startup line
is `ansible-inventory -i localhost, --list` for comparison. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.session
import yaml
from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient
from botocore.config import Config
from google.cloud import container_v1
from google.oauth2 import service_account
from mc_sandbox.aws import AwsCloud
from mc_sandbox.azure import AzureCloud
from mc_sandbox.faults import FaultManager, FaultRule
from mc_sandbox.gcp import GcpCloud
from mc_sandbox.pki import sandbox_tls
from mc_sandbox.runtime import CloudContext, ClusterHandle, cluster_key

CHECKOUT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
# ~300 clusters: AWS 6 regions x 17, GCP 4 regions x 25 (one project), Azure 4 locations x 25 in 4 groups.
AWS_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")
GCP_REGIONS = ("us-central1", "us-east1", "europe-west1", "asia-east1")
AZURE_LOCATIONS = ("eastus", "westus2", "westeurope", "southeastasia")
AZURE_GROUPS = ("platform-rg", "apps-rg", "data-rg", "edge-rg")
PER_REGION = {"aws": 17, "gcp": 25, "azure": 25}
CLOUDS = ("aws", "gcp", "azure")
FIGURES = ("startup", "concurrent", "serial", "cache_fill", "cached")
ACCOUNT = "123456789012"
GCP_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
POLL = 0.05


class StubRuntime:
    """The Kubernetes side of the sandbox without Kubernetes: a cluster's control plane is a handle
    to nothing (port 9, the discard service), node pools are remembered and never run. The clouds
    report clusters ACTIVE/RUNNING/Succeeded as soon as their simulated creation time is over."""

    git_version = "v1.33.5"

    def __init__(self, ca_pem: str):
        self._ca_pem = ca_pem
        self._lock = threading.Lock()
        self.clusters: dict[str, ClusterHandle] = {}

    def create_cluster(self, cloud, region, name):
        key = cluster_key(cloud, region, name)
        with self._lock:
            return self.clusters.setdefault(
                key, ClusterHandle(key, "https://127.0.0.1:9", self._ca_pem, self.git_version)
            )

    def delete_cluster(self, cloud, region, name):
        with self._lock:
            self.clusters.pop(cluster_key(cloud, region, name), None)

    def get_cluster(self, cloud, region, name):
        with self._lock:
            return self.clusters.get(cluster_key(cloud, region, name))

    def set_node_pool(self, cloud, region, cluster, pool):
        pass

    def delete_node_pool(self, cloud, region, cluster, pool):
        pass

    def register_authenticator(self, token_prefix, authenticator):
        pass

    def issue_client_certificate(self, cloud, region, cluster, common_name, organizations=()):
        return "CERT-PEM", "KEY-PEM"


class Deadline:
    """The benchmark's total time budget."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise SystemExit(f"inventory_clusters: over the total timeout of {self.seconds:.0f} s")
        return left


def poll(deadline: Deadline, what: str, check) -> None:
    """Call `check()` until it is true, within the deadline."""
    while not check():
        if deadline.left() < 1:
            raise SystemExit(f"inventory_clusters: timed out waiting for {what}")
        time.sleep(POLL)


# ---------------------------------------------------------------------------- the clouds
class Clouds:
    """The three emulated clouds, started in this process on loopback, and their SDK clients."""

    def __init__(self, state: pathlib.Path):
        self.tls = sandbox_tls(state / "pki")
        self.faults = FaultManager()
        self.runtime = StubRuntime(self.tls.ca.read_text())
        self.clouds = {
            "aws": AwsCloud(CloudContext(self.faults, self.runtime, 0.0, state / "aws", self.tls)),
            "gcp": GcpCloud(CloudContext(self.faults, self.runtime, 0.0, state / "gcp", self.tls)),
            "azure": AzureCloud(CloudContext(self.faults, self.runtime, 0.0, state / "azure", self.tls), retry_after=0),
        }
        self.started: list[str] = []
        self.endpoints: dict[str, dict] = {}

    def start(self) -> None:
        for name, cloud in self.clouds.items():
            self.endpoints[name] = cloud.start()
            self.started.append(name)

    def stop(self) -> None:
        for name in reversed(self.started):
            try:
                self.clouds[name].stop()
            finally:
                self.started.remove(name)

    def requests(self) -> dict[str, int]:
        totals = self.faults.snapshot()["requests_total"]
        return {cloud: totals.get(cloud, 0) for cloud in CLOUDS}


def create_aws(clouds: Clouds, layout: dict, deadline: Deadline, workers: int) -> None:
    ep = clouds.endpoints["aws"]
    session = boto3.Session(
        aws_access_key_id=ep["access_key"],
        aws_secret_access_key=ep["secret_key"],
        botocore_session=botocore.session.get_session(),
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 3}, max_pool_connections=workers)
    eks = {r: session.client("eks", region_name=r, endpoint_url=ep["endpoint_url"], config=config) for r in layout}
    subnets = {}
    for region in layout:
        ec2 = session.client("ec2", region_name=region, endpoint_url=ep["endpoint_url"], config=config)
        found = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
        subnets[region] = [s["SubnetId"] for s in found[:2]]

    def one(region: str, name: str) -> None:
        client = eks[region]
        client.create_cluster(
            name=name,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
            resourcesVpcConfig={"subnetIds": subnets[region]},
            tags={"team": "platform", "bench": "inventory"},
        )
        poll(
            deadline,
            f"EKS {region}/{name}",
            lambda: client.describe_cluster(name=name)["cluster"]["status"] == "ACTIVE",
        )
        client.create_nodegroup(
            clusterName=name,
            nodegroupName="workers",
            scalingConfig={"minSize": 2, "maxSize": 2, "desiredSize": 2},
            subnets=subnets[region],
            nodeRole=f"arn:aws:iam::{ACCOUNT}:role/eks-node",
        )
        poll(
            deadline,
            f"EKS nodegroup {region}/{name}/workers",
            lambda: (
                client.describe_nodegroup(clusterName=name, nodegroupName="workers")["nodegroup"]["status"] == "ACTIVE"
            ),
        )

    run_all(workers, [(one, region, name) for region, names in layout.items() for name in names])


def create_gcp(clouds: Clouds, layout: dict, deadline: Deadline, workers: int) -> None:
    ep = clouds.endpoints["gcp"]
    creds = service_account.Credentials.from_service_account_file(ep["service_account_file"], scopes=GCP_SCOPES)
    gke = container_v1.ClusterManagerClient(
        credentials=creds, transport="rest", client_options={"api_endpoint": ep["api_endpoint"]}
    )
    project = ep["project"]

    def one(region: str, name: str) -> None:
        parent = f"projects/{project}/locations/{region}"
        gke.create_cluster(
            parent=parent,
            cluster={
                "name": name,
                "resource_labels": {"team": "platform", "bench": "inventory"},
                "node_pools": [
                    {"name": "workers", "initial_node_count": 1, "config": {"machine_type": "e2-standard-4"}}
                ],
            },
        )
        running = container_v1.Cluster.Status.RUNNING
        poll(
            deadline,
            f"GKE {region}/{name}",
            lambda: gke.get_cluster(name=f"{parent}/clusters/{name}").status == running,
        )

    run_all(workers, [(one, region, name) for region, names in layout.items() for name in names])


def create_azure(clouds: Clouds, layout: dict, deadline: Deadline, workers: int) -> None:
    ep = clouds.endpoints["azure"]
    credential = ClientSecretCredential(
        ep["tenant_id"],
        ep["client_id"],
        ep["client_secret"],
        authority=ep["authority_host"],
        connection_verify=ep["ca_bundle"],
        disable_instance_discovery=True,
    )
    common = {"base_url": ep["base_url"], "connection_verify": ep["ca_bundle"], "polling_interval": POLL}
    groups = ResourceManagementClient(credential, ep["subscription_id"], **common).resource_groups
    for group in AZURE_GROUPS:
        groups.create_or_update(group, {"location": AZURE_LOCATIONS[0]})
    aks = ContainerServiceClient(credential, ep["subscription_id"], **common).managed_clusters

    def one(location: str, name: str, group: str) -> None:
        body = {
            "location": location,
            "tags": {"team": "platform", "bench": "inventory"},
            "properties": {
                "dnsPrefix": name,
                "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D4s_v5", "mode": "System"}],
            },
        }
        cluster = aks.begin_create_or_update(group, name, body).result(timeout=deadline.left())
        if cluster.provisioning_state != "Succeeded":
            raise SystemExit(f"inventory_clusters: AKS {group}/{name} ended {cluster.provisioning_state}")

    work = []
    for location, names in layout.items():
        for index, name in enumerate(names):
            work.append((one, location, name, AZURE_GROUPS[index % len(AZURE_GROUPS)]))
    run_all(workers, work)


def run_all(workers: int, work: list[tuple]) -> None:
    with ThreadPoolExecutor(workers, thread_name_prefix="bench-create") as pool:
        for future in [pool.submit(fn, *args) for fn, *args in work]:
            future.result()


def layouts(scale: float) -> dict[str, dict[str, list[str]]]:
    """cloud -> region -> cluster names."""
    regions = {"aws": AWS_REGIONS, "gcp": GCP_REGIONS, "azure": AZURE_LOCATIONS}
    result = {}
    for cloud, names in regions.items():
        count = max(1, round(PER_REGION[cloud] * scale))
        result[cloud] = {region: [f"{cloud}-{region}-{i:02d}" for i in range(count)] for region in names}
    return result


# ---------------------------------------------------------------------------- the plugin
def inventory_config(clouds: Clouds, *, max_workers: int, cache_dir: pathlib.Path | None, by_group: bool) -> dict:
    aws, gcp, azure = (clouds.endpoints[c] for c in CLOUDS)
    config = {
        "plugin": "multicloud.fabric.clusters",
        "max_workers": max_workers,
        "strict_permissions": True,
        "aws": {
            "endpoint_url": aws["endpoint_url"],
            "access_key": aws["access_key"],
            "secret_key": aws["secret_key"],
            "regions": list(AWS_REGIONS),
        },
        "gcp": {
            "project": gcp["project"],
            "service_account_file": gcp["service_account_file"],
            "api_endpoint": gcp["api_endpoint"],
            "ca_bundle": gcp["ca_bundle"],
        },
        "azure": {
            "subscription_id": azure["subscription_id"],
            "tenant_id": azure["tenant_id"],
            "client_id": azure["client_id"],
            "client_secret": azure["client_secret"],
            "auth_source": "service_principal",
            "base_url": azure["base_url"],
            "authority_host": azure["authority_host"],
            "ca_bundle": azure["ca_bundle"],
        },
    }
    if by_group:
        config["azure"]["resource_groups"] = list(AZURE_GROUPS)
    if cache_dir is not None:
        config.update(
            cache=True,
            cache_plugin="ansible.builtin.jsonfile",
            cache_connection=str(cache_dir),
            cache_timeout=3600,
        )
    return config


def child_env(home: pathlib.Path) -> dict[str, str]:
    """The environment of ansible-inventory: this checkout's ansible.cfg, no cloud credentials,
    CA bundles or proxies inherited from the caller (the config file says everything)."""
    drop = ("AWS_", "GOOGLE_", "GCP_", "AZURE_", "ANSIBLE_", "REQUESTS_CA_BUNDLE", "SSL_CERT_", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    env.update(
        ANSIBLE_CONFIG=str(CHECKOUT / "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONWARNINGS="ignore",
    )
    return env


def ansible_inventory(source: str, env: dict, deadline: Deadline) -> tuple[float, dict]:
    """(wall seconds, parsed --list output) of one run; its process group is killed on timeout."""
    started = time.monotonic()
    with subprocess.Popen(
        [str(BIN / "ansible-inventory"), "-i", source, "--list"],
        cwd=CHECKOUT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=deadline.left())
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise SystemExit("inventory_clusters: ansible-inventory ran past the total timeout") from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"inventory_clusters: ansible-inventory -i {source} failed:\n{err}")
    return elapsed, json.loads(out)


def hosts_by_cloud(listing: dict) -> dict[str, int]:
    """Hosts per `mc_cloud` (values the plugin read from a cloud come as `{"__ansible_unsafe": ...}`)."""
    counts = dict.fromkeys(CLOUDS, 0)
    for variables in listing.get("_meta", {}).get("hostvars", {}).values():
        cloud = variables.get("mc_cloud")
        cloud = str(cloud.get("__ansible_unsafe") if isinstance(cloud, dict) else cloud)
        counts[cloud] = counts.get(cloud, 0) + 1
    return counts


def measured_run(clouds: Clouds, config: pathlib.Path, env: dict, expected: dict, deadline: Deadline) -> dict:
    before = clouds.requests()
    elapsed, listing = ansible_inventory(str(config), env, deadline)
    after = clouds.requests()
    found = hosts_by_cloud(listing)
    if found != expected:
        raise SystemExit(f"inventory_clusters: {config.name} found {found} hosts, expected {expected}")
    return {"seconds": elapsed, "requests": {c: after[c] - before[c] for c in CLOUDS}}


# ---------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every request of every cloud")
    parser.add_argument("--rounds", type=int, default=1, help="measure each figure this many times (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="clusters per region x this (1: ~300)")
    parser.add_argument("--azure-by-group", action="store_true", help="list Azure per resource group")
    parser.add_argument("--timeout", type=float, default=600.0, help="total seconds before giving up")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.rounds < 1 or args.scale <= 0 or args.latency_ms < 0:
        parser.error("--rounds must be >= 1, --scale > 0 and --latency-ms >= 0")
    deadline = Deadline(args.timeout)
    # moto loads thousands of AMIs into every EC2 region it creates; nothing here looks at images.
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    layout = layouts(args.scale)
    expected = {cloud: sum(len(names) for names in layout[cloud].values()) for cloud in CLOUDS}

    with tempfile.TemporaryDirectory(prefix="mc-bench-inventory-") as directory:
        tmp = pathlib.Path(directory)
        clouds = Clouds(tmp / "clouds")
        # The in-process SDK clients of the setup trust the sandbox CA; ansible-inventory gets the
        # bundles from its config file only (child_env drops this variable).
        os.environ["REQUESTS_CA_BUNDLE"] = str(clouds.tls.ca)
        try:
            clouds.start()
            started = time.monotonic()
            workers = 16
            create_aws(clouds, layout["aws"], deadline, workers)
            create_gcp(clouds, layout["gcp"], deadline, workers)
            create_azure(clouds, layout["azure"], deadline, workers)
            setup = time.monotonic() - started
            for cloud in CLOUDS:
                clouds.faults.add_rule(FaultRule(cloud=cloud, latency_ms=args.latency_ms))

            env = child_env(tmp)
            configs = {}
            for name, workers_, cache in (("concurrent", 8, None), ("serial", 1, None), ("cached", 8, tmp / "cache")):
                path = tmp / f"{name}.clusters.yml"
                config = inventory_config(clouds, max_workers=workers_, cache_dir=cache, by_group=args.azure_by_group)
                path.write_text(yaml.safe_dump(config, sort_keys=False))
                path.chmod(0o600)
                configs[name] = path
            # One untimed run first, so that no figure pays for a cold page cache or .pyc compilation.
            measured_run(clouds, configs["concurrent"], env, expected, deadline)
            runs: dict[str, list[dict]] = {name: [] for name in FIGURES}
            for _ in range(args.rounds):
                runs["startup"].append({"seconds": ansible_inventory("localhost,", env, deadline)[0]})
                runs["concurrent"].append(measured_run(clouds, configs["concurrent"], env, expected, deadline))
                runs["serial"].append(measured_run(clouds, configs["serial"], env, expected, deadline))
                for entry in (tmp / "cache").glob("*"):
                    entry.unlink()
                runs["cache_fill"].append(measured_run(clouds, configs["cached"], env, expected, deadline))
                runs["cached"].append(measured_run(clouds, configs["cached"], env, expected, deadline))
                if any(runs["cached"][-1]["requests"].values()):
                    raise SystemExit(f"inventory_clusters: the cached run called the clouds: {runs['cached'][-1]}")
        finally:
            clouds.stop()

    figures = {name: statistics.median(r["seconds"] for r in entries) for name, entries in runs.items()}
    requests = {name: entries[-1].get("requests") for name, entries in runs.items() if name != "startup"}
    result = {
        "clusters": sum(expected.values()),
        "clusters_by_cloud": expected,
        "units": {"aws": len(AWS_REGIONS), "gcp": 1, "azure": len(AZURE_GROUPS) if args.azure_by_group else 1},
        "latency_ms": args.latency_ms,
        "rounds": args.rounds,
        "setup_seconds": round(setup, 2),
        "seconds": {name: round(value, 3) for name, value in figures.items()},
        "all_seconds": {name: [round(r["seconds"], 3) for r in entries] for name, entries in runs.items()},
        "requests": requests,
        "ratio_serial_concurrent": round(figures["serial"] / figures["concurrent"], 2),
        "ratio_cold_cached": round(figures["concurrent"] / figures["cached"], 2),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    total = {name: sum((r or {}).values()) for name, r in requests.items()}
    per_cloud = ", ".join(f"{c} {n}" for c, n in expected.items())
    print(f"clusters                      {result['clusters']:6d}     ({per_cloud}; created in {setup:.1f} s)")
    print(f"latency per request           {args.latency_ms:6.0f} ms  (every call of every cloud)")
    print(f"ansible-inventory startup     {figures['startup']:6.2f} s   (-i localhost,)")
    print(f"cold, max_workers=8           {figures['concurrent']:6.2f} s   {total['concurrent']:5d} requests")
    print(f"cold, max_workers=1 (serial)  {figures['serial']:6.2f} s   {total['serial']:5d} requests")
    print(f"cache fill (first run)        {figures['cache_fill']:6.2f} s   {total['cache_fill']:5d} requests")
    print(f"cached (second run)           {figures['cached']:6.2f} s   {total['cached']:5d} requests")
    print(f"latency alone, one at a time  {total['serial'] * args.latency_ms / 1000:6.2f} s   (requests x latency)")
    print(f"ratio serial/concurrent       {result['ratio_serial_concurrent']:6.2f}")
    print(f"ratio cold/cached             {result['ratio_cold_cached']:6.2f}")
    print(f"rounds {args.rounds} (medians); {result['cpus']} CPUs, load average {result['load_average'][0]:.2f}")


if __name__ == "__main__":
    main()
