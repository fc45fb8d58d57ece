from __future__ import annotations

from typing import Any

import msgspec


class EventTypeInfo(msgspec.Struct):
    type: str
    description: str
    # JSON Schema (2020-12) of the event's ``data``, self-contained: the components it uses are
    # under ``$defs``.
    data_schema: dict[str, Any]


class EventTypeCatalog(msgspec.Struct):
    items: list[EventTypeInfo]
