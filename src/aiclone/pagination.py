"""Keyset pagination shared by every list endpoint.

A cursor is an opaque, URL-safe token holding the sort key of the last item returned and its id
(the tie-breaker), so pages stay stable while rows are inserted. Clients pass ``limit`` and
``cursor`` and get ``next_cursor`` (null on the last page). A tampered cursor is a 422, never a 500.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import Parameter

from aiclone.errors import FieldError, InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Query parameters are validated by Litestar's Parameter constraints, not by msgspec.Meta.
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.")]
CursorParam = Annotated[
    str | None,
    Parameter(max_length=512, description="`next_cursor` of the previous page; omit for the first page."),
]
MAX_CURSOR_LENGTH = 512


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    raw = msgspec.json.encode(list(values))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, types: tuple[type, ...]) -> tuple[Any, ...] | None:
    """Decode a cursor whose values must convert to ``types`` (e.g. ``(datetime, UUID)``)."""
    if cursor is None or cursor == "":
        return None
    invalid = InvalidInput(
        "The cursor is not valid.",
        errors=[FieldError(field="cursor", message="malformed or tampered cursor")],
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
        return tuple(msgspec.convert(v, t, strict=False) for v, t in zip(values, types, strict=True))
    except msgspec.ValidationError:
        raise invalid from None
