"""Route 53 as the sandbox's AWS serves it: moto's store, health checks that really probe.

moto keeps hosted zones, record sets and health checks, but never probes an endpoint (its
GetHealthCheckStatus is always healthy), accepts any GeoLocation, Failover or HealthCheckId, and
its ListResourceRecordSets cannot page inside record sets of one name and type. This module
keeps moto's objects as the store and adds:

- `HealthChecker`: probes every HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH and TCP health
  check for real, every ``RequestInterval`` seconds scaled by the sandbox's time factor (never
  faster than `MIN_INTERVAL` real seconds). A probe succeeds on an HTTP 2xx or 3xx answer within
  the timeout (the STR_MATCH types also need ``SearchString`` in the first 5,120 bytes of the
  body; TCP needs the connection only). AWS allows 4 s to connect and 2 s more for the answer;
  the sandbox scales those, with a floor of `MIN_TIMEOUT` real seconds each. As in AWS, a
  healthy check turns unhealthy after ``FailureThreshold`` consecutive failed probes and an
  unhealthy one healthy again after ``FailureThreshold`` consecutive successes. AWS reports a
  new check as unknown until its first probes; the sandbox counts it healthy until proven
  otherwise, so a record is never skipped before its endpoint was looked at. A disabled check is
  healthy (and not probed); ``Inverted`` flips the verdict (also a disabled check's, which is how
  AWS lets one stop routing to an endpoint by hand). CALCULATED checks are healthy while at least
  ``HealthThreshold`` children are; types the sandbox cannot probe (CloudWatch alarms, recovery
  controls) count as healthy.
- CreateHealthCheck refusing a RequestInterval other than 10 or 30 and a FailureThreshold outside
  1-10 (moto stores any);
- GetHealthCheckStatus answering the checker's last observation, once per checker region
  (`OBSERVER_REGIONS`), as AWS does.
- ChangeResourceRecordSets validating what moto lets through: GeoLocation codes, Failover values,
  exactly one routing policy for records with a SetIdentifier (and none without), and that a
  HealthCheckId names an existing health check. Valid batches go to moto unchanged.
- ListResourceRecordSets in Route 53's order (names with their labels reversed, then type, then
  SetIdentifier) with StartRecordName/StartRecordType/StartRecordIdentifier, MaxItems and the
  Next* fields, so paging works inside a set of records of one name and type.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from moto.core.exceptions import ServiceException
from moto.core.serialize import get_serializer_class
from moto.core.utils import get_service_model
from moto.route53.exceptions import NoSuchHealthCheck
from moto.route53.models import route53_backends
from werkzeug.wrappers import Response

from mc_sandbox.core.config import scaled

log = logging.getLogger(__name__)

OPERATIONS = frozenset(
    ("CreateHealthCheck", "GetHealthCheckStatus", "ChangeResourceRecordSets", "ListResourceRecordSets")
)

# The checker regions every observation is reported for (AWS answers one observation per region
# its health checkers run in); all of them share the sandbox's one verdict.
OBSERVER_REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
# The address the probes come from, as the observations name it.
CHECKER_ADDRESS = "127.0.0.1"

# Real seconds: the shortest probe interval and the shortest connect/answer timeout whatever the
# time factor, so a fast sandbox never spins or fails loopback endpoints for being "slow".
MIN_INTERVAL = 0.2
MIN_TIMEOUT = 1.0
# AWS's own timing: the health checker allows 4 s to connect and 2 s more for the first bytes.
CONNECT_SECONDS = 4.0
RESPONSE_SECONDS = 2.0
# How often the scheduler looks for checks that are due, and how many probes run at once.
TICK = 0.05
PROBE_WORKERS = 8
SEARCH_BYTES = 5120

PROBED_TYPES = frozenset(("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"))
CONTINENTS = frozenset(("AF", "AN", "AS", "EU", "NA", "OC", "SA"))
# ISO 3166-1 alpha-2.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
DEFAULT_LOCATION = "*"
# The states and the District of Columbia: the subdivisions Route 53 takes (with CountryCode US).
US_SUBDIVISIONS = frozenset(
    """
    AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH
    NJ NM NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY
    """.split()
)
ROUTING_POLICIES = (
    "Weight",
    "Region",
    "Failover",
    "GeoLocation",
    "MultiValueAnswer",
    "GeoProximityLocation",
    "CidrRoutingConfig",
)
FAILOVER_VALUES = ("PRIMARY", "SECONDARY")
MAX_ITEMS = 300


class Route53Error(ServiceException):
    """A Route 53 error (code, message), serialized in Route 53's REST-XML error format."""


def invalid_input(message: str) -> Route53Error:
    return Route53Error("InvalidInput", message)


def invalid_batch(message: str) -> Route53Error:
    return Route53Error("InvalidChangeBatch", message)


def backend(account_id: str):
    return route53_backends[account_id]["aws"]


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- probing


def probe_timeouts(time_factor: float) -> tuple[float, float]:
    """(connect, answer) timeouts in real seconds: AWS's 4 s and 2 s, scaled, floored."""
    return (
        max(MIN_TIMEOUT, scaled(CONNECT_SECONDS, time_factor)),
        max(MIN_TIMEOUT, scaled(RESPONSE_SECONDS, time_factor)),
    )


def probe_interval(request_interval, time_factor: float) -> float:
    """Real seconds between two probes of a check with this RequestInterval (10 or 30 s)."""
    return max(MIN_INTERVAL, scaled(float(_int(request_interval, 30)), time_factor))


def probe(check, connect_timeout: float, answer_timeout: float) -> tuple[bool, str]:
    """Probe one health check's endpoint once: (success, AWS-style status text)."""
    kind = check.type_ or "HTTP"
    secure = kind.startswith("HTTPS")
    port = _int(check.port, 443 if secure else 80)
    host = check.ip_address
    resolved = ""
    if not host:
        if not check.fqdn:
            return False, "Failure: The health check has neither an IP address nor a domain name."
        try:
            host = socket.getaddrinfo(check.fqdn, port, type=socket.SOCK_STREAM)[0][4][0]
        except OSError:
            return False, f"Failure: DNS resolution failed for {check.fqdn}."
        resolved = f" Resolved IP: {host}."
    try:
        sock = socket.create_connection((host, port), timeout=connect_timeout)
    except TimeoutError:
        return False, (
            "Failure: Connection timed out. The endpoint or the internet connection is down, "
            "or requests are being blocked by your firewall."
        )
    except OSError:
        return False, (
            "Failure: Connection refused. The endpoint or the internet connection is down, "
            "or requests are being blocked by your firewall."
        )
    if kind == "TCP":
        sock.close()
        return True, "Success: TCP connection established."
    connection = None
    try:
        sock.settimeout(answer_timeout)
        name = check.fqdn or host
        if secure:
            context = ssl.create_default_context()
            # Route 53's checkers do not validate certificates.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sni = check.fqdn if (check.fqdn and _flag(check.enable_sni)) else None
            sock = context.wrap_socket(sock, server_hostname=sni)
        connection = http.client.HTTPConnection(name, port, timeout=answer_timeout)
        connection.sock = sock
        path = check.resource_path or "/"
        if not path.startswith("/"):
            path = "/" + path
        connection.request("GET", path, headers={"Host": name, "User-Agent": "Amazon-Route53-Health-Check-Service"})
        answer = connection.getresponse()
        status, reason = answer.status, answer.reason
        body = answer.read(SEARCH_BYTES) if kind.endswith("STR_MATCH") else b""
    except TimeoutError:
        return False, f"Failure: The endpoint did not answer within the timeout.{resolved}"
    except (OSError, http.client.HTTPException) as exc:
        return False, f"Failure: {exc.__class__.__name__} while reading the HTTP response.{resolved}"
    finally:
        sock.close()
        if connection is not None:
            connection.close()
    text = f"HTTP Status Code {status}, {reason}.{resolved}"
    if not 200 <= status < 400:
        return False, f"Failure: {text}"
    if kind.endswith("STR_MATCH"):
        needle = (check.search_string or "").encode()
        if needle not in body:
            return False, (
                f"Failure: {text} The search string was not found in the first {SEARCH_BYTES} bytes of the body."
            )
    return True, f"Success: {text}"


@dataclass
class CheckState:
    """What the checker knows of one health check."""

    healthy: bool = True  # the thresholded verdict of the probes (before Disabled/Inverted)
    successes: int = 0  # consecutive
    failures: int = 0  # consecutive
    report: str = "Success: The health checkers have not checked the endpoint yet."
    checked: datetime | None = None
    next_due: float = 0.0
    probing: bool = False
    probes: int = 0

    def record(self, ok: bool, report: str, threshold: int) -> None:
        self.probes += 1
        self.report, self.checked = report, _now()
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if not self.healthy and self.successes >= threshold:
                self.healthy = True
        else:
            self.failures, self.successes = self.failures + 1, 0
            if self.healthy and self.failures >= threshold:
                self.healthy = False


class HealthChecker:
    """Probes moto's Route 53 health checks on a background thread; verdicts for DNS and the API."""

    def __init__(self, account_id: str, time_factor: float):
        self._account = account_id
        self._time_factor = time_factor
        self._states: dict[str, CheckState] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(max_workers=PROBE_WORKERS, thread_name_prefix="mc-sandbox-aws-probe")
        self._thread = threading.Thread(target=self._run, name="mc-sandbox-aws-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling, wait for the probes in flight (at most one timeout) and the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def reset(self) -> None:
        with self._lock:
            self._states.clear()

    # ---------------------------------------------------------------- verdicts
    def _checks(self) -> dict:
        return dict(backend(self._account).health_checks)

    def is_healthy(self, check_id: str | None) -> bool:
        """Route 53's verdict on a health check; one that does not exist counts as healthy."""
        if not check_id:
            return True
        check = backend(self._account).health_checks.get(check_id)
        return True if check is None else self._verdict(check, 0)

    def _verdict(self, check, depth: int) -> bool:
        if _flag(check.disabled):
            base = True
        elif check.type_ == "CALCULATED":
            checks = backend(self._account).health_checks
            children = [checks[child] for child in (check.children or []) if child in checks]
            healthy = sum(1 for child in children if depth < 2 and self._verdict(child, depth + 1))
            base = healthy >= _int(check.health_threshold, len(children))
        elif check.type_ in PROBED_TYPES:
            with self._lock:
                state = self._states.get(check.id)
            base = state.healthy if state else True
        else:
            base = True
        return base != _flag(check.inverted)

    def report(self, check) -> tuple[str, datetime]:
        """The last observation's text and time."""
        if _flag(check.disabled):
            return "Success: Health checking is disabled; Route 53 considers the endpoint healthy.", _now()
        if check.type_ == "CALCULATED":
            verdict = "Success" if self._verdict(check, 0) != _flag(check.inverted) else "Failure"
            return f"{verdict}: Calculated from {len(check.children or [])} child health checks.", _now()
        with self._lock:
            state = self._states.get(check.id)
        if state is None or state.checked is None:
            return CheckState.report, _now()
        return state.report, state.checked

    def observations(self, check) -> list[dict]:
        text, checked = self.report(check)
        return [
            {"Region": region, "IPAddress": CHECKER_ADDRESS, "StatusReport": {"Status": text, "CheckedTime": checked}}
            for region in OBSERVER_REGIONS
        ]

    def status(self) -> dict:
        """health check id -> its target, verdict and last observation (for `mc-sandbox status`)."""
        found = {}
        for check_id, check in sorted(self._checks().items()):
            text, checked = self.report(check)
            with self._lock:
                state = self._states.get(check_id)
            found[check_id] = {
                "type": check.type_,
                "target": f"{check.ip_address or check.fqdn}:{check.port}{check.resource_path or ''}",
                "healthy": self._verdict(check, 0),
                "status": text,
                "checked_at": checked.isoformat(),
                "probes": state.probes if state else 0,
                "consecutive_failures": state.failures if state else 0,
            }
        return found

    # ---------------------------------------------------------------- the loop
    def _run(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self._schedule()
            except Exception:
                log.exception("Route 53 health checker tick failed")

    def _schedule(self) -> None:
        checks = self._checks()
        now = time.monotonic()
        due = []
        with self._lock:
            for gone in set(self._states) - set(checks):
                del self._states[gone]
            for check_id, check in checks.items():
                if check.type_ not in PROBED_TYPES or _flag(check.disabled):
                    continue
                state = self._states.setdefault(check_id, CheckState())
                if state.probing or state.next_due > now:
                    continue
                state.probing = True
                state.next_due = now + probe_interval(check.request_interval, self._time_factor)
                due.append(check)
        for check in due:
            self._pool.submit(self._probe, check)

    def _probe(self, check) -> None:
        connect, answer = probe_timeouts(self._time_factor)
        try:
            ok, text = probe(check, connect, answer)
        except Exception as exc:
            ok, text = False, f"Failure: {exc.__class__.__name__}"
        threshold = min(10, max(1, _int(check.failure_threshold, 3)))
        with self._lock:
            state = self._states.get(check.id)
            if state is not None:
                state.record(ok, text, threshold)
                state.probing = False


# --------------------------------------------------------------------------- the API


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, name: str):
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element, name: str) -> str | None:
    found = _child(element, name)
    return None if found is None else (found.text or "").strip()


def parse_changes(body: bytes) -> list[dict]:
    """The changes of a ChangeResourceRecordSets request body, as much as validation needs."""
    try:
        # expat (Python >= 3.11 ships >= 2.4.1) refuses entity expansion attacks; the body comes
        # from a client holding the sandbox's credentials.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise invalid_input(f"Invalid XML ; {exc}") from None
    batch = _child(root, "ChangeBatch")
    changes = _child(batch, "Changes") if batch is not None else None
    found = []
    for change in changes if changes is not None else []:
        rrset = _child(change, "ResourceRecordSet")
        if rrset is None:
            continue
        record = {_local(c.tag): c for c in rrset}
        geo = record.get("GeoLocation")
        found.append(
            {
                "Action": _text(change, "Action"),
                "Name": _text(rrset, "Name") or "",
                "Type": _text(rrset, "Type") or "",
                "SetIdentifier": _text(rrset, "SetIdentifier"),
                "Failover": _text(rrset, "Failover"),
                "HealthCheckId": _text(rrset, "HealthCheckId"),
                "GeoLocation": None if geo is None else {_local(c.tag): (c.text or "").strip() for c in geo},
                "policies": [name for name in ROUTING_POLICIES if name in record],
            }
        )
    return found


def _where(change: dict) -> str:
    name = change["Name"] if change["Name"].endswith(".") else change["Name"] + "."
    return (
        f"Change with [Action={change['Action']}, Name={name}, Type={change['Type']}, "
        f"SetIdentifier={change['SetIdentifier'] or 'null'}]"
    )


def validate_change(change: dict, health_checks) -> None:
    """Raise Route 53's error for a CREATE or UPSERT change moto would store unchecked."""
    if change["Action"] not in ("CREATE", "UPSERT"):
        return
    failover = change["Failover"]
    if failover is not None and failover not in FAILOVER_VALUES:
        raise invalid_input(
            f"Invalid XML ; cvc-enumeration-valid: Value '{failover}' is not facet-valid with respect to "
            "enumeration '[PRIMARY, SECONDARY]'. It must be a value from the enumeration."
        )
    geo = change["GeoLocation"]
    if geo is not None:
        validate_geolocation(geo, change)
    policies = change["policies"]
    if change["SetIdentifier"]:
        if len(policies) != 1:
            found = "none" if not policies else "more than one"
            raise invalid_input(
                "Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, "
                f"GeoProximityLocation, or CidrRoutingConfig], but found {found} in {_where(change)}"
            )
    elif policies:
        raise invalid_input(f"Invalid request: Missing field 'SetIdentifier' in {_where(change)}")
    check_id = change["HealthCheckId"]
    if check_id and check_id not in health_checks:
        name = change["Name"] if change["Name"].endswith(".") else change["Name"] + "."
        raise invalid_batch(
            f"[Invalid Resource Record: The health check '{check_id}' referenced by the resource record set "
            f"[name='{name}', type='{change['Type']}', set-identifier='{change['SetIdentifier']}'] does not exist]"
        )


def validate_geolocation(geo: dict, change: dict) -> None:
    continent, country, subdivision = geo.get("ContinentCode"), geo.get("CountryCode"), geo.get("SubdivisionCode")
    where = _where(change)
    if continent is None and country is None:
        raise invalid_input(
            f"Invalid request: GeoLocation needs a ContinentCode or a CountryCode (* for the default) in {where}"
        )
    if continent is not None and (country is not None or subdivision is not None):
        raise invalid_input(
            f"Invalid request: GeoLocation cannot combine ContinentCode with CountryCode or SubdivisionCode in {where}"
        )
    if continent is not None and continent not in CONTINENTS:
        raise invalid_input(
            f"Invalid request: Unsupported GeoLocation ContinentCode '{continent}' in {where}; "
            f"the continent codes are {', '.join(sorted(CONTINENTS))}"
        )
    if country is not None and country != DEFAULT_LOCATION and country not in COUNTRIES:
        raise invalid_input(
            f"Invalid request: Unsupported GeoLocation CountryCode '{country}' in {where}; "
            "expected an ISO 3166-1 alpha-2 country code or * (the default location)"
        )
    if subdivision is not None:
        if country != "US":
            raise invalid_input(
                f"Invalid request: GeoLocation SubdivisionCode '{subdivision}' is only supported with "
                f"CountryCode US in {where}"
            )
        if subdivision not in US_SUBDIVISIONS:
            raise invalid_input(
                f"Invalid request: Unsupported GeoLocation SubdivisionCode '{subdivision}' for CountryCode US "
                f"in {where}"
            )


def validate_health_check(body: bytes) -> None:
    """RequestInterval (10 or 30) and FailureThreshold (1-10) of a CreateHealthCheck request."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - see parse_changes
    except ET.ParseError as exc:
        raise invalid_input(f"Invalid XML ; {exc}") from None
    config = _child(root, "HealthCheckConfig")
    if config is None:
        return
    interval, threshold = _text(config, "RequestInterval"), _text(config, "FailureThreshold")
    if interval is not None and interval not in ("10", "30"):
        raise invalid_input(f"Invalid parameter : RequestInterval must be 10 or 30, not {interval}")
    if threshold is not None and not 1 <= _int(threshold, 0) <= 10:
        raise invalid_input(f"Invalid parameter : FailureThreshold must be between 1 and 10, not {threshold}")


def _dns_key(name: str) -> str:
    """Route 53's listing order: the name's labels reversed (com.example.www.), lower case."""
    labels = name.lower().rstrip(".").split(".")
    return ".".join(reversed(labels)) + "."


def _sort_key(rrset) -> tuple[str, str, str]:
    return (_dns_key(rrset.name), rrset.type or "", rrset.set_identifier or "")


def _value(record) -> str:
    return record.get("Value", "") if isinstance(record, dict) else str(record)


def rrset_shape(rrset) -> dict:
    """A moto RecordSet as Route 53's ResourceRecordSet structure."""
    shape = {"Name": rrset.name, "Type": rrset.type}
    if rrset.set_identifier:
        shape["SetIdentifier"] = rrset.set_identifier
    if rrset.weight is not None:
        shape["Weight"] = _int(rrset.weight, 0)
    if rrset.region:
        shape["Region"] = rrset.region
    if rrset.geo_location:
        shape["GeoLocation"] = dict(rrset.geo_location)
    if rrset.failover:
        shape["Failover"] = rrset.failover
    if rrset.multi_value_answer is not None:
        shape["MultiValueAnswer"] = _flag(rrset.multi_value_answer)
    if rrset.ttl is not None:
        shape["TTL"] = _int(rrset.ttl, 300)
    if rrset.records:
        shape["ResourceRecords"] = [{"Value": _value(record)} for record in rrset.records]
    if rrset.alias_target:
        alias = dict(rrset.alias_target)
        alias["EvaluateTargetHealth"] = _flag(alias.get("EvaluateTargetHealth"))
        shape["AliasTarget"] = alias
    if rrset.health_check_id:
        shape["HealthCheckId"] = rrset.health_check_id
    return shape


def list_page(rrsets, start_name, start_type, start_identifier, max_items: int) -> dict:
    """One ListResourceRecordSets page of `rrsets`."""
    ordered = sorted(rrsets, key=_sort_key)
    if start_name:
        start = (_dns_key(start_name), start_type or "", start_identifier or "")
        ordered = [rrset for rrset in ordered if _sort_key(rrset) >= start]
    page, rest = ordered[:max_items], ordered[max_items:]
    result = {"ResourceRecordSets": [rrset_shape(r) for r in page], "IsTruncated": bool(rest), "MaxItems": max_items}
    if rest:
        result["NextRecordName"] = rest[0].name
        result["NextRecordType"] = rest[0].type
        if rest[0].set_identifier:
            result["NextRecordIdentifier"] = rest[0].set_identifier
    return result


class Route53Emulator:
    """The Route 53 actions moto lacks or gets wrong (`OPERATIONS`)."""

    def __init__(self, account_id: str, checker: HealthChecker):
        self.account = account_id
        self.checker = checker
        self._model = get_service_model("route53")
        self._serializer = get_serializer_class("route53", "rest-xml")

    def handles(self, operation: str) -> bool:
        return operation in OPERATIONS

    def handle(self, operation: str, uri_params: dict, body: bytes, environ: dict, moto) -> Response:
        try:
            if operation == "GetHealthCheckStatus":
                return self._response(operation, self._get_health_check_status(uri_params))
            if operation == "ListResourceRecordSets":
                return self._response(operation, self._list_resource_record_sets(uri_params, environ))
            if operation == "CreateHealthCheck":
                validate_health_check(body)
            else:
                self._validate_changes(body)
        except ServiceException as exc:
            return self._response(operation, exc)
        return Response.from_app(moto, environ)

    def _response(self, operation: str, result) -> Response:
        serializer = self._serializer(operation_model=self._model.operation_model(operation), pretty_print=False)
        out = serializer.serialize(result)
        return Response(out["body"], status=out["status_code"], headers=out["headers"])

    def _get_health_check_status(self, params: dict) -> dict:
        check_id = params.get("HealthCheckId", "")
        check = backend(self.account).health_checks.get(check_id)
        if check is None:
            raise NoSuchHealthCheck(check_id)
        return {"HealthCheckObservations": self.checker.observations(check)}

    def _list_resource_record_sets(self, params: dict, environ: dict) -> dict:
        from urllib.parse import parse_qs  # noqa: PLC0415 - only this action reads the query

        query = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        zone = backend(self.account).get_hosted_zone(params.get("Id", ""))
        name, kind, identifier = query.get("name"), query.get("type"), query.get("identifier")
        if kind and not name:
            raise invalid_input("The input is not valid: StartRecordType requires StartRecordName")
        if identifier and not (name and kind):
            raise invalid_input(
                "The input is not valid: StartRecordIdentifier requires StartRecordName and StartRecordType"
            )
        raw = query.get("maxitems")
        max_items = _int(raw, -1) if raw is not None else MAX_ITEMS
        if max_items < 1:
            raise invalid_input(f"1 validation error detected: Value '{raw}' at 'maxItems' is not a positive integer")
        return list_page(list(zone.rrsets), name, kind, identifier, min(max_items, MAX_ITEMS))

    def _validate_changes(self, body: bytes) -> None:
        checks = backend(self.account).health_checks
        for change in parse_changes(body):
            validate_change(change, checks)
