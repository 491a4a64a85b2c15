# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The portable global load balancer on Route 53: a health check per pool and, per steering entry,
a record set of the hostname in the public hosted zone, through boto3.

- Health checks are named ``<pool>-<type><interval>`` (type and interval cannot change on a health
  check, so changing them makes a new one, repoints the records and deletes the old one) and
  tagged ``mcf:hostname``, ``mcf:pool``, ``mcf:cloud``, ``mcf:region``, ``mcf:origin``,
  ``mcf:enabled`` and ``Name``; their caller reference starts with a digest of hostname and name,
  so one created but not yet tagged (a run stopped in between) is still found.
- Records carry a ``SetIdentifier`` saying what they steer: ``cc-<CC>`` (a country),
  ``continent-<XX>``, ``default`` (the ``*`` location, the fallback pool), ``primary`` and
  ``secondary`` (failover), ``weight-<pool>`` (random/weighted).
- A drained pool keeps its health check (tagged ``mcf:enabled=false``) and loses its records: the
  locations it served fall to the next broader record, and the default record moves to the first
  enabled pool of the fallback and default pools.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import uuid

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError
from ansible_collections.multicloud.fabric.plugins.module_utils.glb.plan import ref, resolve_refs, to_refs

KINDS = ("health_check", "record")
SERVICE = "route53"
TAG = "mcf:"
_OURS = re.compile(r"^(cc-[A-Z]{2}|continent-[A-Z]{2}|default|primary|secondary|weight-[A-Za-z0-9_-]+)$")
_HC_FIELDS = (
    "Type",
    "IPAddress",
    "FullyQualifiedDomainName",
    "Port",
    "ResourcePath",
    "RequestInterval",
    "FailureThreshold",
    "Inverted",
    "Disabled",
)
_RECORD_FIELDS = ("Type", "TTL", "ResourceRecords", "GeoLocation", "Failover", "Weight", "HealthCheckId")


def _digest(text, size):
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def _owner(hostname):
    """The start of every caller reference of ``hostname``'s health checks."""
    return f"mcf-{_digest(hostname, 12)}-"


def reference_prefix(hostname, name):
    """The start of the caller reference of health check ``name`` of ``hostname``."""
    return f"{_owner(hostname)}{_digest(name, 8)}-"


def _record_type(address):
    try:
        return "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
    except ValueError:
        return "CNAME"


def check_name(pool, monitor):
    return f"{pool['name']}-{monitor['type']}{monitor['interval']}"


def desired_objects(desired):
    """The Route 53 objects of a normalised spec (``glb.spec.normalize_glb``)."""
    host = desired["hostname"]
    monitor = desired["monitor"]
    objects = []
    checks = {}
    for pool in desired["pools"]:
        origin = pool["origins"][0]
        address = origin["address"]
        config = {
            "Type": monitor["type"].upper(),
            "Port": monitor["port"] or (443 if monitor["type"] == "https" else 80),
            "ResourcePath": monitor["path"],
            "RequestInterval": monitor["interval"],
            "FailureThreshold": monitor["retries"],
            "Inverted": False,
            "Disabled": False,
        }
        if _record_type(address) == "CNAME":
            config["FullyQualifiedDomainName"] = address
        else:
            config["IPAddress"] = address
        name = check_name(pool, monitor)
        checks[pool["name"]] = name
        config["tags"] = {
            "Name": f"{host} {pool['name']}",
            f"{TAG}hostname": host,
            f"{TAG}pool": pool["name"],
            f"{TAG}cloud": pool.get("cloud") or "",
            f"{TAG}region": pool.get("region") or "",
            f"{TAG}origin": origin["name"],
            f"{TAG}enabled": "true" if pool["enabled"] and origin["enabled"] else "false",
        }
        objects.append({"kind": "health_check", "name": name, "body": config})
    by_name = {p["name"]: p for p in desired["pools"]}
    enabled = [p["name"] for p in desired["pools"] if p["enabled"] and p["origins"][0]["enabled"]]
    if not enabled:
        raise ValidationError("pools", "every pool is drained: Route 53 would have nothing to answer")

    def record(set_id, pool_name, **routing):
        origin = by_name[pool_name]["origins"][0]
        body = {
            "Type": _record_type(origin["address"]),
            "TTL": desired["ttl"],
            "ResourceRecords": [{"Value": origin["address"]}],
            "HealthCheckId": ref("health_check", checks[pool_name]),
            **routing,
        }
        objects.append({"kind": "record", "name": set_id, "body": body})

    steering = desired["steering"]
    policy = steering["policy"]
    if policy == "geo":
        for code, pools in sorted(steering["countries"].items()):
            if pools[0] in enabled:
                record(f"cc-{code}", pools[0], GeoLocation={"CountryCode": code})
        for code, pools in sorted(steering["regions"].items()):
            if pools[0] in enabled:
                record(f"continent-{code}", pools[0], GeoLocation={"ContinentCode": code})
        order = [desired["fallback_pool"], *steering["default_pools"]]
        default = next(name for name in order + enabled if name in enabled)
        record("default", default, GeoLocation={"CountryCode": "*"})
    elif policy == "failover":
        order = [name for name in steering["default_pools"] if name in enabled]
        record("primary", order[0], Failover="PRIMARY")
        if len(order) > 1:
            record("secondary", order[1], Failover="SECONDARY")
    else:
        for name in steering["default_pools"]:
            if name in enabled:
                weight = round(by_name[name]["origins"][0]["weight"] * 100)
                record(f"weight-{name}", name, Weight=weight)
    return objects


def _check_body(raw, tags):
    config = raw.get("HealthCheckConfig") or {}
    body = {field: config[field] for field in _HC_FIELDS if field in config}
    body["tags"] = dict(tags)
    return body


def _record_body(raw):
    return {field: raw[field] for field in _RECORD_FIELDS if field in raw}


class GlobalLb:
    """Reads and writes one hostname's records and health checks through ``aws.client.Connection``."""

    kinds = KINDS

    def __init__(self, connection, hostname, zone, hosted_zone_id=None):
        self.conn = connection
        self.hostname = hostname
        self.zone_name = zone
        self._zone_id = hosted_zone_id
        self.ids = {}
        self.raw = {}
        self.warnings = []

    def _api(self, operation, params=None, resource=None):
        return self.conn.api(SERVICE, operation, params or {}, resource=resource or f"hosted zone {self.zone_name}")

    @property
    def zone_id(self):
        if self._zone_id is None:
            found = self._api("ListHostedZonesByName", {"DNSName": self.zone_name, "MaxItems": "100"})
            zones = [
                z
                for z in found.get("HostedZones") or []
                if z["Name"].rstrip(".").lower() == self.zone_name and not (z.get("Config") or {}).get("PrivateZone")
            ]
            if not zones:
                raise ValidationError("zone", f"no public Route 53 hosted zone is called {self.zone_name}")
            if len(zones) > 1:
                raise ValidationError(
                    "route53.hosted_zone_id",
                    f"{len(zones)} public hosted zones are called {self.zone_name}; say which: "
                    + ", ".join(z["Id"].rsplit("/", 1)[-1] for z in zones),
                )
            self._zone_id = zones[0]["Id"].rsplit("/", 1)[-1]
        return self._zone_id

    def desired_objects(self, desired):
        return desired_objects(desired)

    # ---------------------------------------------------------------- reading
    def _health_checks(self):
        return self.conn.paginate(SERVICE, "ListHealthChecks", "HealthChecks", resource="health checks")

    def _tags(self, ids):
        tags = {}
        for start in range(0, len(ids), 10):
            page = self._api(
                "ListTagsForResources",
                {"ResourceType": "healthcheck", "ResourceIds": ids[start : start + 10]},
                resource="health check tags",
            )
            for entry in page.get("ResourceTagSets") or []:
                tags[entry["ResourceId"]] = {t["Key"]: t["Value"] for t in entry.get("Tags") or []}
        return tags

    def _records(self):
        name = self.hostname + "."
        params = {"HostedZoneId": self.zone_id, "StartRecordName": name, "MaxItems": "300"}
        records = []
        while True:
            page = self._api("ListResourceRecordSets", params)
            for record in page.get("ResourceRecordSets") or []:
                if record["Name"].rstrip(".").lower() != self.hostname:
                    return records
                records.append(record)
            if not page.get("IsTruncated") or page.get("NextRecordName", "").rstrip(".").lower() != self.hostname:
                return records
            params = dict(params, StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])
            if page.get("NextRecordIdentifier"):
                params["StartRecordIdentifier"] = page["NextRecordIdentifier"]

    def current(self):
        objects = []
        self.ids, self.raw = {}, {}
        checks = self._health_checks()
        tags = self._tags([c["Id"] for c in checks]) if checks else {}
        for check in checks:
            own = tags.get(check["Id"]) or {}
            name = None
            if own.get(f"{TAG}hostname") == self.hostname and own.get(f"{TAG}pool"):
                config = check.get("HealthCheckConfig") or {}
                name = f"{own[TAG + 'pool']}-{config.get('Type', '').lower()}{config.get('RequestInterval')}"
            else:
                # Created but not tagged yet: the caller reference says whose it is.
                reference = check.get("CallerReference") or ""
                if reference.startswith(_owner(self.hostname)):
                    name = reference
            if name is None or f"health_check/{name}" in self.ids:
                continue
            self.ids[f"health_check/{name}"] = check["Id"]
            objects.append({"kind": "health_check", "name": name, "id": check["Id"], "body": _check_body(check, own)})
        for record in self._records():
            set_id = record.get("SetIdentifier")
            if not set_id:
                if record["Type"] in ("A", "AAAA", "CNAME"):
                    self.warnings.append(
                        f"{self.hostname} has a simple {record['Type']} record besides the load balancer's; "
                        "Route 53 refuses to mix them: remove it"
                    )
                continue
            if not _OURS.match(set_id) or record["Type"] not in ("A", "AAAA", "CNAME"):
                continue
            self.raw[f"record/{set_id}"] = record
            objects.append({"kind": "record", "name": set_id, "id": set_id, "body": _record_body(record)})
        names = {value: name for name, value in self.ids.items()}
        for obj in objects:
            if obj["kind"] == "record":
                obj["body"] = to_refs(obj["body"], names)
        return objects

    # ---------------------------------------------------------------- writing
    def _change(self, action, record):
        self._api(
            "ChangeResourceRecordSets",
            {
                "HostedZoneId": self.zone_id,
                "ChangeBatch": {"Changes": [{"Action": action, "ResourceRecordSet": record}]},
            },
            resource=f"record {record.get('SetIdentifier')} of {self.hostname}",
        )

    def apply(self, action):
        kind, name = action["kind"], action["name"]
        key = f"{kind}/{name}"
        if kind == "record":
            if action["action"] == "delete":
                self._change("DELETE", self.raw[key])
                return None
            record = {"Name": self.hostname + ".", "SetIdentifier": name, **resolve_refs(action["body"], self.ids)}
            self._change("UPSERT", record)
            self.raw[key] = record
            return name
        resource = f"health check {name} of {self.hostname}"
        if action["action"] == "delete":
            self._api("DeleteHealthCheck", {"HealthCheckId": action["id"]}, resource=resource)
            self.ids.pop(key, None)
            return None
        body = dict(action["body"])
        tags = body.pop("tags")
        if action["action"] == "create":
            reference = reference_prefix(self.hostname, name) + uuid.uuid4().hex[:16]
            created = self._api(
                "CreateHealthCheck", {"CallerReference": reference, "HealthCheckConfig": body}, resource=resource
            )
            check_id = created["HealthCheck"]["Id"]
            self.ids[key] = check_id
            self._api(
                "ChangeTagsForResource",
                {
                    "ResourceType": "healthcheck",
                    "ResourceId": check_id,
                    "AddTags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                },
                resource=resource,
            )
            return check_id
        check_id = action["id"]
        changed = action["changes"]
        update = {field: body[field] for field in changed if field not in ("tags", "Type", "RequestInterval")}
        if "IPAddress" in update or "FullyQualifiedDomainName" in update:
            update.update({k: body[k] for k in ("IPAddress", "FullyQualifiedDomainName") if k in body})
        if update:
            self._api("UpdateHealthCheck", {"HealthCheckId": check_id, **update}, resource=resource)
        if "tags" in changed:
            before = changed["tags"]["before"] or {}
            params = {"ResourceType": "healthcheck", "ResourceId": check_id}
            add = [{"Key": k, "Value": v} for k, v in sorted(tags.items()) if before.get(k) != v]
            gone = sorted(set(before) - set(tags))
            if add:
                params["AddTags"] = add
            if gone:
                params["RemoveTagKeys"] = gone
            self._api("ChangeTagsForResource", params, resource=resource)
        return check_id

    # ---------------------------------------------------------------- health
    def health(self, current):
        out = {}
        for obj in current:
            if obj["kind"] != "health_check":
                continue
            tags = obj["body"].get("tags") or {}
            pool = tags.get(f"{TAG}pool") or obj["name"]
            address = obj["body"].get("IPAddress") or obj["body"].get("FullyQualifiedDomainName")
            origin = {"name": tags.get(f"{TAG}origin") or address, "address": address, "healthy": None, "reason": None}
            if tags.get(f"{TAG}enabled") == "false":
                out[pool] = {"healthy": None, "reason": "disabled (drained)", "origins": [origin]}
                continue
            status = self._api("GetHealthCheckStatus", {"HealthCheckId": obj["id"]}, resource=f"health check {pool}")
            reports = [
                (o.get("StatusReport") or {}).get("Status") or "" for o in status.get("HealthCheckObservations") or []
            ]
            good = [r for r in reports if r.startswith("Success")]
            healthy = bool(reports) and len(good) * 2 > len(reports)
            failing = [r for r in reports if not r.startswith("Success")]
            reason = "healthy" if healthy else (failing[0] if failing else "no observations yet")
            origin.update(healthy=healthy, reason=reason)
            out[pool] = {"healthy": healthy, "reason": reason, "origins": [origin]}
        return out

    def portable(self, current):
        records = [o for o in current if o["kind"] == "record"]
        checks = [o for o in current if o["kind"] == "health_check"]
        if not records and not checks:
            return None
        pool_of = {}
        pools = []
        for obj in checks:
            tags = obj["body"].get("tags") or {}
            name = tags.get(f"{TAG}pool") or obj["name"]
            pool_of[f"@health_check/{obj['name']}"] = name
            address = obj["body"].get("IPAddress") or obj["body"].get("FullyQualifiedDomainName")
            pools.append(
                {
                    "name": name,
                    "id": obj.get("id"),
                    "cloud": tags.get(f"{TAG}cloud") or None,
                    "region": tags.get(f"{TAG}region") or None,
                    "enabled": tags.get(f"{TAG}enabled") != "false",
                    "origins": [{"name": tags.get(f"{TAG}origin") or address, "address": address, "enabled": True}],
                }
            )
        steering = {"policy": "geo", "regions": {}, "countries": {}, "default_pools": [p["name"] for p in pools]}
        fallback = None
        weighted, failover = [], {}
        for obj in records:
            body, set_id = obj["body"], obj["name"]
            pool = pool_of.get(body.get("HealthCheckId"))
            if pool is None:
                continue
            geo = body.get("GeoLocation") or {}
            if geo.get("CountryCode") == "*":
                fallback = pool
            elif geo.get("CountryCode"):
                steering["countries"][geo["CountryCode"]] = [pool]
            elif geo.get("ContinentCode"):
                steering["regions"][geo["ContinentCode"]] = [pool]
            elif body.get("Failover"):
                failover[body["Failover"]] = pool
            elif set_id.startswith("weight-"):
                weighted.append(pool)
        if failover:
            steering.update(
                policy="failover", default_pools=[failover[k] for k in ("PRIMARY", "SECONDARY") if k in failover]
            )
        elif weighted:
            steering.update(policy="random", default_pools=weighted)
        return {
            "provider": "route53",
            "hostname": self.hostname,
            "zone": self.zone_name,
            "id": self._zone_id,
            "ttl": next((o["body"].get("TTL") for o in records), None),
            "pools": pools,
            "steering": steering,
            "fallback_pool": fallback,
        }
