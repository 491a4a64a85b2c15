# -*- coding: utf-8 -*-
"""The AWS connection without any network: credentials, client settings, typed errors, paging."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.multicloud.fabric.plugins.module_utils.aws import client as aws_client
from ansible_collections.multicloud.fabric.plugins.module_utils.aws.client import Connection, to_plain
from ansible_collections.multicloud.fabric.plugins.module_utils.common import errors as E
from ansible_collections.multicloud.fabric.plugins.module_utils.common.retry import (
    Retrier,
    RetryPolicy,
)

Stubber = pytest.importorskip("botocore.stub").Stubber

KEYS = {"aws_access_key": "AKIAEXAMPLEKEY000001", "aws_secret_key": "secret-example-value-0001"}


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch, tmp_path):
    """No credentials, profiles or instance metadata from the machine running the tests."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CA_BUNDLE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def retrier(clock):
    return Retrier("aws", policy=RetryPolicy(timeout=60, base_delay=1, max_delay=4), clock=clock, sleep=clock.sleep)


def connection(retrier, region="eu-west-1", **params):
    return Connection({**KEYS, **params}, retrier, region)


def test_clients_are_lazy_cached_per_region_and_have_sdk_retries_off(retrier):
    conn = connection(retrier, aws_endpoint_url="http://127.0.0.1:4566")
    assert conn._clients == {}
    ec2 = conn.ec2
    assert conn.ec2 is ec2 and conn.client("ec2", "eu-west-1") is ec2
    other = conn.client("ec2", "us-east-1")
    assert other is not ec2 and other.meta.region_name == "us-east-1"
    assert ec2.meta.endpoint_url == "http://127.0.0.1:4566"
    config = ec2.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert "multicloud.fabric" in config.user_agent_extra
    assert conn.eks.meta.service_model.service_name == "eks"
    assert conn.sts.meta.service_model.service_name == "sts"
    assert conn.new_client("eks") is not conn.eks


def test_ca_bundle_is_passed_as_verify_and_must_exist(retrier, tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not really a certificate\n")
    seen = {}
    conn = connection(retrier, aws_ca_bundle=str(bundle))
    monkeypatch.setattr(conn.session, "client", lambda service, **kwargs: seen.update(kwargs) or object())
    conn.client("ec2")
    assert seen["verify"] == str(bundle)
    assert "endpoint_url" not in seen
    with pytest.raises(E.ValidationError) as info:
        connection(retrier, aws_ca_bundle=str(tmp_path / "missing.pem")).client("ec2")
    assert info.value.field == "aws_ca_bundle"


def test_missing_region_names_the_field(retrier):
    with pytest.raises(E.ValidationError) as info:
        connection(retrier, region=None).ec2  # noqa: B018
    assert info.value.field == "region"


def test_half_a_key_names_the_missing_half_and_its_variable(retrier):
    with pytest.raises(E.ValidationError) as info:
        Connection({"aws_access_key": "AKIAEXAMPLEKEY000001"}, retrier, "eu-west-1").ec2  # noqa: B018
    assert info.value.field == "aws_secret_key"
    assert "AWS_SECRET_ACCESS_KEY" in str(info.value)
    with pytest.raises(E.ValidationError) as info:
        Connection({"aws_secret_key": "s3cr3t-value"}, retrier, "eu-west-1").ec2  # noqa: B018
    assert info.value.field == "aws_access_key"
    assert "s3cr3t-value" not in str(info.value)


def test_no_credentials_at_all_is_a_validation_error_naming_options_and_variables(retrier):
    with pytest.raises(E.ValidationError) as info:
        Connection({}, retrier, "eu-west-1").ec2  # noqa: B018
    text = str(info.value)
    assert info.value.field == "aws_access_key"
    for word in ("aws_secret_key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws_profile", "AWS_PROFILE"):
        assert word in text


def test_unknown_profile_names_aws_profile(retrier):
    with pytest.raises(E.ValidationError) as info:
        Connection({"aws_profile": "nope"}, retrier, "eu-west-1").ec2  # noqa: B018
    assert info.value.field == "aws_profile"


def test_profile_from_the_config_file_is_used(retrier, tmp_path):
    (tmp_path / "credentials").write_text(
        "[ops]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = x\n"
    )
    conn = Connection({"aws_profile": "ops"}, retrier, "eu-west-1")
    assert conn.session.get_credentials().access_key == "AKIAPROFILE000000001"


def test_assume_role_gives_the_options_of_the_roles_temporary_credentials(retrier, tmp_path):
    (tmp_path / "credentials").write_text("[ops]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = x")
    conn = Connection({"aws_profile": "ops", "aws_endpoint_url": "http://127.0.0.1:4566"}, retrier, "eu-west-1")
    role = "arn:aws:iam::123456789012:role/inventory"
    issued = {
        "AccessKeyId": "ASIAROLEKEY000000001",
        "SecretAccessKey": "role-secret-value-0001",
        "SessionToken": "role-session-token-0001",
        "Expiration": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
    }
    with Stubber(conn.sts) as stub:
        stub.add_response(
            "assume_role",
            {"Credentials": issued, "AssumedRoleUser": {"AssumedRoleId": "AROA000000000:s", "Arn": role}},
            {"RoleArn": role, "RoleSessionName": "inventory-run"},
        )
        params = conn.assume_role(role, "inventory-run")
    assert params["aws_access_key"] == "ASIAROLEKEY000000001"
    assert params["aws_secret_key"] == "role-secret-value-0001"
    assert params["aws_session_token"] == "role-session-token-0001"
    # The profile's credentials are replaced, the endpoint and CA settings are kept.
    assert params["aws_profile"] is None and params["aws_endpoint_url"] == "http://127.0.0.1:4566"
    assert conn.params == {"aws_profile": "ops", "aws_endpoint_url": "http://127.0.0.1:4566"}, "its own are unchanged"
    assembled = Connection(params, retrier, "eu-west-1").session.get_credentials()
    assert (assembled.access_key, assembled.token) == ("ASIAROLEKEY000000001", "role-session-token-0001")


def test_assume_role_denied_is_a_typed_error_naming_the_role_and_no_secret(retrier):
    conn = connection(retrier)
    role = "arn:aws:iam::123456789012:role/forbidden"
    with Stubber(conn.sts) as stub:
        stub.add_client_error("assume_role", "AccessDenied", "not authorized to perform sts:AssumeRole", 403)
        with pytest.raises(E.PermissionDeniedError) as info:
            conn.assume_role(role, "inventory-run")
    assert info.value.call == "AssumeRole" and role in info.value.resource
    assert KEYS["aws_secret_key"] not in str(info.value)


def test_missing_sdk_is_a_validation_error_naming_the_package(retrier, monkeypatch):
    monkeypatch.setattr(aws_client, "HAS_BOTO3", False)
    monkeypatch.setattr(aws_client, "BOTO3_IMPORT_ERROR", ImportError("No module named 'boto3'"))
    with pytest.raises(E.FabricError) as info:
        Connection(KEYS, retrier, "eu-west-1")
    assert info.value.kind == E.VALIDATION
    assert "boto3" in str(info.value) and "pip install" in str(info.value)


def test_api_errors_are_typed_and_name_cloud_resource_and_call(retrier):
    conn = connection(retrier)
    with Stubber(conn.eks) as stub:
        stub.add_client_error("describe_cluster", "ResourceNotFoundException", "No cluster found for name: c1.", 404)
        with pytest.raises(E.NotFoundError) as info:
            conn.api("eks", "DescribeCluster", {"name": "c1"}, resource="eks cluster c1")
    error = info.value
    assert (error.cloud, error.resource, error.call, error.code, error.status) == (
        "aws",
        "eks cluster c1",
        "DescribeCluster",
        "ResourceNotFoundException",
        404,
    )
    assert KEYS["aws_secret_key"] not in str(error)


def test_throttling_is_retried_by_the_one_retrier(retrier, clock):
    conn = connection(retrier)
    with Stubber(conn.eks) as stub:
        stub.add_client_error("describe_cluster", "ThrottlingException", "Rate exceeded", 429)
        stub.add_client_error("describe_cluster", "ThrottlingException", "Rate exceeded", 429)
        stub.add_response("describe_cluster", {"cluster": {"name": "c1", "status": "ACTIVE"}}, {"name": "c1"})
        found = conn.api("eks", "DescribeCluster", {"name": "c1"})
    assert found["cluster"]["status"] == "ACTIVE"
    assert retrier.retries == 2 and len(clock.sleeps) == 2


def test_eventual_calls_retry_not_found_for_a_while_then_give_up(retrier, clock):
    conn = connection(retrier)
    params = {"VpcId": "vpc-1", "EnableDnsSupport": {"Value": True}}
    with Stubber(conn.ec2) as stub:
        stub.add_client_error("modify_vpc_attribute", "InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist")
        stub.add_response("modify_vpc_attribute", {}, params)
        conn.api("ec2", "ModifyVpcAttribute", params, eventual=True)
    assert clock.sleeps == [0.5]
    with Stubber(conn.ec2) as stub:
        for attempt in range(6):
            stub.add_client_error("modify_vpc_attribute", "InvalidVpcID.NotFound", f"gone ({attempt})")
        with pytest.raises(E.NotFoundError):
            conn.api("ec2", "ModifyVpcAttribute", params, eventual=True)
    with Stubber(conn.ec2) as stub:
        stub.add_client_error("modify_vpc_attribute", "InvalidVpcID.NotFound", "gone")
        with pytest.raises(E.NotFoundError):
            conn.api("ec2", "ModifyVpcAttribute", params)  # not eventual: at once


def test_paginate_collects_every_page(retrier):
    conn = connection(retrier)
    with Stubber(conn.eks) as stub:
        stub.add_response("list_clusters", {"clusters": ["a", "b"], "nextToken": "t1"}, {})
        stub.add_response("list_clusters", {"clusters": ["c"]}, {"nextToken": "t1"})
        assert conn.paginate("eks", "ListClusters", "clusters") == ["a", "b", "c"]


def test_waiter_polls_at_the_connection_interval_backing_off_to_30s(retrier):
    conn = Connection(KEYS, retrier, "eu-west-1", poll_interval=0.5)
    waiter = conn.waiter("x", state_of=lambda o: o, success=("OK",))
    assert (waiter.interval, waiter.max_interval) == (0.5, 30.0)
    slow = Connection(KEYS, retrier, "eu-west-1", poll_interval=45)
    assert slow.waiter("x", state_of=lambda o: o, success=("OK",)).max_interval == 45
    states = iter(["BUSY", "BUSY", "OK"])
    assert conn.wait(waiter, lambda: next(states)) == "OK"


def test_to_plain_makes_responses_json_ready():
    when = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    raw = {"createdAt": when, "items": [{"at": when}], "ResponseMetadata": {"RequestId": "x"}}
    assert to_plain(raw) == {"createdAt": "2025-01-02T03:04:05+00:00", "items": [{"at": "2025-01-02T03:04:05+00:00"}]}
