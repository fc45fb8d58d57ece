"""Keyset pagination shared by every list endpoint: ``limit``, ``cursor`` → ``next_cursor``.

A list sorts by its sort key plus ``id`` as the tie-breaker, a total order that stays stable
while rows are added, and continues strictly after the last row of the previous page. The
cursor is that row's key, encoded as opaque URL-safe text; clients pass it back unchanged. It is
not a secret: editing it only moves the page boundary (every query still applies the caller's
own filters), and a malformed one is a 422, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar.params import QueryParameter
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from aiclone.errors import FieldError, InvalidInput
from aiclone.fields import storable_instant

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 512

# A select of any rows: paging keeps what it selects.
Q = TypeVar("Q", bound=Select[Any])

# Query parameters are validated by Litestar's parameter constraints, not by msgspec.Meta.
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.")]
# Newest first by default; ``asc`` for oldest first.
SortOrder = Literal["asc", "desc"]
# The plain cursor of the lists that sort by creation time (no description of its own).
Cursor = Annotated[str | None, QueryParameter(max_length=MAX_CURSOR_LENGTH)]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page; omit for the first page.",
    ),
]


def encode_cursor(*values: Any) -> str:
    raw = msgspec.json.encode(list(values))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, types: tuple[type, ...]) -> tuple[Any, ...] | None:
    """Decode a cursor whose values must convert to ``types`` (e.g. ``(datetime, UUID)``)."""
    if cursor is None or cursor == "":
        return None
    invalid = InvalidInput(
        "The cursor is not valid.",
        errors=[FieldError(field="cursor", message="pass back a next_cursor value unchanged")],
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(types):
        raise invalid
    try:
        decoded: tuple[Any, ...] = tuple(
            msgspec.convert(v, t, strict=False) for v, t in zip(values, types, strict=True)
        )
    except msgspec.ValidationError:
        raise invalid from None
    # A crafted cursor may carry a time the databases cannot compare against (year 0 in UTC).
    if any(isinstance(v, dt.datetime) and not storable_instant(v) for v in decoded):
        raise invalid
    return decoded


class KeysetCursor(msgspec.Struct, frozen=True):
    """The common case: lists ordered by ``(created_at, id)``."""

    created_at: dt.datetime
    id: uuid.UUID


def decode_keyset(cursor: str | None) -> KeysetCursor | None:
    values = decode_cursor(cursor, (dt.datetime, uuid.UUID))
    if values is None:
        return None
    created_at, row_id = values
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=dt.UTC)
    return KeysetCursor(created_at=created_at, id=row_id)


def after(
    cursor: KeysetCursor | None,
    created_at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    descending: bool = False,
) -> ColumnElement[bool] | None:
    """The WHERE clause that continues strictly after ``cursor`` in ``(created_at, id)`` order."""
    if cursor is None:
        return None
    if descending:
        return or_(created_at < cursor.created_at, and_(created_at == cursor.created_at, row_id < cursor.id))
    return or_(created_at > cursor.created_at, and_(created_at == cursor.created_at, row_id > cursor.id))


def newest_first(
    query: Q,
    created_at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    after: tuple[dt.datetime, uuid.UUID] | None,
    limit: int,
) -> Q:
    """``query`` newest first by ``(created_at, id)``, strictly after ``after``, ``limit`` rows."""
    if after is not None:
        created, last_id = after
        query = query.where(or_(created_at < created, and_(created_at == created, row_id < last_id)))
    return query.order_by(created_at.desc(), row_id.desc()).limit(limit)


def split_page(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """Rows were fetched with ``limit + 1``: the extra row only says that another page exists."""
    return rows[:limit], len(rows) > limit
