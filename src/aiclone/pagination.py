"""Keyset pagination shared by every list endpoint: ``limit``, ``cursor`` → ``next_cursor``.

Lists sort by ``(created_at, id)``, a total order that stays stable while rows are added, and
continue strictly after the last row of the previous page. The cursor is that row's key,
encoded as opaque URL-safe text; clients pass it back unchanged. It is not a secret: editing
it only moves the page boundary, and every query still applies the caller's own filters.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar.params import Parameter
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from aiclone.errors import FieldError, InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 200

# Use as `limit: Limit = DEFAULT_LIMIT` (Litestar takes defaults from the parameter, not the marker).
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.")]
CursorParam = Annotated[
    str | None,
    Parameter(
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page; omit for the first page.",
    ),
]


class KeysetCursor(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    created_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    id: uuid.UUID


def encode_cursor(created_at: dt.datetime, row_id: uuid.UUID) -> str:
    raw = msgspec.json.encode(KeysetCursor(created_at=created_at, id=row_id))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None) -> KeysetCursor | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=KeysetCursor)
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise InvalidInput(
            "The cursor is not valid.",
            errors=[FieldError(field="cursor", message="pass back a next_cursor value unchanged")],
        ) from None


def after(
    cursor: KeysetCursor | None,
    created_at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
) -> ColumnElement[bool] | None:
    """The WHERE clause that continues strictly after ``cursor`` in ``(created_at, id)`` order."""
    if cursor is None:
        return None
    return or_(created_at > cursor.created_at, and_(created_at == cursor.created_at, row_id > cursor.id))


def split_page(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """Rows were fetched with ``limit + 1``: the extra row only says that another page exists."""
    return rows[:limit], len(rows) > limit
