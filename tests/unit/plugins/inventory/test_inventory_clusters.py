"""The clusters inventory plugin with fake cloud adapters: hosts, groups, filters, cache, failures."""

from __future__ import annotations

import configparser
import threading
import time

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import fragment_loader
from ansible.template import Templar
from ansible.utils.plugin_docs import get_docstring

from ansible_collections.multicloud.fabric.plugins.inventory import clusters as plugin_module
from ansible_collections.multicloud.fabric.plugins.module_utils.common.args import PROVIDER_OPTIONS
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import PermissionDeniedError

SECRET = "s3cr3t-value-never-shown"


def cluster(cloud, region, name, *, status="ACTIVE", version="1.31", tags=None):
    return {
        "cloud": cloud,
        "region": region,
        "name": name,
        "id": f"{cloud}:{region}:{name}",
        "status": status,
        "provider_status": status,
        "status_message": "",
        "kubernetes_version": version,
        "version_full": f"{version}.4",
        "endpoint": f"https://{name}.example",
        "ca_data": "Q0E=",
        "endpoint_access": "public",
        "tags": tags or {},
        "network": {"id": "net", "subnet_ids": []},
        "provider": {},
        "node_pools": [{"name": "system", "count": 3, "version": version, "status": "ACTIVE"}],
        "raw": {"token": SECRET},
    }


WORLD = {
    ("aws", "us-east-1"): [
        cluster("aws", "us-east-1", "prod", tags={"team": "platform"}),
        cluster("aws", "us-east-1", "old", version="1.29"),
    ],
    ("aws", "eu-west-1"): [cluster("aws", "eu-west-1", "edge", status="CREATING")],
    ("aws", "ap-south-1"): PermissionDeniedError("not authorized to ListClusters", cloud="aws", call="ListClusters"),
    ("gcp", "demo"): [cluster("gcp", "us-central1", "prod", tags={"team": "platform"})],
    ("azure", "rg"): [cluster("azure", "eastus", "prod")],
}


class FakeConnection:
    """What clouds.connect returns: the options it was made with; AWS can assume a role."""

    def __init__(self, fake, cloud, params, region):
        self.fake, self.cloud, self.params, self.region = fake, cloud, params, region

    def assume_role(self, role_arn, session_name):
        self.fake.assumed.append((role_arn, session_name, self.params.get("aws_access_key")))
        return dict(
            self.params,
            aws_access_key="ASIAASSUMED",
            aws_secret_key=f"assumed-{SECRET}",
            aws_session_token="assumed-token",
            aws_profile=None,
        )


class FakeClouds:
    """Stands in for module_utils.common.clouds: records calls, serves WORLD, sleeps per list."""

    def __init__(self, delay=0.0):
        self.calls = []
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.connects = []
        self.read_delay = 0.0
        self.reads = self.reading = self.read_peak = 0
        self.params = []
        self.assumed = []
        self.users = []

    def connect(self, cloud, params, retrier, region=None):
        with self.lock:
            self.connects.append((cloud, params.get("gcp_project") or params.get("azure_subscription_id")))
            self.params.append(dict(params))
        return FakeConnection(self, cloud, params, region)

    def clusters(self, cloud, connection):
        fake = self

        class Adapter:
            lists_by_name = False

            def list(self, region=None, provider=None):
                key = (cloud, region or (provider or {}).get("project") or (provider or {}).get("resource_group"))
                with fake.lock:
                    fake.calls.append(key)
                    fake.active += 1
                    fake.peak = max(fake.peak, fake.active)
                try:
                    time.sleep(fake.delay)
                    found = WORLD.get(key, [])
                    if isinstance(found, Exception):
                        raise found
                    # Like the AWS adapter: the region a cluster reports is the one it was listed in.
                    return [dict(c, region=region) if region else dict(c) for c in found]
                finally:
                    with fake.lock:
                        fake.active -= 1

            def read(self, current):
                with fake.lock:
                    fake.reads += 1
                    fake.reading += 1
                    fake.read_peak = max(fake.read_peak, fake.reading)
                try:
                    time.sleep(fake.read_delay)
                    return dict(current, ca_data="Q0E=")
                finally:
                    with fake.lock:
                        fake.reading -= 1

            def kube_user(self, current, mode="token"):
                with fake.lock:
                    fake.users.append((cloud, current["name"], connection.params.get("azure_subscription_id")))
                return {"exec": {"command": "fake", "args": [current["name"], current["region"]]}}

        return Adapter()


@pytest.fixture
def plugin(monkeypatch, tmp_path):
    # What the plugin loader does for a collection plugin: register its documented options.
    doc = get_docstring(plugin_module.__file__, fragment_loader)[0]
    instance = plugin_module.InventoryModule()
    instance._load_name = plugin_module.InventoryModule.NAME
    C.config.initialize_plugin_configuration_definitions("inventory", instance._load_name, doc["options"])
    fake = FakeClouds()
    monkeypatch.setattr(plugin_module, "clouds", fake)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)

    def run(config, cache=True, delay=0.0):
        fake.delay = delay
        path = tmp_path / "test.clusters.yml"
        path.write_text(yaml.safe_dump({"plugin": "multicloud.fabric.clusters", **config}))
        inventory = InventoryData()
        loader = DataLoader()
        instance.templar = Templar(loader=loader)
        instance.parse(inventory, loader, str(path), cache=cache)
        if getattr(instance, "_cache", None) is not None:  # what ansible's InventoryManager does after parse
            instance.update_cache_if_changed()
        return inventory

    instance.run = run
    instance.fake = fake
    return instance


ALL = {
    "aws": {"regions": ["us-east-1", "eu-west-1"], "access_key": "AKIAEXAMPLE"},
    "gcp": {"projects": ["demo"]},
    "azure": {"subscription_id": "sub", "resource_groups": ["rg"]},
}


def hosts_of(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def test_hosts_groups_and_vars(plugin):
    inventory = plugin.run(ALL)
    assert sorted(inventory.hosts) == [
        "aws-eu-west-1-edge",
        "aws-us-east-1-old",
        "aws-us-east-1-prod",
        "azure-eastus-prod",
        "gcp-us-central1-prod",
    ]
    assert hosts_of(inventory, "aws_us_east_1") == ["aws-us-east-1-old", "aws-us-east-1-prod"]
    assert hosts_of(inventory, "clusters") == sorted(inventory.hosts)
    assert "aws_us_east_1" in [g.name for g in inventory.groups["aws"].child_groups]
    host = inventory.get_host("gcp-us-central1-prod").vars
    assert host["ansible_connection"] == "local"
    assert host["mc_cloud"] == "gcp" and host["mc_region"] == "us-central1" and host["mc_name"] == "prod"
    assert host["mc_version"] == "1.31" and host["mc_status"] == "ACTIVE" and host["mc_tags"] == {"team": "platform"}
    assert host["mc_node_pools"][0]["count"] == 3 and host["mc_kube_context"] == "gcp-us-central1-prod"
    assert "raw" not in str(host) and SECRET not in str(host)


def test_hostnames_templates_and_constructed_groups(plugin):
    inventory = plugin.run(
        dict(
            ALL,
            hostnames=["{{ mc_tags.alias | default('') }}", "{{ mc_name }}.{{ mc_region }}.{{ mc_cloud }}"],
            keyed_groups=[{"key": "mc_version", "prefix": "k8s"}],
            groups={"platform": "mc_tags.team | default('') == 'platform'"},
            compose={"node_count": "mc_node_pools | map(attribute='count') | sum"},
        )
    )
    assert "prod.us-central1.gcp" in inventory.hosts
    assert hosts_of(inventory, "k8s_1_29") == ["old.us-east-1.aws"]
    assert hosts_of(inventory, "platform") == ["prod.us-central1.gcp", "prod.us-east-1.aws"]
    assert inventory.get_host("prod.eastus.azure").vars["node_count"] == 3


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": ["ACTIVE"]}, 4),
        ({"versions": ["1.29"]}, 1),
        ({"tags": {"team": "platform"}}, 2),
        ({"status": ["ACTIVE"], "versions": ["1.31"], "tags": {"team": "platform"}}, 2),
        ({"tags": {"team": "nobody"}}, 0),
    ],
)
def test_filters(plugin, filters, expected):
    assert len(plugin.run(dict(ALL, filters=filters)).hosts) == expected


def test_partial_failure_warns_and_loads_the_rest(plugin, monkeypatch):
    warnings = []
    module = plugin_module
    monkeypatch.setattr(module.display, "warning", warnings.append)
    config = dict(ALL, aws={"regions": ["us-east-1", "ap-south-1"]})
    inventory = plugin.run(config)
    assert "aws-us-east-1-prod" in inventory.hosts and "gcp-us-central1-prod" in inventory.hosts
    assert len(warnings) == 1 and "aws ap-south-1" in warnings[0] and "not authorized" in warnings[0]
    with pytest.raises(AnsibleError, match="aws ap-south-1"):
        plugin.run(dict(config, strict_permissions=True))


def test_secrets_never_in_warnings(plugin, monkeypatch):
    WORLD[("aws", "sa-east-1")] = PermissionDeniedError(f"bad key {SECRET}", cloud="aws")
    warnings = []
    monkeypatch.setattr(plugin_module.display, "warning", warnings.append)
    try:
        plugin.run({"aws": {"regions": ["sa-east-1"]}})
    finally:
        del WORLD[("aws", "sa-east-1")]
    assert warnings and SECRET not in warnings[0]


def test_cache_serves_the_second_run_and_flush_refreshes(plugin, tmp_path):
    config = dict(ALL, cache=True, cache_plugin="jsonfile", cache_connection=str(tmp_path / "cache"))
    first = plugin.run(config, cache=False)  # --flush-cache: discover and store
    calls = len(plugin.fake.calls)
    second = plugin.run(config, cache=True)
    assert len(plugin.fake.calls) == calls, "a cached load must not call the clouds"
    assert sorted(second.hosts) == sorted(first.hosts)
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert "prod" in cached and SECRET not in cached and "AKIAEXAMPLE" not in cached
    # Plain values only: no origin or trust tags of the inventory file follow the region names in.
    assert "__ansible" not in cached and "TrustedAsTemplate" not in cached
    plugin.run(config, cache=False)
    assert len(plugin.fake.calls) > calls


def test_scopes_are_listed_concurrently_up_to_max_workers(plugin):
    config = {"aws": {"regions": [f"r-{i}" for i in range(8)]}, "max_workers": 4}
    started = time.monotonic()
    plugin.run(config, delay=0.2)
    assert plugin.fake.peak == 4
    assert time.monotonic() - started < 8 * 0.2
    plugin.fake.peak = 0
    plugin.run(dict(config, max_workers=1), delay=0.01)
    assert plugin.fake.peak == 1


def test_kubeconfig_has_a_context_per_cluster_and_no_token(plugin, tmp_path):
    path = tmp_path / "kubeconfig"
    plugin.run(dict(ALL, kubeconfig=str(path)))
    config = yaml.safe_load(path.read_text())
    assert sorted(c["name"] for c in config["contexts"]) == [
        "aws-us-east-1-old",
        "aws-us-east-1-prod",
        "azure-eastus-prod",
        "gcp-us-central1-prod",
    ]  # the CREATING cluster has no usable endpoint yet
    assert "token" not in path.read_text()


def test_unknown_key_is_named(plugin):
    with pytest.raises(AnsibleError, match=r"aws\.region_list"):
        plugin.run({"aws": {"region_list": ["us-east-1"]}})


def test_one_connection_per_cloud_and_credential_set(plugin):
    """Regions of one AWS account share one session (its clients are per region); each GCP project
    and Azure subscription has credentials of its own."""
    WORLD[("gcp", "other")] = []
    try:
        plugin.run(
            {
                "aws": {"regions": ["us-east-1", "eu-west-1", "ap-south-1"], "access_key": "AKIAEXAMPLE"},
                "gcp": {"projects": ["demo", "other"]},
                "azure": {"subscription_id": "sub", "resource_groups": ["rg", "rg2"]},
            }
        )
    finally:
        del WORLD[("gcp", "other")]
    assert sorted(plugin.fake.connects) == [("aws", None), ("azure", "sub"), ("gcp", "demo"), ("gcp", "other")]
    assert len(plugin.fake.calls) == 3 + 2 + 2  # every unit was still listed


@pytest.mark.parametrize(
    "template",
    [
        "{{ mc_cloud }}-{{ mc_region }}-{{ mc_name }}",
        "{{mc_name}}.{{ mc_region }}.example.com",
        "static-name",
        "k8s-{{ mc_name }}",
    ],
)
def test_plain_hostname_templates_render_as_jinja_does(template):
    variables = {"mc_cloud": "aws", "mc_region": "us-east-1", "mc_name": "prod"}
    pieces = plugin_module.simple_template(template)
    assert pieces is not None
    templar = Templar(loader=DataLoader(), variables=variables)
    assert plugin_module.render_simple(pieces, variables) == templar.template(plugin_module.trust_as_template(template))


@pytest.mark.parametrize(
    "template",
    [
        "{{ mc_name | upper }}",
        "{{ mc_tags.alias }}",
        "{% if mc_name %}x{% endif %}",
        "{{ mc_name }}{# note #}",
        "{{ mc_name ~ '-x' }}",
    ],
)
def test_templates_that_need_jinja_are_left_to_it(template):
    assert plugin_module.simple_template(template) is None


def test_plain_template_with_a_missing_or_empty_value_is_left_to_jinja():
    pieces = plugin_module.simple_template("{{ mc_cloud }}-{{ mc_name }}")
    assert plugin_module.render_simple(pieces, {"mc_cloud": "aws"}) is None
    assert plugin_module.render_simple(pieces, {"mc_cloud": "aws", "mc_name": ""}) is None
    assert plugin_module.render_simple(pieces, {"mc_cloud": "aws", "mc_name": 3}) is None


def test_kubeconfig_completes_a_scopes_clusters_concurrently(plugin, tmp_path):
    """AKS lists clusters without their CA: with a kubeconfig each cluster's CA is read, in the
    worker pool, not one after the other inside the subscription's unit."""
    many = [dict(cluster("azure", "eastus", f"c{i}"), ca_data=None) for i in range(8)]
    WORLD[("azure", "big")] = many
    plugin.fake.read_delay = 0.2
    try:
        started = time.monotonic()
        plugin.run(
            {
                "azure": {"subscription_id": "sub", "resource_groups": ["big"]},
                "max_workers": 4,
                "kubeconfig": str(tmp_path / "kubeconfig"),
            }
        )
        elapsed = time.monotonic() - started
    finally:
        del WORLD[("azure", "big")]
    assert plugin.fake.reads == 8 and plugin.fake.read_peak == 4
    assert elapsed < 8 * 0.2
    config = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    assert len(config["contexts"]) == 8


def _doc_options():
    return get_docstring(plugin_module.__file__, fragment_loader)[0]["options"]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_provider_options_are_declared_like_the_modules_with_their_environment(cloud):
    """Every provider option of the modules is an option of the plugin read by Ansible's
    configuration, from the same environment variables, with the same type, default and choices."""
    options = _doc_options()
    for name, spec in PROVIDER_OPTIONS[cloud].items():
        declared = options[name]
        assert [e["name"] for e in declared.get("env") or []] == list(spec.get("env") or []), name
        assert declared["type"] == spec["type"], name
        assert declared.get("default") == spec.get("default"), name
        assert declared.get("choices") == spec.get("choices"), name
        # Secrets may come from the environment or a vault, never from ansible.cfg.
        if spec.get("no_log"):
            assert not declared.get("ini"), f"{name} is a secret: never read from ansible.cfg"


def test_section_keys_fall_back_to_top_level_options_then_the_environment(plugin, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "from-env")
    monkeypatch.setenv("AZURE_BASE_URL", "https://arm.from-env.example")
    plugin.run({"aws": {"regions": ["us-east-1"]}, "azure": {"subscription_id": "sub", "resource_groups": ["rg"]}})
    aws = [p for p in plugin.fake.params if "aws_profile" in p][-1]
    azure = [p for p in plugin.fake.params if "azure_base_url" in p][-1]
    assert aws["aws_profile"] == "from-env" and aws["aws_secret_key"] == SECRET
    assert azure["azure_base_url"] == "https://arm.from-env.example"
    assert azure["azure_authority_host"] is None  # not given: the connection applies the default
    plugin.run({"aws": {"regions": ["us-east-1"]}, "aws_profile": "from-file"})
    assert plugin.fake.params[-1]["aws_profile"] == "from-file"
    plugin.run({"aws": {"regions": ["us-east-1"], "profile": "from-section"}, "aws_profile": "from-file"})
    assert plugin.fake.params[-1]["aws_profile"] == "from-section"


def test_ansible_cfg_sets_the_options_that_are_not_secrets(plugin, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[multicloud_fabric_clusters]\naws_endpoint_url = https://aws.from-cfg.example\nmax_workers = 1\n")
    parser = configparser.ConfigParser()
    parser.read(cfg)
    monkeypatch.setattr(C.config, "_config_file", str(cfg))
    monkeypatch.setitem(C.config._parsers, str(cfg), parser)
    plugin.run({"aws": {"regions": [f"r-{i}" for i in range(3)]}}, delay=0.05)
    assert plugin.fake.params[-1]["aws_endpoint_url"] == "https://aws.from-cfg.example"
    assert plugin.fake.peak == 1


def test_assumed_role_credentials_list_the_clusters_and_are_never_cached(plugin, tmp_path):
    role = "arn:aws:iam::123456789012:role/inventory"
    config = {
        "aws": {"regions": ["us-east-1"], "access_key": "AKIAEXAMPLE", "assume_role_arn": role},
        "cache": True,
        "cache_plugin": "jsonfile",
        "cache_connection": str(tmp_path / "cache"),
    }
    inventory = plugin.run(config, cache=False)
    assert "aws-us-east-1-prod" in inventory.hosts
    assert plugin.fake.assumed == [(role, "multicloud-fabric-inventory", "AKIAEXAMPLE")]
    assert plugin.fake.params[-1]["aws_access_key"] == "ASIAASSUMED"
    assert plugin.fake.params[-1]["aws_session_token"] == "assumed-token"
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert "assumed-" not in cached and "ASIAASSUMED" not in cached
    plugin.run(config, cache=True)
    assert len(plugin.fake.assumed) == 1, "a cache hit without a kubeconfig calls no cloud"


def test_kubeconfig_is_written_the_same_when_the_hosts_come_from_the_cache(plugin, tmp_path):
    path = tmp_path / "kubeconfig"
    config = dict(
        ALL, kubeconfig=str(path), cache=True, cache_plugin="jsonfile", cache_connection=str(tmp_path / "cache")
    )
    first = plugin.run(config, cache=False)
    listed = path.read_text()
    calls = len(plugin.fake.calls)
    path.unlink()
    second = plugin.run(config, cache=True)
    assert len(plugin.fake.calls) == calls, "the hosts came from the cache"
    assert sorted(second.hosts) == sorted(first.hosts)
    assert path.read_text() == listed
    assert len(yaml.safe_load(listed)["contexts"]) == 4
    # Users are made with the connection of the scope each cluster was listed in.
    assert ("azure", "prod", "sub") in plugin.fake.users[-4:]
    cached = "".join(p.read_text() for p in (tmp_path / "cache").iterdir())
    assert '"fake"' not in cached, "no kubeconfig user is cached"


def test_a_cache_made_without_a_kubeconfig_serves_one_with_the_cas_read(plugin, tmp_path):
    """AKS lists clusters without their CA: a cache filled by a run without a kubeconfig has none,
    so the run that writes one from the cache reads each CA."""
    WORLD[("azure", "big")] = [dict(cluster("azure", "eastus", f"c{i}"), ca_data=None) for i in range(3)]
    config = {
        "azure": {"subscription_id": "sub", "resource_groups": ["big"]},
        "cache": True,
        "cache_plugin": "jsonfile",
        "cache_connection": str(tmp_path / "cache"),
    }
    try:
        plugin.run(config, cache=False)
        assert plugin.fake.reads == 0
        plugin.run(dict(config, kubeconfig=str(tmp_path / "kubeconfig")), cache=True)
    finally:
        del WORLD[("azure", "big")]
    assert plugin.fake.reads == 3 and plugin.fake.calls == [("azure", "big")]
    written = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    assert sorted(c["name"] for c in written["contexts"]) == [f"azure-eastus-c{i}" for i in range(3)]
    assert all(c["cluster"]["certificate-authority-data"] == "Q0E=" for c in written["clusters"])
