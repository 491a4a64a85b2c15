"""The Cloudflare emulator inside a running sandbox: endpoints.yml, status and the fault CLI."""

from __future__ import annotations

import json

import cloudflare
import pytest
from cloudflare import Cloudflare


@pytest.fixture
def cf(sandbox):
    section = sandbox["endpoints"]["cloudflare"]
    with Cloudflare(api_token=section["api_token"], base_url=section["base_url"], max_retries=0) as client:
        yield section, client
    sandbox["cli"]("fault", "clear")


def status(sandbox) -> dict:
    return json.loads(sandbox["cli"]("status", "--json").stdout)


def test_endpoints_section(sandbox):
    section = sandbox["endpoints"]["cloudflare"]
    assert set(section) == {"base_url", "edge_url", "api_token", "account_id", "zone_id", "zone_name"}
    assert section["base_url"].startswith("http://127.0.0.1:") and section["base_url"].endswith("/client/v4")
    assert section["zone_name"] == "fabric.example"
    # the token is in the private endpoints file only: not in status, logs or daemon.json
    assert section["api_token"] not in json.dumps(status(sandbox))
    for path in sandbox["state"].rglob("*"):
        if path.is_file() and path.name != "endpoints.yml" and path.stat().st_size < 50_000_000:
            assert section["api_token"] not in path.read_text(errors="replace"), path


def test_status_shows_holdings_and_faults_reach_the_sdk(sandbox, cf):
    section, client = cf
    pool = client.load_balancers.pools.create(
        account_id=section["account_id"], name="status-pool", origins=[{"name": "a", "address": "127.128.0.20"}]
    )
    lb = client.load_balancers.create(
        zone_id=section["zone_id"], name="status", fallback_pool=pool.id, default_pools=[pool.id]
    )
    try:
        cloud = status(sandbox)["clouds"]["cloudflare"]
        assert cloud["zones"] == [{"id": section["zone_id"], "name": "fabric.example"}]
        assert cloud["pools"][pool.id] == "status-pool" and cloud["load_balancers"][lb.id] == "status.fabric.example"
        assert cloud["counts"]["pools"] >= 1 and cloud["counts"]["load_balancers"] >= 1
        assert "cloudflare: " in sandbox["cli"]("status").stdout

        sandbox["cli"]("fault", "add", "--cloud", "cloudflare", "--operation", "load_balancers.pools.get",
                       "--rate", "1", "--status", "429", "--retry-after", "2")  # fmt: skip
        with pytest.raises(cloudflare.RateLimitError) as limited:
            client.load_balancers.pools.get(pool.id, account_id=section["account_id"])
        assert limited.value.response.headers["Retry-After"] == "2"
        faults = status(sandbox)["faults"]
        assert faults["injected"]["cloudflare"]["load_balancers.pools.get"] == {"429": 1}
        assert faults["requests"]["cloudflare"]["load_balancers.pools.create"] >= 1
        sandbox["cli"]("fault", "clear")
        assert client.load_balancers.pools.get(pool.id, account_id=section["account_id"]).name == "status-pool"
    finally:
        client.load_balancers.delete(lb.id, zone_id=section["zone_id"])
        client.load_balancers.pools.delete(pool.id, account_id=section["account_id"])
