from __future__ import annotations

import copy
from typing import Any

from litestar import Controller, Request, get

from aiclone.auth.scopes import any_credential
from aiclone.catalog.payloads import EVENT_PAYLOADS
from aiclone.catalog.schemas import EventTypeCatalog, EventTypeInfo
from aiclone.events.types import EVENT_DESCRIPTIONS
from aiclone.openapi import problems, prose

_COMPONENTS = "#/components/schemas/"
_CATALOG_STATE_KEY = "event_type_catalog"


def _rewrite(node: Any, used: set[str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_COMPONENTS):
                used.add(value.removeprefix(_COMPONENTS))
                out[key] = "#/$defs/" + value.removeprefix(_COMPONENTS)
            else:
                out[key] = _rewrite(value, used)
        return out
    if isinstance(node, list):
        return [_rewrite(item, used) for item in node]
    return node


def standalone_schema(document: dict[str, Any], ref: str) -> dict[str, Any]:
    """The component ``ref`` points at, with every component it reaches under ``$defs``."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    used: set[str] = set()
    root = _rewrite(copy.deepcopy(schemas[ref.removeprefix(_COMPONENTS)]), used)
    defs: dict[str, Any] = {}
    while pending := sorted(used - defs.keys()):
        for name in pending:
            defs[name] = _rewrite(copy.deepcopy(schemas[name]), used)
    if defs:
        root["$defs"] = dict(sorted(defs.items()))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **root}


def build_catalog(document: dict[str, Any]) -> EventTypeCatalog:
    """Each event type's schema as the API document's ``webhooks`` section states it."""
    items = []
    for event_type in sorted(EVENT_PAYLOADS):
        body = document["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
        ref = body["schema"]["properties"]["data"]["$ref"]
        items.append(
            EventTypeInfo(
                type=event_type,
                description=EVENT_DESCRIPTIONS[event_type],
                data_schema=standalone_schema(document, ref),
            )
        )
    return EventTypeCatalog(items=items)


class EventTypeController(Controller):
    path = "/api/event-types"
    tags = ["events"]

    @get(
        "/",
        summary="Every event type, with what it means and the JSON schema of its payload",
        description=prose("""
            The same schemas as this document's `webhooks` section; an event's `data` on the live stream (`GET
            /api/events`) and in a webhook delivery has this shape.
        """),
        responses=problems(401),
        opt=any_credential(),
    )
    async def list_event_types(self, request: Request[Any, Any, Any]) -> EventTypeCatalog:
        state = request.app.state
        catalog = state.get(_CATALOG_STATE_KEY)
        if catalog is None:
            catalog = build_catalog(request.app.openapi_schema.to_schema())
            state[_CATALOG_STATE_KEY] = catalog
        return catalog
