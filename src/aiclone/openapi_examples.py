"""Examples for the API document, built from the schemas themselves.

A request body or JSON success response that has no example gets one: the schema's own
``example``/``examples``/``const``/``default`` first, then an enum member, a format's sample
(:data:`_FORMAT_EXAMPLES`), a plausible value for what a field's name says (``email``,
``website``…), and numbers and strings within the schema's bounds and pattern. Objects are
filled to a bounded depth, so recursive schemas stay finite.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Operation, RequestBody

_FORMAT_EXAMPLES: dict[str, Any] = {
    "date-time": "2026-01-05T09:30:00Z",
    "date": "2026-01-05",
    "time": "09:30:00",
    "uuid": "3f2c8a54-9c1e-4d7b-8a60-2b5e7c1d9f10",
    "email": "ada@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "ipv4": "203.0.113.7",
    "ipv6": "2001:db8::7",
}
_MAX_DEPTH = 8


class _Examples:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema

    def of(self, schema: dict[str, Any], depth: int = 0) -> Any:
        schema = self.resolve(schema)
        for key in ("example", "const"):
            if key in schema:
                return copy.deepcopy(schema[key])
        if schema.get("examples"):
            return copy.deepcopy(schema["examples"][0])
        if "default" in schema and schema["default"] is not None:
            return copy.deepcopy(schema["default"])
        if schema.get("enum"):
            return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
        for key in ("oneOf", "anyOf"):
            if key in schema:
                branches = [b for b in schema[key] if self.resolve(b).get("type") != "null"]
                # Constraints may sit beside the branches (a nullable string's pattern, bounds).
                beside = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "description")}
                return self.of(
                    {**beside, **self.resolve(branches[0] if branches else schema[key][0])}, depth + 1
                )
        return self._of_type(schema, depth)

    def _of_type(self, schema: dict[str, Any], depth: int) -> Any:  # noqa: PLR0911 - one case per type
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            if depth >= _MAX_DEPTH:
                return {}
            required = schema.get("required", [])
            built = {
                name: _named_example(name, self.resolve(prop)) or self.of(prop, depth + 1)
                for name, prop in schema.get("properties", {}).items()
                if name in required or depth < 3
            }
            return {name: value for name, value in built.items() if value is not None or name in required}
        if kind == "array":
            if depth >= _MAX_DEPTH or schema.get("maxItems") == 0:
                return []
            return [self.of(schema.get("items", {}), depth + 1)] * max(1, schema.get("minItems", 1))
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (kind == "integer"))
            value = max(low, 1)
            if "maximum" in schema:
                value = min(value, schema["maximum"])
            return int(value) if kind == "integer" else float(value)
        if kind == "boolean":
            return True
        if kind == "string":
            if schema.get("format") in _FORMAT_EXAMPLES:
                return _FORMAT_EXAMPLES[schema["format"]]
            return _string_example(schema)
        # Any JSON value (a free-form ``metadata`` column, say): an empty object will do.
        return {} if kind is None else None


# Plausible text for fields the name says more about than the schema does.
_NAMED = (
    (("email", "username"), "ada@example.com"),
    (("url", "website", "linkedin", "link"), "https://example.com/"),
    (("password", "new_password"), "correct-horse-battery-staple-9"),
    (("name", "full_name"), "Ada Lovelace"),
    (("company",), "Analytical Engines"),
)


def _named_example(name: str, schema: dict[str, Any]) -> str | None:
    """A name-based example for a plain string field, if it meets the field's constraints."""
    if "format" in schema or "enum" in schema or "examples" in schema:
        return None
    kinds = schema.get("type")
    branches = [b.get("type") for b in schema.get("oneOf", schema.get("anyOf", []))]
    if kinds != "string" and "string" not in (kinds or []) and "string" not in branches:
        return None
    for names, text in _NAMED:
        if name in names or name.endswith(tuple(f"_{n}" for n in names)):
            pattern = schema.get("pattern")
            fits = schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", 10_000)
            return text if fits and (pattern is None or re.search(pattern, text)) else None
    return None


def _string_example(schema: dict[str, Any]) -> str | None:
    low: int = schema.get("minLength", 0)
    high: int = schema.get("maxLength", 64)
    candidates = [("example" * (1 + low // 7))[:high], "", "1" * max(low, 1), "a" * max(low, 1)]
    pattern = schema.get("pattern")
    for text in candidates:
        if low <= len(text) <= high and (pattern is None or re.search(pattern, text)):
            return text
    return None


def _wants_example(media_type: str) -> bool:
    return media_type.endswith("json") or media_type == "application/x-www-form-urlencoded"


def document_examples(openapi: OpenAPI, operations: Iterable[tuple[str, str, Operation]]) -> None:
    """Give every request body and JSON success response of ``operations`` an example, where none is set."""
    components = openapi.components.schemas if openapi.components and openapi.components.schemas else {}
    examples = _Examples({name: schema.to_schema() for name, schema in components.items()})
    for _path, _method, operation in operations:
        targets: list[OpenAPIMediaType] = []
        if isinstance(operation.request_body, RequestBody):
            targets += [m for t, m in operation.request_body.content.items() if _wants_example(t)]
        for status, response in (operation.responses or {}).items():
            if isinstance(response, OpenAPIResponse) and status.startswith("2") and response.content:
                targets += [m for t, m in response.content.items() if t.endswith("json")]
        for media in targets:
            if media.example is None and not media.examples and media.schema is not None:
                value = examples.of(media.schema.to_schema())
                if value is not None:
                    media.example = value
