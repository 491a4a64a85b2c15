"""The whole-topology check the bootstrap role runs before its first write."""

from __future__ import annotations

import copy
import json
import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.multicloud.fabric.plugins.filter.topology_errors import topology_errors
from ansible_collections.multicloud.fabric.plugins.module_utils.cluster.spec import cluster_name

ROOT = pathlib.Path(__file__).resolve().parents[4]

POOLS = [{"name": "system", "count": 3, "size": "medium"}]
ROLES = {"role_arn": "arn:aws:iam::123456789012:role/c", "node_role_arn": "arn:aws:iam::123456789012:role/n"}
SANDBOX = [
    {
        "inventory_hostname": "fabric-aws",
        "mc_cloud": "aws",
        "mc_region": "us-east-1",
        "mc_cidr": "10.0.0.0/16",
        "mc_aws": ROLES,
    },
    {
        "inventory_hostname": "fabric-gcp",
        "mc_cloud": "gcp",
        "mc_region": "us-central1",
        "mc_cidr": "10.1.0.0/16",
        "mc_pods_cidr": "10.2.0.0/16",
        "mc_services_cidr": "10.3.0.0/20",
    },
    {
        "inventory_hostname": "fabric-azure",
        "mc_cloud": "azure",
        "mc_region": "eastus",
        "mc_cidr": "10.4.0.0/16",
        "mc_azure": {"resource_group": "fabric-rg"},
    },
]


def topology(**changes):
    hosts = copy.deepcopy(SANDBOX)
    for host in hosts:
        host.update(mc_kubernetes_version="1.31", mc_node_pools=POOLS)
    for index, values in changes.items():
        hosts[int(index[1:])].update(values)
    return hosts


def test_the_default_topology_is_valid():
    assert topology_errors(topology()) == []


def test_overlaps_across_clouds_name_both_hosts_including_pod_ranges():
    problems = topology_errors(topology(h2={"mc_cidr": "10.2.0.0/16"}))
    assert problems == ["fabric-azure: network 10.2.0.0/16 overlaps fabric-gcp's pods range 10.2.0.0/16"]
    problems = topology_errors(topology(h1={"mc_services_cidr": "10.0.128.0/20"}))
    assert problems == ["fabric-gcp: services range 10.0.128.0/20 overlaps fabric-aws's network 10.0.0.0/16"]


def test_every_problem_is_listed_with_host_and_field():
    problems = topology_errors(
        topology(
            h0={"mc_region": "us-east1", "mc_aws": {}},
            h1={"mc_kubernetes_version": "1.31.2"},
            h2={"mc_cidr": "8.8.0.0/16"},
        )
    )
    assert [p.split(":")[0] for p in problems] == ["fabric-aws", "fabric-aws", "fabric-gcp", "fabric-azure"]
    text = "\n".join(problems)
    for expected in ("region: 'us-east1'", "aws.role_arn", "kubernetes_version", "'cidr': 8.8.0.0/16"):
        assert expected in text


def test_duplicate_clusters_and_contexts():
    hosts = topology()
    hosts.append(dict(hosts[0], inventory_hostname="fabric-aws-2", mc_cidr="10.9.0.0/16"))
    problems = topology_errors(hosts)
    assert any("fabric-aws-2: cluster_name: 'fabric-aws'" in p for p in problems)
    assert any("fabric-aws-2: context:" in p for p in problems)


def test_a_host_with_an_overridden_cluster_name_is_checked_under_that_name():
    hosts = topology(h0={"bootstrap_cluster_name": "shared"})
    hosts.append(dict(hosts[0], inventory_hostname="fabric-aws-2", mc_cidr="10.9.0.0/16", mc_kube_context="aws-2"))
    problems = topology_errors(hosts)
    assert problems == ["fabric-aws-2: cluster_name: 'shared' in aws us-east-1 is also fabric-aws's"]
    # Two AWS hosts in one region with names of their own are two clusters, not a duplicate.
    hosts[3]["bootstrap_cluster_name"] = "second"
    assert topology_errors(hosts) == []
    # And the name is validated as the cluster's: GKE names are lowercase.
    problems = topology_errors(topology(h1={"bootstrap_cluster_name": "Fabric_GKE"}))
    assert len(problems) == 1 and problems[0].startswith("fabric-gcp: cluster ") and "'Fabric_GKE'" in problems[0]


def test_a_host_with_an_overridden_network_name_is_checked_under_that_name():
    problems = topology_errors(topology(h1={"bootstrap_network_name": "Not_A_GCP_Name"}))
    assert len(problems) == 1 and problems[0].startswith("fabric-gcp: network ") and "'Not_A_GCP_Name'" in problems[0]


PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: [{defaults}]
  tasks:
    - ansible.builtin.debug:
        msg: "name={{{{ bootstrap_cluster_name }}}}"
"""


@pytest.mark.parametrize(("extra", "expected"), [({}, "fabric-gcp"), ({"mc_deployment": "prod"}, "prod-gcp")])
def test_the_bootstrap_role_names_clusters_by_the_filters_rule(tmp_path, extra, expected):
    assert cluster_name("gcp", extra.get("mc_deployment")) == expected
    playbook = tmp_path / "names.yml"
    playbook.write_text(PLAY.format(defaults=ROOT / "roles/bootstrap/defaults/main.yml"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=f"{ROOT}/.collections", ANSIBLE_NOCOLOR="1")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", str(playbook)]
    command += ["-e", json.dumps({"mc_cloud": "gcp", **extra})]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f'"msg": "name={expected}"' in out.stdout
