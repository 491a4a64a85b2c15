"""The sandbox's AWS: moto, in this process, behind a gateway that makes it behave like AWS.

Every request to the endpoint goes (1) through the fault framework, then (2) to the sandbox's own
handlers where moto falls short (EKS lifecycles, see eks.responses; Site-to-Site VPN, see vpn;
Route 53 health checks, validation and paging, see route53), else (3) to moto. moto runs
in-process so those handlers can reach its backends directly; the same process also answers the
Kubernetes API servers' token webhook for `k8s-aws-v1.` tokens (see aws_auth), probes Route 53
health checks' endpoints and serves the public hosted zones over DNS (see dns).
"""

from __future__ import annotations

import functools
import hmac
import io
import json
import logging
import math
import re
import secrets
import string
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl, quote, unquote
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from mc_sandbox.clouds.aws.auth import TOKEN_PREFIX, verify_eks_token
from mc_sandbox.clouds.aws.dns import Route53Dns
from mc_sandbox.clouds.aws.eks.responses import EksEmulator
from mc_sandbox.clouds.aws.route53 import HealthChecker, Route53Emulator
from mc_sandbox.clouds.aws.vpn import VpnEmulator
from mc_sandbox.core.config import eks_token_max_age
from mc_sandbox.core.faults import Decision
from mc_sandbox.core.runtime import CloudContext, UserInfo
from mc_sandbox.core.serving import serve_in_thread, stop_server

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"
# The IAM user the sandbox's own credentials belong to (what GetCallerIdentity names).
SANDBOX_USER = "mc-sandbox"

# Error codes AWS answers with for each injected status, per protocol family; botocore's retry
# logic keys on these codes, so they must be the real ones.
_FAULT_CODES = {
    "ec2": {429: "RequestLimitExceeded", 500: "InternalError", 503: "Unavailable"},
    "query": {429: "Throttling", 500: "InternalFailure", 503: "ServiceUnavailable"},
    "json": {429: "ThrottlingException", 500: "InternalFailure", 503: "ServiceUnavailable"},
}
_SERVICE_FAULT_CODES = {"eks": {429: "ThrottlingException", 500: "ServerException", 503: "ServiceUnavailableException"}}
_FAULT_MESSAGES = {
    429: "Rate exceeded",
    500: "We encountered an internal error. Please try again.",
    503: "Service is unavailable. Please try again.",
}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class AwsCredentials:
    """The sandbox's access key pair; its repr shows neither half so it cannot leak into logs."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    @classmethod
    def generate(cls) -> AwsCredentials:
        upper = string.ascii_uppercase + string.digits
        secret = string.ascii_letters + string.digits + "+/"
        return cls(
            access_key_id="AKIA" + "".join(secrets.choice(upper) for _ in range(16)),
            secret_access_key="".join(secrets.choice(secret) for _ in range(40)),
        )


@dataclass(frozen=True)
class ApiCall:
    """What a signed request is: the fault framework and the handlers route on this."""

    service: str
    region: str
    operation: str
    protocol: str  # ec2, query, json, rest-json or rest-xml: decides the error wire format
    access_key_id: str
    uri_params: dict[str, str]


class AwsCloud:
    """moto plus faults, EKS lifecycles backed by real control planes, and EKS token auth."""

    def __init__(self, context: CloudContext, *, port: int = 0, account_id: str = DEFAULT_ACCOUNT_ID):
        self._faults = context.faults
        self._runtime = runtime = context.runtime
        time_factor = context.time_factor
        self._port = port
        self._account = account_id
        self._credentials = AwsCredentials.generate()
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._eks = EksEmulator(
            runtime,
            self._moto,
            account_id=account_id,
            time_factor=time_factor,
            identify=self._caller_arn,
            faults=context.faults,
        )
        self._vpn = VpnEmulator(context.vpn, account_id=account_id, time_factor=time_factor)
        self._health = HealthChecker(account_id, time_factor)
        self._route53 = Route53Emulator(account_id, self._health)
        self._dns = Route53Dns(account_id, self._health.is_healthy)
        self._token_max_age = timedelta(seconds=eks_token_max_age())
        self._clock = context.clock
        self._server = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def credentials(self) -> AwsCredentials:
        return self._credentials

    @property
    def endpoint(self) -> str | None:
        if self._server is None:
            return None
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> dict:
        """Serve on 127.0.0.1, start the Route 53 health checkers and name servers, and register the
        EKS token authenticator; returns the `aws` section of endpoints.yml (the sandbox's
        credentials included: that file is private; `dns_server`/`dns_port` are the Route 53 name
        servers' address, UDP and TCP)."""
        self._server = make_server("127.0.0.1", self._port, self._wsgi, threaded=True, request_handler=_RequestHandler)
        self._thread = serve_in_thread(self._server, "mc-sandbox-aws")
        self._eks.start()
        self._health.start()
        dns_port = self._dns.start()
        self._register_credentials()
        self._runtime.register_authenticator(TOKEN_PREFIX, self.authenticate)
        return {
            "endpoint_url": self.endpoint,
            "access_key": self._credentials.access_key_id,
            "secret_key": self._credentials.secret_access_key,
            "region": "us-east-1",
            "account_id": self._account,
            "dns_server": "127.0.0.1",
            "dns_port": dns_port,
        }

    def stop(self) -> None:
        """Stop serving (API and DNS), health checking and the transitions; control planes are the
        runtime's to stop."""
        if self._server is not None:
            stop_server(self._server, self._thread)
            self._server = self._thread = None
        self._dns.stop()
        self._health.stop()
        self._eks.stop()

    def reset(self) -> None:
        """Empty every moto backend and the EKS state, and delete the control planes started here.

        moto's state is per process, so this also empties what any other moto user in the process
        stored; the sandbox's own credentials stay valid.
        """
        self._eks.reset()
        reset = EnvironBuilder(path="/moto-api/reset", method="POST").get_environ()
        Response.from_app(self._moto, reset)
        self._vpn.reset()
        self._health.reset()
        self._register_credentials()

    def status(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "account_id": self._account,
            "clusters": self._eks.status(),
            "ec2": ec2_status(self._account),
            "route53": {"health_checks": self._health.status(), "dns": self._dns.status()},
        }

    # ---------------------------------------------------------------- identities
    def _register_credentials(self) -> None:
        """Make the sandbox's key an IAM user's key in moto, so GetCallerIdentity names a user."""
        iam = iam_backends[self._account]["aws"]
        if self._credentials.access_key_id in iam.access_keys:
            return
        user = iam.users.get(SANDBOX_USER) or iam.create_user(region_name="us-east-1", user_name=SANDBOX_USER)
        key = user.create_access_key(prefix="AKIA")
        key.access_key_id = self._credentials.access_key_id
        key.secret_access_key = self._credentials.secret_access_key
        iam.access_keys[key.access_key_id] = key

    def _caller(self, access_key_id: str, region: str) -> tuple[str, str, str]:
        """(user id, ARN, account) as STS GetCallerIdentity answers for this key."""
        return sts_backends[self._account][get_partition(region)].get_caller_identity(access_key_id, region)

    def _caller_arn(self, access_key_id: str, region: str) -> str:
        return self._caller(access_key_id, region)[1]

    def _secret_for(self, access_key_id: str, session_token: str | None) -> str | None:
        """The secret of a key moto issued (IAM CreateAccessKey, STS AssumeRole) or the sandbox's."""
        key = iam_backends[self._account]["aws"].access_keys.get(access_key_id)
        if key is None or key.status != "Active":
            return None
        if key.role_arn is None:  # a long-term user key signs without a session token
            return key.secret_access_key if session_token is None else None
        role = sts_backends[self._account]["aws"].get_assumed_role_from_access_key(access_key_id)
        if role is None or session_token is None or role.expiration < utcnow():
            return None
        return role.secret_access_key if hmac.compare_digest(role.session_token, session_token) else None

    def authenticate(self, cluster: str, token: str) -> UserInfo | None:
        """The EKS token webhook: who `token` proves for `cluster` (aws/<region>/<name> or a name).

        The cluster's creator (unless it opted out with bootstrapClusterCreatorAdminPermissions)
        is system:masters, as EKS makes it; anyone else with a valid token authenticates but gets
        no group RBAC grants anything to.
        """
        if cluster.count("/") == 2:
            cloud, region, name = cluster.split("/")
            if cloud != "aws":
                return None
            regions = [region]
        else:
            name, regions = cluster, self._eks.regions_of(cluster)
        port = self._server.server_port if self._server else None
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}"} if port else set()
        caller = verify_eks_token(
            token,
            cluster_name=name,
            hosts=hosts,
            secret_for=self._secret_for,
            max_age=self._token_max_age,
            aged=self._clock.skipped_since if self._clock is not None else None,
        )
        if caller is None:
            return None
        user_id, arn, account = self._caller(caller.access_key_id, caller.region)
        canonical = canonical_arn(arn)
        admins = {canonical_arn(creator) for region in regions if (creator := self._eks.creator(region, name))}
        session = arn.rsplit("/", 1)[1] if ":assumed-role/" in arn else ""
        return UserInfo(
            username=arn,
            uid=f"aws-iam-authenticator:{account}:{user_id}",
            groups=["system:masters"] if canonical in admins else ["system:authenticated"],
            extra={
                "accessKeyId": [caller.access_key_id],
                "arn": [arn],
                "canonicalArn": [canonical],
                "principalId": [user_id],
                "sessionName": [session],
            },
        )

    # ---------------------------------------------------------------- the gateway
    def _wsgi(self, environ: dict, start_response):
        if environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()
        else:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        # One sandbox, one account, whatever key signed the request (moto would otherwise file
        # requests signed with unknown keys under its default account).
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self._account
        call = classify(environ, body)
        if call is None:  # unsigned: moto's own API (/moto-api) or a malformed request
            return self._moto(environ, start_response)
        # A region outage takes down the region's data plane, not AWS's control-plane APIs, so
        # `decision.region_down` changes nothing here.
        decision = self._faults.apply("aws", call.operation, call.region)
        if decision.status is not None:
            return fault_response(call, decision)(environ, start_response)
        if not known_region(call.service, call.region):
            return unknown_region_response(call)(environ, start_response)
        if call.service == "eks" and self._eks.handles(call.operation):
            try:
                payload = json.loads(body) if body else {}
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                return _json_error(400, "InvalidParameterException", "The request body is not a JSON object")(
                    environ, start_response
                )
            params = {**payload, **dict(parse_qsl(environ.get("QUERY_STRING", ""))), **call.uri_params}
            response = self._eks.handle(call.operation, call.region, call.access_key_id, params, environ)
            return response(environ, start_response)
        if call.service == "route53" and self._route53.handles(call.operation):
            return self._route53.handle(call.operation, call.uri_params, body, environ, self._moto)(
                environ, start_response
            )
        if call.service == "ec2" and self._vpn.handles(call.operation):
            return self._vpn.handle(call.operation, call.region, body, environ, self._moto)(environ, start_response)
        return self._moto(environ, start_response)


class _RequestHandler(MotoRequestHandler):
    """moto's request handler, logging through `logging` instead of printing every request."""

    def log(self, level: str, message: str, *args) -> None:
        log.log(logging.WARNING if level == "error" else logging.DEBUG, message, *args)


def _name(resource) -> str | None:
    return next((t["value"] for t in resource.get_tags() if t["key"] == "Name"), None)


def ec2_status(account_id: str) -> dict:
    """The EC2 network pieces of every region moto has loaded, without the default VPC moto makes
    in each region and what belongs to it: region -> ``vpcs``, ``subnets``, ``internet_gateways``,
    ``route_tables`` (not the main ones) and ``security_groups`` (not the ``default`` ones), each
    a list of ``{"id", "name", "vpc_id", ...}``. Regions with none of them are left out.

    Only backends moto already created are read (reading another region would create it, and its
    default VPC, on the spot).
    """
    if account_id not in dict.keys(ec2_backends):
        return {}
    found = {}
    for region, backend in sorted(dict.items(dict.__getitem__(ec2_backends, account_id))):
        defaults = {vpc_id for vpc_id, vpc in backend.vpcs.items() if vpc.is_default}
        pieces = {
            "vpcs": [
                {"id": vpc.id, "name": _name(vpc), "cidr": vpc.cidr_block}
                for vpc in backend.vpcs.values()
                if vpc.id not in defaults
            ],
            "subnets": [
                {"id": subnet.id, "name": _name(subnet), "vpc_id": subnet.vpc_id, "cidr": subnet.cidr_block}
                for by_zone in backend.subnets.values()
                for subnet in by_zone.values()
                if subnet.vpc_id not in defaults
            ],
            "internet_gateways": [
                {"id": igw.id, "name": _name(igw), "vpc_id": igw.vpc.id if igw.vpc else None}
                for igw in backend.internet_gateways.values()
                if not (igw.vpc and igw.vpc.id in defaults)
            ],
            "route_tables": [
                {"id": table.id, "name": _name(table), "vpc_id": table.vpc_id}
                for table in backend.route_tables.values()
                if table.vpc_id not in defaults and not table.main_association_id
            ],
            "security_groups": [
                {"id": group.id, "name": group.name, "vpc_id": vpc_id}
                for vpc_id, groups in backend.groups.items()
                if vpc_id not in defaults
                for group in groups.values()
                if group.name != "default"
            ],
        }
        pieces = {kind: sorted(items, key=lambda item: item["id"]) for kind, items in pieces.items() if items}
        if pieces:
            found[region] = pieces
    return found


def classify(environ: dict, body: bytes) -> ApiCall | None:
    """Service, region, operation and wire protocol of a SigV4-signed request (None if unsigned).

    Service and region come from the credential scope (Authorization header, or X-Amz-Credential
    when presigned); the operation from `Action` (query protocols), `X-Amz-Target` (JSON) or the
    method and path matched against botocore's model of the service (REST).
    """
    query = parse_qs(environ.get("QUERY_STRING", ""))
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        access_key_id, region, service = match.groups()
    else:
        scope = (query.get("X-Amz-Credential") or [""])[0].split("/")
        if len(scope) != 5:
            return None
        access_key_id, _, region, service, _ = scope
    form = {}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
    action = (query.get("Action") or form.get("Action") or [None])[0]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if action:
        return ApiCall(service, region, action, "ec2" if service == "ec2" else "query", access_key_id, {})
    if target:
        return ApiCall(service, region, target.rsplit(".", 1)[-1], "json", access_key_id, {})
    raw_path = (environ.get("RAW_URI") or quote(environ.get("PATH_INFO", ""))).split("?", 1)[0]
    protocol, routes = _rest_routes(service)
    for method, pattern, operation in routes:
        found = pattern.fullmatch(raw_path)
        if found and method == environ.get("REQUEST_METHOD"):
            params = {key: unquote(value) for key, value in found.groupdict().items()}
            return ApiCall(service, region, operation, protocol, access_key_id, params)
    return ApiCall(service, region, "Unknown", protocol, access_key_id, {})


@functools.cache
def _botocore_session():
    return botocore.session.get_session()


@functools.cache
def _rest_routes(service: str) -> tuple[str, list[tuple[str, re.Pattern, str]]]:
    """(protocol, [(method, path pattern, operation)]) from botocore's model of a REST service."""
    try:
        model = _botocore_session().get_service_model(service)
    except UnknownServiceError:
        return "rest-json", []
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        segments = http["requestUri"].split("?", 1)[0].split("/")
        regex, literal = [], 0
        for segment in segments:
            variable = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
            if variable:
                regex.append(f"(?P<{variable.group(1)}>{'.+' if variable.group(2) else '[^/]+'})")
            else:
                regex.append(re.escape(segment))
                literal += len(segment)
        routes.append((literal, http["method"], re.compile("/".join(regex) + "/?"), name))
    # Where two templates match one path, the one with more literal text is the meant one.
    routes.sort(key=lambda route: -route[0])
    return model.protocol, [(method, pattern, name) for _, method, pattern, name in routes]


@functools.cache
def _regions(service: str) -> frozenset[str]:
    """Every region of every partition botocore lists for `service` or for EC2 (global services
    such as IAM are signed with a region EC2 has)."""
    session = _botocore_session()
    found = set()
    for partition in session.get_available_partitions():
        for name in (service, "ec2"):
            found.update(session.get_available_regions(name, partition_name=partition))
    return frozenset(found)


def known_region(service: str, region: str) -> bool:
    return region in _regions(service)


def unknown_region_response(call: ApiCall) -> Response:
    """What AWS answers a request signed for a region it does not have: a signature error, in the
    service's wire format (EC2 AuthFailure, query SignatureDoesNotMatch, JSON InvalidSignatureException)."""
    message = f"Credential should be scoped to a valid region, not '{call.region}'. "
    request_id = str(uuid.uuid4())
    family = {"ec2": "ec2", "query": "query", "rest-xml": "query"}.get(call.protocol, "json")
    if family == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>AuthFailure</Code><Message>{escape(message)}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return Response(xml, status=401, content_type="text/xml")
    if family == "query":
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return Response(xml, status=403, content_type="text/xml")
    response = _json_error(403, "InvalidSignatureException", message, typed=call.protocol == "json")
    response.headers["x-amzn-RequestId"] = request_id
    return response


def fault_response(call: ApiCall, decision: Decision) -> Response:
    """An injected error in the service's own wire format, so boto3 raises the real error code."""
    # rest-xml errors parse like query ones; every other protocol (rest-json, json, CBOR) reads JSON.
    family = {"ec2": "ec2", "query": "query", "rest-xml": "query"}.get(call.protocol, "json")
    code = _SERVICE_FAULT_CODES.get(call.service, _FAULT_CODES[family])[decision.status]
    message = f"{_FAULT_MESSAGES[decision.status]} (injected by the sandbox's fault rules)"
    request_id = str(uuid.uuid4())
    if family == "json":
        response = _json_error(decision.status, code, message, typed=call.protocol == "json")
        response.headers["x-amzn-RequestId"] = request_id
    elif family == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        response = Response(xml, status=decision.status, content_type="text/xml")
    else:
        sender = "Sender" if decision.status == 429 else "Receiver"
        xml = (
            f"<ErrorResponse><Error><Type>{sender}</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        response = Response(xml, status=decision.status, content_type="text/xml")
    if decision.retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(decision.retry_after))
    return response


def _json_error(status: int, code: str, message: str, *, typed: bool = False) -> Response:
    """A JSON-protocol error: the code in x-amzn-ErrorType (and `__type` for the non-REST JSON protocol)."""
    body = {"__type": code, "message": message} if typed else {"message": message}
    return Response(
        json.dumps(body), status=status, headers={"x-amzn-ErrorType": code}, content_type="application/json"
    )


def canonical_arn(arn: str) -> str:
    """An assumed role's session ARN -> the role's ARN (how EKS maps sessions to principals)."""
    match = re.fullmatch(r"arn:([\w-]+):sts::(\d+):assumed-role/([^/]+)/.+", arn)
    return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}" if match else arn
