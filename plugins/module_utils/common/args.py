# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument-spec builders for the provider options every module shares.

The tables below are the one source of the provider options; ``plugins/doc_fragments/`` documents
the same options and a unit test keeps the two identical (names, types, defaults, choices,
environment variables), so documentation and behaviour cannot drift apart.
"""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.multicloud.fabric.plugins.module_utils.common.errors import ValidationError

# Each entry: AnsibleModule option keys plus ``env``, the environment variables read (in order)
# when the option is not given.
AWS_OPTIONS = {
    "aws_access_key": {"type": "str", "no_log": False, "env": ("AWS_ACCESS_KEY_ID",)},
    "aws_secret_key": {"type": "str", "no_log": True, "env": ("AWS_SECRET_ACCESS_KEY",)},
    "aws_session_token": {"type": "str", "no_log": True, "env": ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")},
    "aws_profile": {"type": "str", "env": ("AWS_PROFILE",)},
    "aws_endpoint_url": {"type": "str", "env": ("AWS_ENDPOINT_URL",)},
    "aws_ca_bundle": {"type": "path", "env": ("AWS_CA_BUNDLE",)},
}

GCP_OPTIONS = {
    "gcp_project": {
        "type": "str",
        "env": ("GCP_PROJECT", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT", "GCE_PROJECT"),
    },
    "gcp_service_account_file": {
        "type": "path",
        "env": ("GCP_SERVICE_ACCOUNT_FILE", "GOOGLE_APPLICATION_CREDENTIALS", "GCE_CREDENTIALS_FILE_PATH"),
    },
    "gcp_service_account_contents": {"type": "str", "no_log": True, "env": ("GCP_SERVICE_ACCOUNT_CONTENTS",)},
    "gcp_access_token": {"type": "str", "no_log": True, "env": ("GCP_ACCESS_TOKEN",)},
    "gcp_scopes": {
        "type": "list",
        "elements": "str",
        "default": ["https://www.googleapis.com/auth/cloud-platform"],
    },
    "gcp_api_endpoint": {"type": "str", "env": ("GCP_API_ENDPOINT",)},
    "gcp_ca_bundle": {"type": "path", "env": ("GCP_CA_BUNDLE",)},
}

# ``azure_base_url`` and ``azure_authority_host`` have no default here: when neither they nor their
# environment variables are set, ``azure/client.py`` takes them from ``azure_cloud_environment``
# (Azure's public cloud when that is not set either), so it can tell "not given" from a value.
AZURE_OPTIONS = {
    "azure_subscription_id": {"type": "str", "env": ("AZURE_SUBSCRIPTION_ID",)},
    "azure_tenant_id": {"type": "str", "env": ("AZURE_TENANT_ID", "AZURE_TENANT")},
    "azure_client_id": {"type": "str", "env": ("AZURE_CLIENT_ID",)},
    "azure_client_secret": {"type": "str", "no_log": True, "env": ("AZURE_CLIENT_SECRET", "AZURE_SECRET")},
    "azure_username": {"type": "str", "env": ("AZURE_USERNAME", "AZURE_AD_USER")},
    "azure_password": {"type": "str", "no_log": True, "env": ("AZURE_PASSWORD",)},
    "azure_auth_source": {
        "type": "str",
        "choices": ["auto", "service_principal", "user_password", "cli", "managed_identity"],
        "default": "auto",
        "env": ("AZURE_AUTH_SOURCE",),
    },
    "azure_cloud_environment": {"type": "str", "env": ("AZURE_CLOUD_ENVIRONMENT",)},
    "azure_base_url": {"type": "str", "env": ("AZURE_BASE_URL",)},
    "azure_authority_host": {"type": "str", "env": ("AZURE_AUTHORITY_HOST",)},
    "azure_ca_bundle": {"type": "path", "env": ("AZURE_CA_BUNDLE",)},
}

# Cloudflare: an API token (the SDK's own variable), the account that holds load-balancer pools and
# monitors, and the endpoint override every provider has.
CLOUDFLARE_OPTIONS = {
    "cloudflare_api_token": {"type": "str", "no_log": True, "env": ("CLOUDFLARE_API_TOKEN",)},
    "cloudflare_account_id": {"type": "str", "env": ("CLOUDFLARE_ACCOUNT_ID",)},
    "cloudflare_base_url": {"type": "str", "env": ("CLOUDFLARE_BASE_URL",)},
    "cloudflare_ca_bundle": {"type": "path", "env": ("CLOUDFLARE_CA_BUNDLE",)},
}

DEFAULT_WAIT_TIMEOUT = 1800

WAIT_OPTIONS = {
    "wait": {"type": "bool", "default": True},
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
}

PROVIDER_OPTIONS = {
    "aws": AWS_OPTIONS,
    "gcp": GCP_OPTIONS,
    "azure": AZURE_OPTIONS,
    "cloudflare": CLOUDFLARE_OPTIONS,
}


def _to_spec(options):
    spec = {}
    for name, option in options.items():
        entry = {key: value for key, value in option.items() if key != "env"}
        if isinstance(entry.get("default"), list):
            entry["default"] = list(entry["default"])
        if isinstance(entry.get("choices"), list):
            entry["choices"] = list(entry["choices"])
        if option.get("env"):
            entry["fallback"] = (env_fallback, list(option["env"]))
        spec[name] = entry
    return spec


def provider_argument_spec(*providers):
    """Argument spec with the credential and endpoint options of ``providers``."""
    spec = {}
    for provider in providers:
        try:
            spec.update(_to_spec(PROVIDER_OPTIONS[provider]))
        except KeyError:
            raise ValueError(f"unknown provider {provider!r}; expected one of {sorted(PROVIDER_OPTIONS)}") from None
    return spec


def wait_argument_spec():
    """``wait`` and ``wait_timeout`` as every long-running module takes them."""
    return _to_spec(WAIT_OPTIONS)


def provider_params(params, provider):
    """The values of one provider's options out of a module's parameters."""
    return {name: params.get(name) for name in PROVIDER_OPTIONS[provider]}


def resource_argument_spec(clouds):
    """``cloud`` (one of ``clouds``), ``name``, ``region`` and ``state``: what names one resource in one cloud."""
    return {
        "cloud": {"type": "str", "required": True, "choices": list(clouds)},
        "name": {"type": "str", "required": True},
        "region": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }


def check_resource(params, clouds):
    """The rules of :func:`resource_argument_spec` for input that does not come through Ansible's
    argument parsing (the ``topology_errors`` filter reads host variables), and the empty name or
    region that Ansible's ``required`` lets through. Returns the cloud."""
    cloud = params.get("cloud")
    if cloud not in clouds:
        raise ValidationError("cloud", f"expected one of {', '.join(clouds)}, got {cloud!r}")
    for key in ("name", "region"):
        if not params.get(key):
            raise ValidationError(key, "is required")
    return cloud


def tags_argument_spec():
    """``tags`` and ``purge_tags``: the one tag semantics (``tags`` not given: unmanaged)."""
    return {
        "tags": {"type": "dict"},
        "purge_tags": {"type": "bool", "default": True},
    }


def argument_spec(*pieces):
    """One module's argument spec from its own options and the shared pieces above, in order;
    an option defined twice is a programming error, not a silent override."""
    spec = {}
    for piece in pieces:
        twice = sorted(set(spec) & set(piece))
        if twice:
            raise ValueError(f"option {twice[0]!r} is defined twice")
        spec.update(piece)
    return spec
