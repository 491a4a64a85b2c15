# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubeconfig users for EKS: a bearer token signed now, or an ``aws eks get-token`` exec entry."""

from __future__ import annotations

import base64

# EKS bearer tokens: "k8s-aws-v1." + base64url(presigned STS GetCallerIdentity URL), the URL's
# signature covering the header that names the cluster.
TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a token's prefix, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
TOKEN_PRESIGN_SECONDS = 60
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def exec_user(region, cluster_name, params=None):
    """The kubeconfig user entry that runs ``aws eks get-token`` (no secret in it).

    The AWS CLI finds credentials itself; the profile, endpoint and CA bundle given to the module
    are passed on through its environment variables.
    """
    params = params or {}
    env = []
    for option, variable in (
        ("aws_profile", "AWS_PROFILE"),
        ("aws_endpoint_url", "AWS_ENDPOINT_URL_STS"),
        ("aws_ca_bundle", "AWS_CA_BUNDLE"),
    ):
        if params.get(option):
            env.append({"name": variable, "value": str(params[option])})
    return {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
            "env": env,
            "interactiveMode": "Never",
        }
    }


def eks_token(sts, cluster_name):
    """An EKS bearer token for ``cluster_name`` signed with ``sts``'s credentials.

    It is ``k8s-aws-v1.`` plus the unpadded base64url of a presigned STS ``GetCallerIdentity``
    URL (valid for 60 s; EKS accepts it for 15 minutes) whose SigV4 signature also covers the
    header ``x-k8s-aws-id: <cluster name>``, so the token is good for that cluster only. Nothing is
    sent: the URL is signed locally. ``sts`` is an STS client; the header handler is registered on
    it for this call only.
    """
    event = "before-sign.sts.GetCallerIdentity"

    def name_cluster(request, **_kwargs):
        request.headers[CLUSTER_ID_HEADER] = cluster_name

    sts.meta.events.register(event, name_cluster)
    try:
        url = sts.generate_presigned_url(
            "get_caller_identity", Params={}, ExpiresIn=TOKEN_PRESIGN_SECONDS, HttpMethod="GET"
        )
    finally:
        sts.meta.events.unregister(event, name_cluster)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")
