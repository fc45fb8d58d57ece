"""Conventions of the API document, derived for every operation (present and future).

The app factory runs :func:`document_conventions` once, after the routes are known, so a new
handler gets all of this without being listed anywhere:

- **operationId**: the handler function's name camelCased (``retry_delivery`` → ``retryDelivery``,
  see :func:`aiclone.openapi.operation_id`); a handler may still pass ``operation_id=`` to its
  decorator. Litestar refuses duplicates at start, ``tests/integration/http/test_openapi.py`` refuses one that
  does not start with a verb.
- **tags**: the controller's; an operation without one gets the first path segment after ``/api``.
  The top-level ``tags`` list names every tag used, with its description from
  :data:`TAG_DESCRIPTIONS` (a test fails for an undescribed tag).
- **problems the edge answers**: the layers in front of routing (:mod:`aiclone.edge`) answer
  431, 503 (shutting down) and, for a request with a body, 408 and 413, on every route; the rate
  limiter answers 429 on every route it does not exempt. Those are documented on each operation,
  with their response headers: ``X-Request-ID`` on every response, ``RateLimit`` /
  ``RateLimit-Policy`` (and the older ``X-RateLimit-*``) on every counted one, ``Retry-After`` on
  429 and 503.
- **examples**: every request body and every JSON success response without one gets an example
  built from its schema (field ``examples`` first, then enums, formats and bounds;
  :mod:`aiclone.openapi_examples`).
- **query enums**: an optional enum query parameter is documented as the enum alone; "absent"
  is how a client says "no filter" (a ``null`` member makes generators emit one type per branch).
- **webhooks**: one OpenAPI 3.1 webhook per event type, its body the delivery envelope around
  the event's payload schema, with the same component schemas ``GET /api/event-types`` serves.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.datastructures import SchemaRegistry
from litestar._openapi.schema_generation import SchemaCreator
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
    Tag,
)
from litestar.typing import FieldDefinition

from aiclone.errors import PROBLEM_JSON
from aiclone.openapi_examples import document_examples
from aiclone.ratelimit.policy import EXEMPT_PATHS, EXEMPT_PREFIXES

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

TAG_DESCRIPTIONS: dict[str, str] = {
    "health": "Liveness and readiness probes for orchestrators and load balancers; public.",
    "auth": "Registration, sign-in, tokens, browser sessions, account recovery and the caller's own account.",
    "admin": "User administration; administrators only.",
    "prospects": "People and companies to sell to: create, import, filter, approve or reject.",
    "research": "Research tasks run by the workers against an engine, with progress and an insight.",
    "outreach": "Outreach messages to prospects: drafts, sending and booked meetings.",
    "content": "Content items (posts, articles, newsletters): drafts and publishing.",
    "automations": "Rules that react to events with an action (notify, research, tag).",
    "notifications": "The caller's notifications and their unread count.",
    "activities": "The activity feed: one entry per thing that happened.",
    "analytics": "Summaries over a period and data exports (CSV, JSON, NDJSON, XLSX).",
    "events": (
        "The live event stream (Server-Sent Events), its credentials, and the catalog of event types with"
        " the JSON schema of each payload."
    ),
    "api-keys": "The caller's API keys: long-lived credentials with scopes, for scripts and integrations.",
    "hooks": (
        "REST-hook subscriptions (Zapier's protocol): subscribe a target URL to event types with an API key,"
        " unsubscribe, and poll recent events."
    ),
    "webhooks": (
        "Webhook endpoints, their signing secrets and delivery log. The payloads they receive are in this"
        " document's `webhooks` section."
    ),
}

# Descriptions of the problems every route can answer before it runs.
EDGE_DESCRIPTIONS = {
    408: "The request body arrived too slowly",
    413: "Request body too large",
    429: "Rate limit exceeded; see Retry-After",
    431: "Request header fields too large",
    503: "Unavailable: the instance is shutting down or the database is unreachable; see Retry-After",
}

REQUEST_ID = "X-Request-ID"
RETRY_AFTER = "Retry-After"
RATE_LIMIT_HEADERS = ("RateLimit", "RateLimit-Policy", "X-RateLimit-Limit", "X-RateLimit-Remaining")
HEADERS: dict[str, OpenAPIHeader] = {
    REQUEST_ID: OpenAPIHeader(
        description=(
            "The request's id: the caller's own `X-Request-ID` when it is sane, else one the server made."
            " Problem bodies repeat it as `request_id`; quote it when reporting one."
        ),
        required=True,
        schema=Schema(type=OpenAPIType.STRING, max_length=128),
    ),
    "RateLimit": OpenAPIHeader(
        description=(
            "Current state of each quota that counted this request (draft-ietf-httpapi-ratelimit-headers):"
            ' `"<quota>";r=<remaining>;t=<seconds until it frees up>`. Sent when rate limiting is on.'
        ),
        schema=Schema(type=OpenAPIType.STRING, examples=['"user";r=299;t=60']),
    ),
    "RateLimit-Policy": OpenAPIHeader(
        description='The quotas that apply: `"<quota>";q=<requests>;w=<window seconds>`.',
        schema=Schema(type=OpenAPIType.STRING, examples=['"user";q=300;w=60']),
    ),
    "X-RateLimit-Limit": OpenAPIHeader(
        description="The older de-facto field: the limit of the quota closest to running out.",
        schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    ),
    "X-RateLimit-Remaining": OpenAPIHeader(
        description="The older de-facto field: requests left in the quota closest to running out.",
        schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    ),
    RETRY_AFTER: OpenAPIHeader(
        description="Seconds to wait before trying again.",
        schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    ),
}


def _ref(kind: str, name: str) -> Reference:
    return Reference(ref=f"#/components/{kind}/{name}")


def _operations(openapi: OpenAPI) -> list[tuple[str, str, Operation]]:
    return [
        (path, method, operation)
        for path, item in (openapi.paths or {}).items()
        for method in METHODS
        if isinstance(operation := getattr(item, method, None), Operation)
    ]


def _rate_limited(path: str) -> bool:
    return path not in EXEMPT_PATHS and not path.startswith(EXEMPT_PREFIXES)


def _document_tags(openapi: OpenAPI) -> None:
    used: set[str] = set()
    for path, _method, operation in _operations(openapi):
        if not operation.tags:
            segments = [s for s in path.split("/") if s and s != "api" and not s.startswith("{")]
            operation.tags = [segments[0] if segments else "api"]
        used.update(operation.tags)
    openapi.tags = [Tag(name=name, description=TAG_DESCRIPTIONS.get(name)) for name in sorted(used)]


def _document_edge(openapi: OpenAPI) -> None:
    for path, _method, operation in _operations(openapi):
        responses = operation.responses if operation.responses is not None else {}
        limited = _rate_limited(path)
        codes = [431, 503]
        if operation.request_body is not None:
            codes += [408, 413]
        if limited:
            codes.append(429)
        for code in codes:
            responses.setdefault(
                str(code),
                OpenAPIResponse(
                    description=EDGE_DESCRIPTIONS[code],
                    content={PROBLEM_JSON: OpenAPIMediaType(schema=_ref("schemas", "Problem"))},
                ),
            )
        for status, response in responses.items():
            if not isinstance(response, OpenAPIResponse):
                continue
            headers = dict(response.headers or {})
            headers.setdefault(REQUEST_ID, _ref("headers", REQUEST_ID))
            if limited:
                for name in RATE_LIMIT_HEADERS:
                    headers.setdefault(name, _ref("headers", name))
            if status in ("429", "503"):
                headers.setdefault(RETRY_AFTER, _ref("headers", RETRY_AFTER))
            response.headers = headers
        operation.responses = dict(sorted(responses.items()))


def _without_null(schema: Schema) -> None:
    if isinstance(schema.type, list) and OpenAPIType.NULL in schema.type:
        rest = [t for t in schema.type if t != OpenAPIType.NULL]
        schema.type = rest[0] if len(rest) == 1 else rest
    if schema.enum is not None:
        schema.enum = [value for value in schema.enum if value is not None]


def _children(schema: Schema) -> list[Any]:
    found: list[Any] = [*(schema.properties or {}).values(), *(schema.one_of or []), *(schema.any_of or [])]
    found += [
        *(schema.all_of or []),
        *(schema.prefix_items or []),
        schema.items,
        schema.additional_properties,
    ]
    return [child for child in found if isinstance(child, Schema)]


def _collapse_single_branches(schema: Schema) -> None:
    """``oneOf: [X]`` (an optional field of a partial update) says no more than X itself; a oneOf
    of overlapping types (integer and number) is an anyOf."""
    for child in _children(schema):
        _collapse_single_branches(child)
    for name, child in (schema.properties or {}).items():
        # ``oneOf: [$ref]`` with nothing beside it is the reference itself.
        if isinstance(child, Schema) and child.one_of is not None and len(child.one_of) == 1:
            only = child.one_of[0]
            rest = {f.name for f in dataclasses.fields(child) if getattr(child, f.name) not in (None, [], {})}
            if isinstance(only, Reference) and rest == {"one_of"} and schema.properties is not None:
                schema.properties[name] = only
    kinds = [branch.type for branch in schema.one_of or () if isinstance(branch, Schema)]
    if OpenAPIType.INTEGER in kinds and OpenAPIType.NUMBER in kinds:
        # Every integer is also a number: such branches are not exclusive, so the union is anyOf.
        schema.any_of, schema.one_of = schema.one_of, None
    if schema.one_of is not None and len(schema.one_of) == 1 and isinstance(schema.one_of[0], Schema):
        branch = schema.one_of[0]
        schema.one_of = None
        for field in dataclasses.fields(branch):
            if getattr(schema, field.name) is None:
                setattr(schema, field.name, getattr(branch, field.name))


def _document_query_enums(openapi: OpenAPI) -> None:
    for _path, _method, operation in _operations(openapi):
        for parameter in operation.parameters or []:
            if (
                isinstance(parameter, Parameter)
                and parameter.param_in == "query"
                and not parameter.required
                and isinstance(parameter.schema, Schema)
                and parameter.schema.enum is not None
            ):
                _without_null(parameter.schema)


# --- the webhooks section ---------------------------------------------------------------------

_SIGNATURE_HEADERS = {
    "webhook-id": "Stable across retries and manual resends: de-duplicate on it.",
    "webhook-timestamp": "Unix seconds of this attempt.",
    "webhook-signature": (
        "`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the endpoint's secret; during a rotation two"
        " signatures, space-separated."
    ),
}


def _camel(name: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[_\-]", name))


def payload_components(app: Litestar, payloads: Mapping[str, type[msgspec.Struct]]) -> dict[str, Reference]:
    """Put each event payload's schema in ``components/schemas``; returns each type's reference.

    The schemas come from the same generator and plugins as the rest of the document, so a struct
    that is also a response (``ProspectRead``) is one component, not two.
    """
    openapi = app.openapi_schema
    registry = SchemaRegistry()
    creator = SchemaCreator(plugins=app.plugins.openapi, schema_registry=registry)
    refs: dict[str, Reference] = {}
    for event_type, struct in payloads.items():
        schema = creator.for_field_definition(FieldDefinition.from_annotation(struct))
        if not isinstance(schema, Reference):
            raise TypeError(f"the payload of {event_type} must be a named struct, not {struct!r}")
        refs[event_type] = schema
    components = openapi.components if openapi.components is not None else Components()
    schemas = dict(components.schemas or {})
    for name, schema in registry.generate_components_schemas().items():
        existing = schemas.get(name)
        if existing is not None and existing.to_schema() != schema.to_schema():
            raise RuntimeError(f"two different schemas are named {name}; rename one of the structs")
        schemas[name] = schema
    components.schemas = dict(sorted(schemas.items()))
    openapi.components = components
    return refs


def _document_webhooks(
    openapi: OpenAPI, refs: Mapping[str, Reference], descriptions: Mapping[str, str]
) -> None:
    webhooks: dict[str, PathItem | Reference] = {}
    for event_type, ref in sorted(refs.items()):
        envelope = Schema(
            type=OpenAPIType.OBJECT,
            required=["type", "timestamp", "data"],
            properties={
                "type": Schema(type=OpenAPIType.STRING, const=event_type),
                "timestamp": Schema(
                    type=OpenAPIType.STRING,
                    format=OpenAPIFormat.DATE_TIME,
                    description="When the event was recorded; order deliveries by it, not by arrival.",
                ),
                "data": ref,
            },
        )
        webhooks[event_type] = PathItem(
            post=Operation(
                operation_id=f"on{_camel(event_type)}",
                summary=descriptions.get(event_type, event_type),
                description=(
                    "POSTed to every active endpoint subscribed to this type (or to `*`), at least once; any 2xx"
                    " acknowledges it, `410 Gone` disables the endpoint, `Retry-After` is honoured."
                ),
                tags=["webhooks"],
                parameters=[
                    Parameter(
                        name=name,
                        param_in="header",
                        required=True,
                        description=text,
                        schema=Schema(type=OpenAPIType.STRING),
                    )
                    for name, text in _SIGNATURE_HEADERS.items()
                ],
                request_body=RequestBody(
                    required=True, content={"application/json": OpenAPIMediaType(schema=envelope)}
                ),
                responses={"200": OpenAPIResponse(description="Any 2xx status acknowledges the delivery.")},
                security=[],
            )
        )
    openapi.webhooks = webhooks


def document_conventions(
    app: Litestar,
    *,
    event_payloads: Mapping[str, type[msgspec.Struct]],
    event_descriptions: Mapping[str, str],
) -> None:
    """Apply the conventions of the module docstring to ``app``'s document (once, at build)."""
    openapi = app.openapi_schema
    refs = payload_components(app, event_payloads)
    _document_webhooks(openapi, refs, event_descriptions)
    components = openapi.components if openapi.components is not None else Components()
    components.headers = {**HEADERS, **(components.headers or {})}
    openapi.components = components
    _document_tags(openapi)
    _document_edge(openapi)
    _document_query_enums(openapi)
    for schema in components.schemas.values() if components.schemas else ():
        _collapse_single_branches(schema)
    document_examples(openapi, _operations(openapi))
