"""Reaching the sandbox with the official SDKs only (boto3, kubernetes), as a user would.

Shared by the sandbox's tests and benchmarks; nothing here is needed to run the sandbox.
"""

from __future__ import annotations

import base64
import pathlib

import boto3
from kubernetes import client as k8s


def aws_session(endpoints: dict, region: str) -> boto3.Session:
    aws = endpoints["aws"]
    return boto3.Session(
        aws_access_key_id=aws["access_key"], aws_secret_access_key=aws["secret_key"], region_name=region
    )


def eks_subnets(ec2, region: str, cidr_prefix: str = "10.0") -> list[str]:
    """A VPC with one subnet in each of two zones, the least EKS accepts."""
    vpc = ec2.create_vpc(CidrBlock=f"{cidr_prefix}.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr_prefix}.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]


def kube_api(cluster: dict, token: str, directory: pathlib.Path) -> k8s.ApiClient:
    """A Kubernetes client for an EKS `describe_cluster` result and a bearer token."""
    ca = directory / f"{cluster['name']}-ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificateAuthority"]["data"]))
    config = k8s.Configuration()
    config.host = cluster["endpoint"]
    config.ssl_ca_cert = str(ca)
    config.api_key = {"authorization": f"Bearer {token}"}
    config.retries = 0
    return k8s.ApiClient(config)


def ready_nodes(api: k8s.ApiClient) -> list:
    nodes = k8s.CoreV1Api(api).list_node().items
    return [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
