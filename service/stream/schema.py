"""The JSON Schema of the stream protocol, used to check every client message.

``ar-protocol.schema.json`` (next to this module, shipped as package data) holds one
``$defs`` entry per message. Its viewer pose refers to the official OGC GeoPose
Basic-Quaternion schema, ``ar_assets/schemas/GeoPose.Basic.Quaternion.Schema.json``,
registered here under the URI the protocol schema resolves it to.

Refusals name the offending field and the broken rule, never the value sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from service.stream.protocol import ErrorCode
from service.stream.versions import is_newer

__all__ = [
    "CLIENT_TYPES",
    "SCHEMA_ID",
    "Problem",
    "check_client_message",
    "geopose_schema",
    "protocol_schema",
    "validator",
]

SCHEMA_ID = "https://blightmap.org/schemas/ar-protocol.schema.json"
GEOPOSE_ID = "https://blightmap.org/schemas/GeoPose.Basic.Quaternion.Schema.json"
CLIENT_TYPES = ("auth", "subscribe", "move", "ping")
_MAX_FIELD_CHARS = 64


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a client message was refused: an error code, a reason and the field."""

    code: ErrorCode
    detail: str
    field: str | None = None


@cache
def protocol_schema() -> dict[str, Any]:
    """The protocol schema document."""
    text = resources.files("service.stream").joinpath("ar-protocol.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _registry() -> Registry[Any]:
    resources_ = [
        (SCHEMA_ID, Resource.from_contents(protocol_schema())),
        (GEOPOSE_ID, Resource.from_contents(geopose_schema())),
    ]
    registry: Registry[Any] = Registry().with_resources(resources_)
    return registry


@cache
def geopose_schema() -> dict[str, Any]:
    """The official OGC GeoPose Basic-Quaternion schema the protocol schema refers to."""
    text = (
        resources.files("ar_assets")
        .joinpath("schemas", "GeoPose.Basic.Quaternion.Schema.json")
        .read_text()
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def _inline(node: Any, document: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` replaced by its target (the schema has no cycles)."""
    if isinstance(node, list):
        return [_inline(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part]
        return _inline(target, document)
    if ref == GEOPOSE_ID.rsplit("/", 1)[1]:
        geopose = geopose_schema()
        body = {k: v for k, v in geopose.items() if k not in ("$schema", "definitions")}
        return _inline(body, geopose)
    return {key: _inline(value, document) for key, value in node.items()}


@cache
def _client_validator(kind: str) -> Draft202012Validator:
    """A self-contained (``$ref``-free) validator: twice as fast as resolving references."""
    root = protocol_schema()
    return Draft202012Validator(_inline(root["$defs"][kind], root))


@cache
def validator(definition: str) -> Draft202012Validator:
    """A validator of ``$defs/<definition>`` (``subscribe``, ``delta``, ``server_message``...).

    It resolves references through a :class:`referencing.Registry`, as any standard
    tool would; the hub checks client messages with an equivalent inlined copy.
    """
    if definition not in protocol_schema()["$defs"]:
        raise KeyError(definition)
    ref = {"$ref": f"{SCHEMA_ID}#/$defs/{definition}"}
    return Draft202012Validator(ref, registry=_registry())


def check_client_message(message: Any) -> Problem | None:
    """``None`` when ``message`` is a valid client message, else what is wrong with it.

    Unknown members are refused, unless the message states a newer ``minor``
    version than the server's (:mod:`service.stream.versions`).
    """
    if not isinstance(message, dict):
        return Problem(ErrorCode.BAD_REQUEST, "a message must be a JSON object")
    kind = message.get("type")
    if kind is None:
        return Problem(ErrorCode.BAD_REQUEST, "is required", "type")
    if not isinstance(kind, str) or kind not in CLIENT_TYPES:
        return Problem(ErrorCode.UNKNOWN_TYPE, f"must be one of {', '.join(CLIENT_TYPES)}", "type")
    errors = _client_validator(kind).iter_errors(message)
    if is_newer(message):  # a newer minor version may add members: ignore them
        errors = (e for e in errors if e.validator != "additionalProperties")
    error = best_match(errors)
    if error is not None:
        field, reason = _describe(error)
        return Problem(ErrorCode.BAD_REQUEST, reason, field)
    for path in _non_finite(message, ()):
        return Problem(ErrorCode.BAD_REQUEST, "must be a finite number", _dotted(path))
    return None


def _describe(error: ValidationError) -> tuple[str | None, str]:
    """The field (dotted path) and the rule ``error`` broke, without the offending value."""
    path = list(error.absolute_path)
    rule, value = error.validator, error.validator_value
    instance = error.instance
    if rule == "required" and isinstance(instance, dict):
        missing = next((p for p in value if p not in instance), "")
        return _dotted((*path, missing)), "is required"
    if rule == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(p) for p in instance if p not in known)[:1]
        return _dotted((*path, *extra)), "unknown property; it is not part of the protocol"
    reasons = {
        "type": lambda: f"must be of type {value}",
        "minimum": lambda: f"must be >= {value}",
        "maximum": lambda: f"must be <= {value}",
        "enum": lambda: "must be one of " + ", ".join(str(v) for v in value),
        "const": lambda: f"must be {json.dumps(value)}",
        "minLength": lambda: f"must have at least {value} characters",
        "maxLength": lambda: f"must have at most {value} characters",
        "maxItems": lambda: f"must have at most {value} items",
        "uniqueItems": lambda: "must not repeat items",
    }
    make = reasons.get(str(rule))
    return _dotted(path), make() if make else "is invalid"


def _dotted(path: tuple[Any, ...] | list[Any]) -> str | None:
    if not path:
        return None
    return ".".join(str(p) for p in path)[:_MAX_FIELD_CHARS]


def _non_finite(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Paths of NaN or infinite numbers (JSON has none, but a dict given directly may)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, (*path, i))
