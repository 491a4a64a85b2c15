"""Validating ARM request bodies against the official ARM JSON Schemas in ../shared/specs/azure."""

from __future__ import annotations

import json

import jsonschema
from referencing import Registry, Resource
from support import SPECS as SHARED_SPECS

SPECS = SHARED_SPECS / "azure"

SCHEMAS = {
    "managedClusters": ("arm-schema-2026-05-01-Microsoft.ContainerService.Aks.json", "managedClusters"),
    "agentPools": ("arm-schema-2026-05-01-Microsoft.ContainerService.Aks.json", "managedClusters_agentPools"),
    "virtualNetworks": ("arm-schema-2025-07-01-Microsoft.Network.NRP.json", "virtualNetworks"),
    "subnets": ("arm-schema-2025-07-01-Microsoft.Network.NRP.json", "virtualNetworks_subnets"),
    "publicIPAddresses": ("arm-schema-2025-07-01-Microsoft.Network.NRP.json", "publicIPAddresses"),
}


def schema_errors(path: str, body: dict) -> list:
    """Validate an ARM PUT body against its resource type's ARM JSON Schema (template form)."""
    parts = path.split("/")
    kind = parts[-2]
    file, definition = SCHEMAS[kind]
    document = json.loads((SPECS / file).read_text())
    schema = document["resourceDefinitions"][definition]
    resource = {
        **body,
        "name": parts[-1],
        "type": schema["properties"]["type"]["enum"][0],
        "apiVersion": schema["properties"]["apiVersion"]["enum"][0],
    }
    root = Resource.from_contents(document, default_specification=_draft4())
    registry = _common_registry().with_resource(document["id"].rstrip("#"), root)
    validator = jsonschema.Draft4Validator({**schema, "definitions": document["definitions"]}, registry=registry)
    return sorted(validator.iter_errors(resource), key=lambda e: list(e.path))


def validate_request(path: str, body: dict) -> None:
    errors = schema_errors(path, body)
    assert not errors, f"{path}: " + "; ".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


def _draft4():
    from referencing.jsonschema import DRAFT4  # noqa: PLC0415

    return DRAFT4


def _common_registry() -> Registry:
    common = json.loads((SPECS / "arm-schema-common-definitions.json").read_text())
    return Registry().with_resource(
        "https://schema.management.azure.com/schemas/common/definitions.json",
        Resource.from_contents(common, default_specification=_draft4()),
    )
