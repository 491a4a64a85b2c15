# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS connection: one boto3 session, lazily built regional clients, one retry policy.

Every call to AWS goes through :meth:`Connection.call` (or its helpers :meth:`Connection.api` and
:meth:`Connection.paginate`), so botocore's errors become typed :class:`FabricError` s naming the
cloud, the resource and the operation, and the one :class:`Retrier` decides what is retried:
botocore's own retries are turned off (``total_max_attempts: 1``).

Only credentials, the endpoint URL and the CA bundle come from the provider options
(``common/args.py`` ``AWS_OPTIONS``); a custom endpoint works for real AWS (VPC endpoints, FIPS,
proxies) exactly as for the sandbox.
"""

from __future__ import annotations

import datetime
import os
import threading

from ansible_collections.multicloud.fabric.plugins.module_utils.common.connection import BaseConnection
from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import (
    VALIDATION,
    FabricError,
    NotFoundError,
    ValidationError,
)

try:
    import boto3
    import botocore
    import botocore.exceptions
    from botocore.config import Config
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test through HAS_BOTO3
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None

CLOUD = "aws"
USER_AGENT_EXTRA = "multicloud.fabric"
# Seconds between two polls of a long operation on real AWS; modules pass smaller values for the
# sandbox through ``poll_interval``.
DEFAULT_POLL_INTERVAL = 10.0
# Pauses before retrying a call that found no resource created a moment ago (see Connection.api).
_EVENTUAL_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)

_CREDENTIALS_ADVICE = (
    "set aws_access_key and aws_secret_key (environment AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, plus "
    "aws_session_token / AWS_SESSION_TOKEN for temporary credentials), or aws_profile (AWS_PROFILE), or run "
    "where an instance or container role provides credentials"
)


class Connection(BaseConnection):
    """Boto3 session and clients for one task.

    ``params`` holds the ``aws_*`` provider options; ``region`` is the default region of
    :meth:`client` (each call may name another). Clients are built on first use and cached per
    (service, region).
    """

    cloud = CLOUD

    def __init__(self, params, retrier, region=None, *, poll_interval=DEFAULT_POLL_INTERVAL):
        if not HAS_BOTO3:
            raise FabricError(
                f"the AWS SDK is not installed ({BOTO3_IMPORT_ERROR})",
                cloud=CLOUD,
                kind=VALIDATION,
                advice="install the Python packages boto3 and botocore on the controller (pip install boto3)",
            )
        self.params = dict(params or {})
        self.retrier = retrier
        self.region = region
        self.poll_interval = float(poll_interval)
        self._session = None
        self._clients = {}
        self._clients_lock = threading.Lock()

    # ------------------------------------------------------------------ session and clients

    @property
    def session(self):
        """The boto3 session; raises :class:`ValidationError` when no credentials can be found."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self):
        key, secret = self.params.get("aws_access_key"), self.params.get("aws_secret_key")
        if bool(key) != bool(secret):
            missing = "aws_secret_key" if key else "aws_access_key"
            env = "AWS_SECRET_ACCESS_KEY" if key else "AWS_ACCESS_KEY_ID"
            raise ValidationError(
                missing,
                f"an access key needs both halves; {missing} (environment {env}) is missing",
                advice=_CREDENTIALS_ADVICE,
            )
        kwargs = {}
        if key:
            kwargs["aws_access_key_id"] = key
            kwargs["aws_secret_access_key"] = secret
            if self.params.get("aws_session_token"):
                kwargs["aws_session_token"] = self.params["aws_session_token"]
        if self.params.get("aws_profile"):
            kwargs["profile_name"] = self.params["aws_profile"]
        try:
            session = boto3.Session(**kwargs)
        except botocore.exceptions.ProfileNotFound:
            raise ValidationError(
                "aws_profile",
                f"the AWS profile {self.params['aws_profile']!r} is not in the AWS config or credentials file",
                advice="name a profile of ~/.aws/config (or AWS_CONFIG_FILE), or give keys instead",
            ) from None
        if session.get_credentials() is None:
            raise ValidationError(
                "aws_access_key",
                "no AWS credentials were given and none were found in the environment, profile or instance role",
                advice=_CREDENTIALS_ADVICE,
            )
        return session

    def _client_kwargs(self, region):
        ca_bundle = self.params.get("aws_ca_bundle")
        if ca_bundle and not os.path.isfile(ca_bundle):
            raise ValidationError(
                "aws_ca_bundle", f"the CA bundle {ca_bundle!r} is not a readable file (environment AWS_CA_BUNDLE)"
            )
        kwargs = {
            "region_name": region,
            "config": Config(retries={"total_max_attempts": 1}, user_agent_extra=USER_AGENT_EXTRA),
        }
        if self.params.get("aws_endpoint_url"):
            kwargs["endpoint_url"] = self.params["aws_endpoint_url"]
        if ca_bundle:
            kwargs["verify"] = ca_bundle
        return kwargs

    def _region(self, region):
        region = region or self.region
        if not region:
            raise ValidationError("region", "no AWS region was given", advice="set the task's region option")
        return region

    def client(self, service, region=None):
        """The cached boto3 client of ``service`` in ``region`` (default: the connection's)."""
        region = self._region(region)
        key = (service, region)
        with self._clients_lock:  # boto3 clients are thread-safe once made; making them is not
            if key not in self._clients:
                self._clients[key] = self.new_client(service, region)
        return self._clients[key]

    def new_client(self, service, region=None):
        """A new, uncached client (for callers that register event handlers on it)."""
        region = self._region(region)
        return self.session.client(service, **self._client_kwargs(region))

    @property
    def ec2(self):
        return self.client("ec2")

    @property
    def eks(self):
        return self.client("eks")

    @property
    def sts(self):
        return self.client("sts")

    # ------------------------------------------------------------------ calls

    def api(self, service, operation, params=None, *, region=None, resource=None, eventual=False):
        """Call the AWS ``operation`` (API name, e.g. ``DescribeVpcs``) of ``service`` with ``params``.

        ``eventual=True`` is for calls on a resource created a moment ago: EC2 is eventually
        consistent and may answer ``*.NotFound`` for it for a few seconds, so a not-found error is
        retried a few times (about 15 s in all) before it counts.
        """
        params = params or {}

        def invoke():
            method = getattr(self.client(service, region), botocore.xform_name(operation))
            return method(**params)

        delays = list(_EVENTUAL_DELAYS) if eventual else []
        while True:
            try:
                return self.call(invoke, resource=resource, call=operation)
            except NotFoundError:
                if not delays:
                    raise
                self.retrier.sleep(delays.pop(0))

    def paginate(self, service, operation, key, params=None, *, region=None, resource=None):
        """Every item under ``key`` of every page of ``operation`` (a paginated List*/Describe*)."""
        params = params or {}

        def invoke():
            paginator = self.client(service, region).get_paginator(botocore.xform_name(operation))
            items = []
            for page in paginator.paginate(**params):
                items.extend(page.get(key) or [])
            return items

        return self.call(invoke, resource=resource, call=operation)

    # ------------------------------------------------------------------ credentials

    def assume_role(self, role_arn, session_name):
        """These provider options with the temporary credentials of ``role_arn`` (STS ``AssumeRole``
        with this connection's credentials) in place of its own: keys and session token set, the
        profile cleared. Failures are typed errors naming the role."""
        response = self.api(
            "sts",
            "AssumeRole",
            {"RoleArn": role_arn, "RoleSessionName": session_name},
            resource=f"role {role_arn}",
        )
        credentials = response["Credentials"]
        return dict(
            self.params,
            aws_access_key=credentials["AccessKeyId"],
            aws_secret_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            aws_profile=None,
        )

    # ------------------------------------------------------------------ locations

    def locations(self, service="ec2"):
        """``{region: []}`` of every region botocore's partition data lists for ``service`` (no API
        call: this is the data the SDK builds endpoints from)."""
        data = botocore.session.get_session()
        found = {}
        for partition in data.get_available_partitions():
            for region in data.get_available_regions(service, partition_name=partition):
                found[region] = []
        return found

    # ------------------------------------------------------------------ waiting


def to_plain(obj):
    """A copy of an SDK response that JSON can hold (datetimes as ISO 8601 strings)."""
    if isinstance(obj, dict):
        return {key: to_plain(value) for key, value in obj.items() if key != "ResponseMetadata"}
    if isinstance(obj, (list, tuple)):
        return [to_plain(item) for item in obj]
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    return obj
