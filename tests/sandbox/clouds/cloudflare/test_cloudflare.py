"""The sandbox's Cloudflare through the official `cloudflare` SDK, in this process.

A `CloudflareCloud` serves on loopback; the SDK talks to it with only `base_url` and the API token
differing from api.cloudflare.com. Every request body the emulator receives and every envelope it
answers is validated against Cloudflare's OpenAPI document (the contract).
"""

from __future__ import annotations

import json
import re

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare
from jsonschema import validators
from jsonschema.exceptions import ValidationError
from mc_sandbox.clouds.cloudflare.server import ROUTES, CloudflareCloud
from mc_sandbox.core.faults import FaultRule
from mc_sandbox.core.runtime import CloudContext
from openapi_schema_validator import OAS30Validator
from support import SPECS

SPEC_FILE = SPECS / "cloudflare" / "cloudflare-openapi-2024-08-07.json"
ZONE = "fabric.example"


# ---------------------------------------------------------------------------- the contract
@pytest.fixture(scope="module")
def spec():
    return json.loads(SPEC_FILE.read_text())


def _spec_path(pattern: str) -> str:
    """The OpenAPI path of one of the emulator's routes."""
    names = {"account": "account_id", "zone": "zone_id"}
    path = "/" + pattern

    def name(match):
        group = match.group(1)
        if group == "id":
            return "{}"
        return "{" + names[group] + "}"

    path = re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", name, path)
    for segment, parameter in (
        ("dns_records/{}", "dns_record_id"),
        ("monitors/{}", "monitor_id"),
        ("pools/{}", "pool_id"),
        ("load_balancers/{}", "load_balancer_id"),
    ):
        path = path.replace(segment, segment.replace("{}", "{" + parameter + "}"))
    return path


OPERATIONS = {operation: (method.lower(), _spec_path(pattern)) for method, pattern, operation in ROUTES}


# Fields the spec lists as required in schemas shared by requests and responses, and marks
# readOnly: a client never sends them.
READ_ONLY = {"id", "created_on", "modified_on", "proxiable", "locked", "meta", "zone_id", "zone_name"}


def _required_of_writes(validator, required, instance, schema):
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in READ_ONLY and name not in instance:
                yield ValidationError(f"{name!r} is a required property")


# A request body: read-only fields are not required of it. A PATCH body: nothing is required
# (the spec's PATCH schemas repeat the PUT's required fields, which Cloudflare does not ask for).
WRITE = validators.extend(OAS30Validator, {"required": _required_of_writes})
PATCH = validators.extend(OAS30Validator, {"required": lambda *args: iter(())})


def _validate(spec: dict, schema: dict, value, what: str, validator=OAS30Validator) -> None:
    root = {"components": spec["components"], "allOf": [schema]}
    errors = sorted(validator(root).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise AssertionError(f"{what}: {first.message} at {list(first.absolute_path)}\n{json.dumps(value)[:2000]}")


def check_contract(spec: dict, cloud: CloudflareCloud) -> int:
    """Validate every recorded request body and response; returns how many were checked."""
    checked = 0
    for method, operation, _query, body in cloud.recorded_requests:
        verb, path = OPERATIONS[operation]
        assert verb == method.lower()
        request_body = spec["paths"][path][verb].get("requestBody")
        if body is not None:
            assert request_body, f"{operation} sent a body the spec does not take"
            schema = request_body["content"]["application/json"]["schema"]
            _validate(spec, schema, body, f"request {operation}", PATCH if verb == "patch" else WRITE)
            checked += 1
    for _method, operation, status, body in cloud.recorded_responses:
        verb, path = OPERATIONS[operation]
        responses = spec["paths"][path][verb]["responses"]
        answers = {code.upper(): answer for code, answer in responses.items()}
        answer = answers.get(str(status)) or answers.get(f"{str(status)[0]}XX")
        assert answer, f"{operation} answered {status}, which the spec does not list"
        schema = answer["content"]["application/json"]["schema"]
        if status >= 400:
            # The spec's error schemas are allOf [the success envelope, the failure envelope], which no
            # body satisfies (success: [true] and [false]); an error answers the failure part.
            failure = [s for s in schema.get("allOf", []) if s.get("$ref", "").endswith("api-response-common-failure")]
            schema = failure[0] if failure else schema
        _validate(spec, schema, body, f"response {operation} {status}")
        checked += 1
    return checked


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture
def cloud(faults, runtime, tmp_path):
    context = CloudContext(faults, runtime, 0.001, tmp_path / "cloudflare", tls=None)
    cloud = CloudflareCloud(context, zone_name=ZONE, data_plane=False)
    section = cloud.start()
    cloud.record = True
    cloud.section = section
    yield cloud
    cloud.stop()


@pytest.fixture
def client(cloud):
    with Cloudflare(api_token=cloud.api_token, base_url=cloud.section["base_url"], max_retries=0) as client:
        yield client


def monitor_args(cloud, **changes):
    return {
        "account_id": cloud.account_id,
        "type": "https",
        "path": "/health",
        "expected_codes": "200",
        "interval": 60,
        "load_balancer_monitor_timeout": 5,
        "retries": 2,
        "description": "fabric health",
        **changes,
    }


def pool_args(cloud, name, monitor=None, **changes):
    args = {
        "account_id": cloud.account_id,
        "name": name,
        "origins": [{"name": f"{name}-1", "address": "127.128.0.10", "enabled": True, "weight": 1}],
        "extra_body": {"check_regions": ["WNAM", "ENAM"]},  # the SDK's create has no argument for it
        **changes,
    }
    if monitor:
        args["monitor"] = monitor
    return args


# ---------------------------------------------------------------------------- tests
def test_endpoints_section_and_status(cloud):
    section = cloud.section
    assert section["base_url"].startswith("http://127.0.0.1:") and section["base_url"].endswith("/client/v4")
    assert section["zone_name"] == ZONE
    assert set(section) == {"base_url", "api_token", "account_id", "zone_id", "zone_name"}
    status = cloud.status()
    assert status["zones"] == [{"id": cloud.zone_id, "name": ZONE}]
    assert cloud.api_token not in json.dumps(status)


def test_load_balancer_lifecycle_through_the_sdk(cloud, client, faults, spec):
    account, zone = cloud.account_id, cloud.zone_id
    zones = list(client.zones.list(name=ZONE))
    assert [z.id for z in zones] == [zone]
    assert client.zones.get(zone_id=zone).name == ZONE

    monitor = client.load_balancers.monitors.create(**monitor_args(cloud))
    assert monitor.id and monitor.type == "https" and monitor.interval == 60 and monitor.timeout == 5
    east = client.load_balancers.pools.create(**pool_args(cloud, "aws-us-east-1", monitor.id))
    west = client.load_balancers.pools.create(**pool_args(cloud, "gcp-us-central1", monitor.id))
    assert east.origins[0].address == "127.128.0.10" and east.monitor == monitor.id and east.enabled is True
    assert {p.id for p in client.load_balancers.pools.list(account_id=account)} == {east.id, west.id}
    assert client.load_balancers.monitors.get(monitor.id, account_id=account).path == "/health"
    assert [m.id for m in client.load_balancers.monitors.list(account_id=account)] == [monitor.id]

    lb = client.load_balancers.create(
        zone_id=zone,
        name="app",
        fallback_pool=west.id,
        default_pools=[east.id, west.id],
        region_pools={"WNAM": [west.id], "ENAM": [east.id]},
        steering_policy="geo",
        proxied=True,
        ttl=30,
    )
    assert lb.name == f"app.{ZONE}" and lb.fallback_pool == west.id and lb.default_pools == [east.id, west.id]
    assert lb.region_pools == {"WNAM": [west.id], "ENAM": [east.id]}
    assert [x.id for x in client.load_balancers.list(zone_id=zone)] == [lb.id]

    # PATCH keeps what it does not name, PUT replaces.
    patched = client.load_balancers.edit(lb.id, zone_id=zone, default_pools=[west.id, east.id])
    assert patched.default_pools == [west.id, east.id] and patched.steering_policy == "geo"
    replaced = client.load_balancers.update(
        lb.id, zone_id=zone, name="app", fallback_pool=east.id, default_pools=[east.id]
    )
    assert replaced.region_pools == {} and replaced.steering_policy == "off" and replaced.fallback_pool == east.id
    assert client.load_balancers.get(lb.id, zone_id=zone).fallback_pool == east.id

    monitor2 = client.load_balancers.monitors.edit(monitor.id, account_id=account, interval=30)
    assert monitor2.interval == 30 and monitor2.path == "/health"
    monitor3 = client.load_balancers.monitors.update(monitor.id, **monitor_args(cloud, path="/ready"))
    assert monitor3.path == "/ready" and monitor3.created_on == monitor.created_on
    pool2 = client.load_balancers.pools.edit(east.id, account_id=account, enabled=False)
    assert pool2.enabled is False and pool2.name == "aws-us-east-1"
    pool3 = client.load_balancers.pools.update(
        east.id, **pool_args(cloud, "aws-us-east-1", origins=[{"address": "127.128.0.11", "name": "b"}])
    )
    assert [o.address for o in pool3.origins] == ["127.128.0.11"] and pool3.monitor is None

    # The SDK's model of pool health is lossy (keyed maps); the JSON is what a module reads.
    assert client.load_balancers.pools.health.get(west.id, account_id=account).pool_id == west.id
    health = client.load_balancers.pools.health.with_raw_response.get(west.id, account_id=account).http_response.json()
    assert set(health["result"]["pop_health"]) == {"WNAM", "ENAM"}
    assert health["result"]["pop_health"]["WNAM"]["origins"][0]["127.128.0.10"]["healthy"] is True
    cloud.set_origin_health(west.id, "127.128.0.10", False, "HTTP timeout occurred")
    raw = client.load_balancers.pools.health.with_raw_response.get(west.id, account_id=account).http_response.json()
    assert raw["result"]["pop_health"]["ENAM"]["healthy"] is False
    assert raw["result"]["pop_health"]["ENAM"]["origins"][0]["127.128.0.10"]["failure_reason"] == (
        "HTTP timeout occurred"
    )

    # A pool in use by a load balancer cannot go; a monitor in use by a pool cannot either.
    with pytest.raises(cloudflare.ConflictError):
        client.load_balancers.pools.delete(east.id, account_id=account)
    with pytest.raises(cloudflare.ConflictError):
        client.load_balancers.monitors.delete(monitor.id, account_id=account)
    assert client.load_balancers.delete(lb.id, zone_id=zone).id == lb.id
    with pytest.raises(cloudflare.NotFoundError):
        client.load_balancers.get(lb.id, zone_id=zone)
    for pool in (east, west):
        assert client.load_balancers.pools.delete(pool.id, account_id=account).id == pool.id
    assert client.load_balancers.monitors.delete(monitor.id, account_id=account).id == monitor.id
    assert cloud.status()["counts"] == {"dns_records": 0, "monitors": 0, "pools": 0, "load_balancers": 0}

    counts = faults.snapshot()["requests"]["cloudflare"]
    assert counts["load_balancers.pools.create"] == 2 and counts["load_balancers.create"] == 1
    assert counts["load_balancers.delete"] == 1 and counts["zones.list"] == 2  # the second page is empty
    assert check_contract(spec, cloud) > 30


def test_dns_records_and_paging(cloud, client, spec):
    zone = cloud.zone_id
    created = [
        client.dns.records.create(zone_id=zone, type="A", name=f"host{i}", content=f"192.0.2.{i}", ttl=300)
        for i in range(5)
    ]
    assert created[0].name == f"host0.{ZONE}" and created[0].ttl == 300
    seen = [r.id for r in client.dns.records.list(zone_id=zone, per_page=2)]
    assert sorted(seen) == sorted(r.id for r in created)  # 3 pages, then the empty one ends the loop
    pages = [m for m, op, q, _ in cloud.recorded_requests if op == "dns.records.list"]
    assert len(pages) == 4
    last = [b for m, op, s, b in cloud.recorded_responses if op == "dns.records.list"][-1]
    assert last["result"] == [] and last["result_info"]["page"] == 4

    assert [r.id for r in client.dns.records.list(zone_id=zone, name={"exact": f"host3.{ZONE}"})] == [created[3].id]
    assert len(list(client.dns.records.list(zone_id=zone, name={"startswith": "host"}, type="A"))) == 5
    assert list(client.dns.records.list(zone_id=zone, type="AAAA")) == []
    cname = client.dns.records.create(
        zone_id=zone, type="CNAME", name="www", content=f"app.{ZONE}", ttl=1, proxied=True
    )
    assert cname.proxied is True and cname.proxiable is True
    updated = client.dns.records.update(
        created[0].id, zone_id=zone, type="A", name="host0", content="192.0.2.99", ttl=60
    )
    assert updated.content == "192.0.2.99" and updated.ttl == 60
    edited = client.dns.records.edit(created[0].id, zone_id=zone, ttl=120, type="A", name="host0")
    assert edited.content == "192.0.2.99" and edited.ttl == 120
    assert client.dns.records.get(created[0].id, zone_id=zone).ttl == 120

    with pytest.raises(cloudflare.ConflictError) as duplicate:
        client.dns.records.create(zone_id=zone, type="A", name="host1", content="192.0.2.1", ttl=300)
    assert duplicate.value.body["errors"][0]["code"] == 81058
    with pytest.raises(cloudflare.BadRequestError) as bad:
        client.dns.records.create(zone_id=zone, type="A", name="bad", content="not-an-ip", ttl=300)
    assert bad.value.status_code == 400 and "content" in bad.value.body["errors"][0]["message"]

    assert client.dns.records.delete(cname.id, zone_id=zone).id == cname.id
    with pytest.raises(cloudflare.NotFoundError):
        client.dns.records.get(cname.id, zone_id=zone)
    with pytest.raises(cloudflare.NotFoundError):
        client.dns.records.list(zone_id="0" * 32).__iter__().__next__()
    assert cloud.status()["counts"]["dns_records"] == 5
    assert check_contract(spec, cloud) > 15


def test_zones_paging_ends_with_an_empty_page(cloud, client):
    assert [z.name for z in client.zones.list(per_page=1)] == [ZONE]
    answers = [b for m, op, s, b in cloud.recorded_responses if op == "zones.list"]
    assert [len(a["result"]) for a in answers] == [1, 0]
    assert list(client.zones.list(name="other.example")) == []


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_bad_token_is_refused_in_the_envelope(cloud, token, spec):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    answer = httpx.get(f"{cloud.section['base_url']}/zones", headers=headers, timeout=5)
    assert answer.status_code == 401
    body = answer.json()
    assert body["success"] is False and body["result"] is None and body["errors"][0]["code"] in (1000, 10001)
    if token:
        with Cloudflare(api_token=token, base_url=cloud.section["base_url"], max_retries=0) as client:
            with pytest.raises(cloudflare.AuthenticationError):
                client.load_balancers.pools.list(account_id=cloud.account_id)
    # another account's resources are not this token's
    with Cloudflare(api_token=cloud.api_token, base_url=cloud.section["base_url"], max_retries=0) as client:
        with pytest.raises(cloudflare.PermissionDeniedError):
            client.load_balancers.pools.list(account_id="f" * 32)
    assert check_contract(spec, cloud) >= 1


def test_rate_limit_is_a_rate_limit_error_and_retries_converge(cloud, client, faults):
    faults.add_rule(FaultRule(cloud="cloudflare", operation="load_balancers.monitors.*", error_rate=1.0, retry_after=0))
    with pytest.raises(cloudflare.RateLimitError) as limited:
        client.load_balancers.monitors.create(**monitor_args(cloud))
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.body["errors"][0]["code"] == 10429
    assert faults.snapshot()["injected"]["cloudflare"]["load_balancers.monitors.create"] == {"429": 1}
    assert cloud.status()["counts"]["monitors"] == 0
    faults.clear()
    faults.add_rule(FaultRule(cloud="cloudflare", operation="load_balancers.monitors.create", error_rate=0.5))
    with Cloudflare(api_token=cloud.api_token, base_url=cloud.section["base_url"], max_retries=8) as retrying:
        for _ in range(4):
            retrying.load_balancers.monitors.create(**monitor_args(cloud))
    assert cloud.status()["counts"]["monitors"] == 4
    assert faults.snapshot()["injected"]["cloudflare"]["load_balancers.monitors.create"]["429"] >= 2

    faults.clear()
    faults.add_rule(FaultRule(cloud="cloudflare", operation="zones.get", error_rate=1.0, statuses=[503]))
    with pytest.raises(cloudflare.InternalServerError):
        client.zones.get(zone_id=cloud.zone_id)


def test_validation_errors_name_the_field(cloud, client):
    account, zone = cloud.account_id, cloud.zone_id

    def message(call, **kwargs):
        with pytest.raises(cloudflare.BadRequestError) as error:
            call(**kwargs)
        body = error.value.body
        assert error.value.status_code == 400 and body["success"] is False
        return body["errors"][0]["message"]

    slow = monitor_args(cloud, interval=5, load_balancer_monitor_timeout=10)
    assert (
        message(client.load_balancers.monitors.create, **slow) == "interval: must be at least the timeout (10s), got 5"
    )
    assert message(client.load_balancers.monitors.create, **monitor_args(cloud, type="ftp")).startswith("type:")
    assert message(client.load_balancers.pools.create, **pool_args(cloud, "empty", origins=[])).startswith("origins:")
    assert message(
        client.load_balancers.pools.create, **pool_args(cloud, "noaddr", origins=[{"name": "x"}])
    ).startswith("origins[0].address:")
    assert message(client.load_balancers.pools.create, **pool_args(cloud, "mon", monitor="0" * 32)).startswith(
        "monitor:"
    )
    assert message(
        client.load_balancers.pools.create, **pool_args(cloud, "regions", extra_body={"check_regions": ["EU"]})
    ).startswith("check_regions:")
    pool = client.load_balancers.pools.create(**pool_args(cloud, "good"))
    with pytest.raises(cloudflare.ConflictError):
        client.load_balancers.pools.create(**pool_args(cloud, "good"))
    missing = "a" * 32
    lb = {"zone_id": zone, "name": "app", "fallback_pool": pool.id, "default_pools": [pool.id]}
    assert message(client.load_balancers.create, **{**lb, "fallback_pool": missing}).startswith("fallback_pool:")
    assert message(client.load_balancers.create, **{**lb, "default_pools": [missing]}).startswith("default_pools:")
    assert message(client.load_balancers.create, **{**lb, "default_pools": []}).startswith("default_pools:")
    assert message(client.load_balancers.create, **{**lb, "region_pools": {"EUROPE": [pool.id]}}).startswith(
        "region_pools.EUROPE:"
    )
    assert message(client.load_balancers.create, **{**lb, "region_pools": {"WEU": [missing]}}).startswith(
        "region_pools.WEU:"
    )
    client.load_balancers.create(**lb)
    with pytest.raises(cloudflare.ConflictError):
        client.load_balancers.create(**lb)
    for call, kwargs in (
        (client.load_balancers.monitors.get, {"monitor_id": missing, "account_id": account}),
        (client.load_balancers.pools.get, {"pool_id": missing, "account_id": account}),
        (client.load_balancers.pools.health.get, {"pool_id": missing, "account_id": account}),
        (client.load_balancers.get, {"load_balancer_id": missing, "zone_id": zone}),
        (client.dns.records.delete, {"dns_record_id": missing, "zone_id": zone}),
        (client.zones.get, {"zone_id": missing}),
    ):
        with pytest.raises(cloudflare.NotFoundError):
            call(**kwargs)
    assert cloud.status()["counts"] == {"dns_records": 0, "monitors": 0, "pools": 1, "load_balancers": 1}


def test_reset_empties_the_account_and_keeps_the_zone_and_token(cloud, client):
    pool = client.load_balancers.pools.create(**pool_args(cloud, "before-reset"))
    client.dns.records.create(zone_id=cloud.zone_id, type="TXT", name="note", content="kept?", ttl=1)
    assert cloud.status()["counts"]["pools"] == 1 and cloud.status()["counts"]["dns_records"] == 1
    cloud.reset()
    assert cloud.status()["counts"] == {"dns_records": 0, "monitors": 0, "pools": 0, "load_balancers": 0}
    with pytest.raises(cloudflare.NotFoundError):
        client.load_balancers.pools.get(pool.id, account_id=cloud.account_id)
    assert client.zones.get(zone_id=cloud.zone_id).name == ZONE


def test_unknown_paths_and_methods(cloud):
    headers = {"Authorization": f"Bearer {cloud.api_token}"}
    base = cloud.section["base_url"]
    missing = httpx.get(f"{base}/zones/{cloud.zone_id}/firewall", headers=headers, timeout=5)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == 7003
    wrong = httpx.post(f"{base}/zones/{cloud.zone_id}", headers=headers, json={}, timeout=5)
    assert wrong.status_code == 405 and wrong.json()["success"] is False
    garbled = httpx.post(
        f"{base}/zones/{cloud.zone_id}/dns_records", headers={**headers, "Content-Type": "application/json"},
        content=b"{not json", timeout=5,
    )  # fmt: skip
    assert garbled.status_code == 400 and garbled.json()["errors"][0]["code"] == 6007
