"""Inventory figures: `ansible-inventory --list` over ~300 EKS, GKE and AKS clusters through the
`multicloud.fabric.clusters` plugin, concurrent (max_workers=8), serial (max_workers=1) and cached,
then cold runs at larger fleets (`--sizes`) to show that the cost per cluster stays flat.

    .venv/bin/python benchmarks/inventory_clusters.py [--latency-ms 50] [--rounds 1] [--json]
        [--sizes 1000,3000] [--profile FILE]

The three emulated clouds run in this process, each an HTTP(S) server on 127.0.0.1 reached by the
plugin through the official SDKs, as in production. Their Kubernetes side is a stub (no control
planes: 300 would not fit on one machine), which the plugin never notices: it only reads the cloud
APIs. The clusters are created through boto3, google-cloud-container and azure-mgmt-containerservice
with simulated time stopped (time factor 0), then every request of every cloud gets `--latency-ms`
of added latency from the sandbox's fault framework, as a far-away cloud API would.

Each `ansible-inventory` run must find every cluster (a run that misses one is an error, not a
figure). Times are wall times of the whole command, Ansible's own start included; the startup line
is `ansible-inventory -i localhost, --list` for comparison. Beside each wall time is the CPU time
of the `ansible-inventory` process (user + system), and the CPU the emulated clouds spent answering
it (they share the machine's cores). The latency floor of a cold run is the startup plus
requests x latency / max_workers: what the run would take if the plugin cost no CPU at all; the
ratio to it, and (cold - startup) / (requests x latency / max_workers), say how far the run is from
being bound by the clouds' latency alone. CPU per cluster
is (CPU of the run - CPU of the startup) / clusters. `--profile FILE` samples one more cold run
with py-spy (from the package index; only threads holding the GIL, so waiting is not counted) and
prints where its CPU went. Nothing here asserts timings.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import resource
import shutil
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
from mc_sandbox.clouds.aws.server import AwsCloud
from mc_sandbox.clouds.azure.server import AzureCloud
from mc_sandbox.clouds.gcp.server import GcpCloud
from mc_sandbox.core.faults import FaultManager, FaultRule
from mc_sandbox.core.runtime import CloudContext, ClusterHandle, cluster_key
from mc_sandbox.k8s.pki import sandbox_tls

CHECKOUT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
# ~300 clusters: AWS 6 regions x 17, GCP 4 regions x 25 (one project), Azure 4 locations x 25 in 4 groups.
AWS_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")
GCP_REGIONS = ("us-central1", "us-east1", "europe-west1", "asia-east1")
AZURE_LOCATIONS = ("eastus", "westus2", "westeurope", "southeastasia")
AZURE_GROUPS = ("platform-rg", "apps-rg", "data-rg", "edge-rg")
PER_REGION = {"aws": 17, "gcp": 25, "azure": 25}
CLOUDS = ("aws", "gcp", "azure")
FIGURES = ("startup", "concurrent", "serial", "cache_fill", "cached", "constructed")
# What the `constructed` figure adds to a cold run: the documented example's groups and variables,
# and a kubeconfig with a context per cluster (AKS CAs and users cost a request per cluster).
CONSTRUCTED = {
    "keyed_groups": [
        {"key": "mc_version", "prefix": "k8s"},
        {"key": "mc_tags.team | default('none')", "prefix": "team"},
    ],
    "groups": {"platform": "mc_tags.team | default('') == 'platform'"},
    "compose": {"node_count": "mc_node_pools | map(attribute='count') | sum"},
}
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


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def ansible_inventory(source: str, env: dict, deadline: Deadline, prefix: tuple = ()) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, parsed --list output) of one run; its process group is killed on
    timeout. The CPU is what the reaped child used (this process starts no other children meanwhile)."""
    started = time.monotonic()
    children_before = cpu_seconds(resource.RUSAGE_CHILDREN)
    with subprocess.Popen(
        [*prefix, str(BIN / "ansible-inventory"), "-i", source, "--list"],
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
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - children_before
    if process.returncode != 0:
        raise SystemExit(f"inventory_clusters: ansible-inventory -i {source} failed:\n{err}")
    return elapsed, cpu, json.loads(out) if out.lstrip().startswith("{") else {}


def hosts_by_cloud(listing: dict) -> dict[str, int]:
    """Hosts per `mc_cloud` (values the plugin read from a cloud come as `{"__ansible_unsafe": ...}`)."""
    counts = dict.fromkeys(CLOUDS, 0)
    for variables in listing.get("_meta", {}).get("hostvars", {}).values():
        cloud = variables.get("mc_cloud")
        cloud = str(cloud.get("__ansible_unsafe") if isinstance(cloud, dict) else cloud)
        counts[cloud] = counts.get(cloud, 0) + 1
    return counts


def measured_run(
    clouds: Clouds, config: pathlib.Path, env: dict, expected: dict, deadline: Deadline, *, prefix: tuple = ()
) -> dict:
    before = clouds.requests()
    server_before = cpu_seconds(resource.RUSAGE_SELF)
    elapsed, cpu, listing = ansible_inventory(str(config), env, deadline, prefix)
    server = cpu_seconds(resource.RUSAGE_SELF) - server_before
    after = clouds.requests()
    if not prefix:  # under a profiler the listing goes to the profiler's own output handling
        found = hosts_by_cloud(listing)
        if found != expected:
            raise SystemExit(f"inventory_clusters: {config.name} found {found} hosts, expected {expected}")
    return {"seconds": elapsed, "cpu": cpu, "server_cpu": server, "requests": {c: after[c] - before[c] for c in CLOUDS}}


# ---------------------------------------------------------------------------- profile
# Where a sampled stack's time is counted: the innermost frame whose function name matches, from
# the first row that matches any frame. Rows are in the order the docs list them.
PROFILE_BUCKETS = (
    (
        "SDK client and session construction",
        (
            "Session.client",
            "Session.__init__ (boto3",
            "ClusterManagerClient.__init__",
            "ContainerServiceClient.__init__",
            "Connection.session",
            "Connection.new_client",
        ),
    ),
    ("credentials and tokens", ("get_credentials", "Credentials.refresh", "get_token", "_request_token")),
    ("API requests (serialise, sign, send, parse)", ("BaseClient._make_api_call", "Connection.call (", "Retrier.call")),
    (
        "response to the portable shape",
        ("cluster_to_portable", "cluster_from_arm", "cluster_from_gke", "cluster_result"),
    ),
    ("host names (templating)", ("InventoryModule._hostname",)),
    ("hosts, groups and variables (Ansible)", ("InventoryModule.populate",)),
    ("kubeconfig", ("cluster/kubeconfig.py", "kube_user")),
    ("cache read/write", ("CachePluginAdjudicator", "plugins/cache/", "update_cache_if_changed")),
    ("JSON output (ansible-inventory)", ("InventoryCLI.dump", "InventoryCLI.json_inventory")),
    ("imports (Ansible, SDKs, plugin)", ("_find_and_load",)),
)


def profile_summary(raw: pathlib.Path) -> list[tuple[str, float]]:
    """(bucket, share of the sampled CPU) from py-spy's raw (collapsed) output."""
    counts: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        total += int(samples)
        frames = stack.split(";")
        label = "other (Ansible start, threads, the rest)"
        for name, needles in PROFILE_BUCKETS:
            if any(needle in frame for frame in frames for needle in needles):
                label = name
                break
        counts[label] += int(samples)
    return [(label, n / total) for label, n in counts.most_common()] if total else []


# ---------------------------------------------------------------------------- main
def size_layout(size: int) -> dict[str, dict[str, list[str]]]:
    """A layout of about `size` clusters in the proportions of the default one (302)."""
    base = sum(len(names) for cloud in layouts(1.0).values() for names in cloud.values())
    return layouts(size / base)


def missing(layout: dict, have: dict) -> dict:
    """The clusters of `layout` that `have` does not hold yet (cloud -> region -> names)."""
    return {
        cloud: {r: [n for n in names if n not in set(have.get(cloud, {}).get(r, ()))] for r, names in regions.items()}
        for cloud, regions in layout.items()
    }


def create(clouds: Clouds, layout: dict, deadline: Deadline) -> dict[str, float]:
    """Create the clusters of `layout` without added latency; seconds per cloud."""
    clouds.faults.clear()
    seconds = {}
    for cloud, fn in (("aws", create_aws), ("gcp", create_gcp), ("azure", create_azure)):
        started = time.monotonic()
        if any(layout[cloud].values()):
            fn(clouds, {r: names for r, names in layout[cloud].items() if names}, deadline, 16)
        seconds[cloud] = round(time.monotonic() - started, 1)
    return seconds


def add_latency(clouds: Clouds, latency_ms: float) -> None:
    for cloud in CLOUDS:
        clouds.faults.add_rule(FaultRule(cloud=cloud, latency_ms=latency_ms))


def floor_seconds(startup: float, requests: int, latency_ms: float, workers: int) -> float:
    """The cold run's time if the plugin cost no CPU: Ansible's start plus the latency of its
    requests spread over its workers."""
    return startup + requests * latency_ms / 1000 / workers


def median_by_cpu(runs: list[dict]) -> dict:
    """The run whose CPU is the median of `runs`."""
    return sorted(runs, key=lambda r: r["cpu"])[len(runs) // 2]


def per_cluster_ms(run: dict, startup_cpu: float, clusters: int) -> float:
    return max(0.0, run["cpu"] - startup_cpu) * 1000 / clusters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every request of every cloud")
    parser.add_argument("--rounds", type=int, default=1, help="measure each figure this many times (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="clusters per region x this (1: ~300)")
    parser.add_argument("--sizes", default="", help="larger fleets for cold runs, e.g. 1000,3000 (clusters)")
    parser.add_argument("--azure-by-group", action="store_true", help="list Azure per resource group")
    parser.add_argument("--profile", type=pathlib.Path, help="sample one more cold run with py-spy into this file")
    parser.add_argument("--timeout", type=float, default=1800.0, help="total seconds before giving up")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    try:
        sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})
    except ValueError:
        parser.error(f"--sizes must be cluster counts separated by commas, got {args.sizes!r}")
    if args.rounds < 1 or args.scale <= 0 or args.latency_ms < 0 or any(size < 1 for size in sizes):
        parser.error("--rounds must be >= 1, --scale > 0, --latency-ms >= 0 and --sizes >= 1")
    py_spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if args.profile and not py_spy:
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    deadline = Deadline(args.timeout)
    # moto loads thousands of AMIs into every EC2 region it creates; nothing here looks at images.
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    layout = layouts(args.scale)
    expected = {cloud: sum(len(names) for names in layout[cloud].values()) for cloud in CLOUDS}
    workers = 8

    with tempfile.TemporaryDirectory(prefix="mc-bench-inventory-") as directory:
        tmp = pathlib.Path(directory)
        clouds = Clouds(tmp / "clouds")
        # The in-process SDK clients of the setup trust the sandbox CA; ansible-inventory gets the
        # bundles from its config file only (child_env drops this variable).
        os.environ["REQUESTS_CA_BUNDLE"] = str(clouds.tls.ca)
        try:
            clouds.start()
            started = time.monotonic()
            setup_by_cloud = create(clouds, layout, deadline)
            setup = time.monotonic() - started
            add_latency(clouds, args.latency_ms)

            env = child_env(tmp)
            configs = {}
            for name, workers_, cache in (
                ("concurrent", workers, None),
                ("serial", 1, None),
                ("cached", workers, tmp / "cache"),
                ("constructed", workers, None),
            ):
                path = tmp / f"{name}.clusters.yml"
                config = inventory_config(clouds, max_workers=workers_, cache_dir=cache, by_group=args.azure_by_group)
                if name == "constructed":
                    config.update(CONSTRUCTED, kubeconfig=str(tmp / "kubeconfig"))
                path.write_text(yaml.safe_dump(config, sort_keys=False))
                path.chmod(0o600)
                configs[name] = path

            def clear_cache():
                for entry in (tmp / "cache").glob("*"):
                    entry.unlink()

            # One untimed run first, so that no figure pays for a cold page cache or .pyc compilation.
            measured_run(clouds, configs["concurrent"], env, expected, deadline)
            runs: dict[str, list[dict]] = {name: [] for name in FIGURES}
            for _ in range(args.rounds):
                wall, cpu, _listing = ansible_inventory("localhost,", env, deadline)
                runs["startup"].append({"seconds": wall, "cpu": cpu})
                runs["concurrent"].append(measured_run(clouds, configs["concurrent"], env, expected, deadline))
                runs["serial"].append(measured_run(clouds, configs["serial"], env, expected, deadline))
                clear_cache()
                runs["cache_fill"].append(measured_run(clouds, configs["cached"], env, expected, deadline))
                runs["cached"].append(measured_run(clouds, configs["cached"], env, expected, deadline))
                if any(runs["cached"][-1]["requests"].values()):
                    raise SystemExit(f"inventory_clusters: the cached run called the clouds: {runs['cached'][-1]}")
                runs["constructed"].append(measured_run(clouds, configs["constructed"], env, expected, deadline))

            profile = []
            if args.profile:
                spy = (
                    py_spy,
                    "record",
                    "--gil",
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(args.profile),
                    "--",
                )
                measured_run(clouds, configs["concurrent"], env, expected, deadline, prefix=spy)
                profile = profile_summary(args.profile)

            startup = statistics.median(r["seconds"] for r in runs["startup"])
            startup_cpu = statistics.median(r["cpu"] for r in runs["startup"])
            scaling = []
            have = layout
            for size in sizes:
                grown = size_layout(size)
                create(clouds, missing(grown, have), deadline)
                have = grown
                add_latency(clouds, args.latency_ms)
                want = {cloud: sum(len(names) for names in grown[cloud].values()) for cloud in CLOUDS}
                cold = [measured_run(clouds, configs["concurrent"], env, want, deadline) for _ in range(args.rounds)]
                clear_cache()
                measured_run(clouds, configs["cached"], env, want, deadline)
                cached = [measured_run(clouds, configs["cached"], env, want, deadline) for _ in range(args.rounds)]
                clusters = sum(want.values())
                run = median_by_cpu(cold)
                requests_total = sum(run["requests"].values())
                floor = floor_seconds(startup, requests_total, args.latency_ms, workers)
                scaling.append(
                    {
                        "clusters": clusters,
                        "seconds": round(statistics.median(r["seconds"] for r in cold), 3),
                        "cpu_seconds": round(statistics.median(r["cpu"] for r in cold), 3),
                        "clouds_cpu_seconds": round(statistics.median(r["server_cpu"] for r in cold), 3),
                        "cpu_ms_per_cluster": round(per_cluster_ms(run, startup_cpu, clusters), 2),
                        "requests": requests_total,
                        "floor_seconds": round(floor, 2),
                        "ratio_to_floor": round(statistics.median(r["seconds"] for r in cold) / floor, 2),
                        "cached_seconds": round(statistics.median(r["seconds"] for r in cached), 3),
                        "cached_cpu_ms_per_cluster": round(
                            per_cluster_ms(median_by_cpu(cached), startup_cpu, clusters),
                            2,
                        ),
                    }
                )
        finally:
            clouds.stop()

    figures = {name: statistics.median(r["seconds"] for r in entries) for name, entries in runs.items()}
    cpus = {name: statistics.median(r["cpu"] for r in entries) for name, entries in runs.items()}
    clouds_cpu = {
        name: statistics.median(r["server_cpu"] for r in entries) for name, entries in runs.items() if name != "startup"
    }
    requests = {name: entries[-1].get("requests") for name, entries in runs.items() if name != "startup"}
    total = {name: sum((r or {}).values()) for name, r in requests.items()}
    clusters = sum(expected.values())
    floor = floor_seconds(figures["startup"], total["concurrent"], args.latency_ms, workers)
    result = {
        "clusters": clusters,
        "clusters_by_cloud": expected,
        "units": {"aws": len(AWS_REGIONS), "gcp": 1, "azure": len(AZURE_GROUPS) if args.azure_by_group else 1},
        "latency_ms": args.latency_ms,
        "rounds": args.rounds,
        "setup_seconds": round(setup, 2),
        "setup_seconds_by_cloud": setup_by_cloud,
        "seconds": {name: round(value, 3) for name, value in figures.items()},
        "cpu_seconds": {name: round(value, 3) for name, value in cpus.items()},
        "clouds_cpu_seconds": {name: round(value, 3) for name, value in clouds_cpu.items()},
        "cpu_ms_per_cluster": {
            name: round(max(0.0, cpus[name] - cpus["startup"]) * 1000 / clusters, 2)
            for name in FIGURES
            if name != "startup"
        },
        "all_seconds": {name: [round(r["seconds"], 3) for r in entries] for name, entries in runs.items()},
        "requests": requests,
        "floor_seconds": round(floor, 2),
        "ratio_to_floor": round(figures["concurrent"] / floor, 2),
        "ratio_to_latency": round((figures["concurrent"] - figures["startup"]) / (floor - figures["startup"]), 2),
        "cached_over_startup_seconds": round(figures["cached"] - figures["startup"], 2),
        "ratio_serial_concurrent": round(figures["serial"] / figures["concurrent"], 2),
        "ratio_cold_cached": round(figures["concurrent"] / figures["cached"], 2),
        "scaling": scaling,
        "profile": [{"where": label, "share": round(share, 3)} for label, share in profile],
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    per_cloud = ", ".join(f"{c} {n}" for c, n in expected.items())
    ms = result["cpu_ms_per_cluster"]

    def row(label, name, note=""):
        clouds_note = f"  clouds {clouds_cpu[name]:5.2f} s CPU" if name in clouds_cpu else ""
        line = f"{label:<30}{figures[name]:6.2f} s  CPU {cpus[name]:5.2f} s"
        line += f"  {ms[name]:5.1f} ms/cluster" if name in ms else " " * 17
        line += f"  {total[name]:5d} requests{clouds_note}" if name in total else ""
        print(line + note)

    print(f"clusters                      {clusters:6d}     ({per_cloud}; created in {setup:.1f} s)")
    print(f"latency per request           {args.latency_ms:6.0f} ms  (every call of every cloud)")
    row("ansible-inventory startup", "startup", "  (-i localhost,)")
    row(f"cold, max_workers={workers}", "concurrent")
    row("cold, max_workers=1 (serial)", "serial")
    row("cache fill (first run)", "cache_fill")
    row("cached (second run)", "cached")
    row("cold, constructed+kubeconfig", "constructed")
    print(f"latency floor, {workers} workers       {floor:6.2f} s   (startup + requests x latency / workers)")
    print(f"ratio cold/floor              {result['ratio_to_floor']:6.2f}")
    print(f"ratio (cold-startup)/latency  {result['ratio_to_latency']:6.2f}   (latency: requests x latency / workers)")
    print(f"cached - startup              {result['cached_over_startup_seconds']:6.2f} s")
    print(f"ratio serial/concurrent       {result['ratio_serial_concurrent']:6.2f}")
    print(f"ratio cold/cached             {result['ratio_cold_cached']:6.2f}")
    if scaling:
        print("")
        print(
            "clusters   cold s  CPU s  CPU ms/cluster  requests  floor s  cold/floor  cached s  cached CPU ms/cluster"
        )
        for entry in scaling:
            print(
                f"{entry['clusters']:8d} {entry['seconds']:8.2f} {entry['cpu_seconds']:6.2f}"
                f" {entry['cpu_ms_per_cluster']:15.2f}"
                f" {entry['requests']:9d} {entry['floor_seconds']:8.2f} {entry['ratio_to_floor']:11.2f}"
                f" {entry['cached_seconds']:9.2f} {entry['cached_cpu_ms_per_cluster']:21.2f}"
            )
    if profile:
        print("")
        print(f"where the CPU of a cold run goes (py-spy, {args.profile}):")
        for label, share in profile:
            print(f"  {share * 100:5.1f}%  {label}")
    print(f"rounds {args.rounds} (medians); {result['cpus']} CPUs, load average {result['load_average'][0]:.2f}")


if __name__ == "__main__":
    main()
