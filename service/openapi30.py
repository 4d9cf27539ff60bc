"""An OpenAPI 3.0 rendition of FastAPI's 3.1 document, for OGC API clients.

OGC API - Features asks for an OpenAPI 3.0 definition (``/conf/oas30``). FastAPI
emits 3.1; the differences that matter for our schemas are few and mechanical:
``null`` in ``anyOf``/``type`` becomes ``nullable``, ``const`` becomes a one-value
``enum``, numeric ``exclusiveMinimum``/``exclusiveMaximum`` become booleans, and
schema ``examples`` lists become one ``example``.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["to_openapi30"]

_DROP = ("contentMediaType", "contentEncoding", "prefixItems", "$schema", "unevaluatedProperties")


def to_openapi30(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` downgraded to OpenAPI 3.0.3."""
    out = _walk(copy.deepcopy(doc))
    out["openapi"] = "3.0.3"
    return out


def _walk(node: Any) -> Any:
    if isinstance(node, list):
        return [_walk(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _walk(value) for key, value in node.items()}
    return _downgrade_schema(node)


def _downgrade_schema(node: dict[str, Any]) -> dict[str, Any]:
    for key in _DROP:
        node.pop(key, None)
    _nullable_unions(node)
    _nullable_types(node)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            node[plain] = value
            node[bound] = True
    examples = node.get("examples")
    if isinstance(examples, list):
        node.pop("examples")
        if examples:
            node["example"] = examples[0]
    return node


def _nullable_unions(node: dict[str, Any]) -> None:
    """``anyOf: [X, {type: null}]`` -> X with ``nullable: true``."""
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if not (isinstance(options, list) and {"type": "null"} in options):
            continue
        rest = [o for o in node.pop(key) if o != {"type": "null"}]
        node["nullable"] = True
        if len(rest) == 1 and "$ref" not in rest[0]:
            node.update(rest[0])
        elif len(rest) == 1:
            node["allOf"] = rest  # a $ref cannot carry siblings in 3.0
        else:
            node[key] = rest


def _nullable_types(node: dict[str, Any]) -> None:
    """``type: [X, "null"]`` -> ``type: X`` with ``nullable: true``."""
    types = node.get("type")
    if isinstance(types, list):
        kept = [t for t in types if t != "null"]
        if len(kept) < len(types):
            node["nullable"] = True
        node["type"] = kept[0] if len(kept) == 1 else "string"
