"""The query side of keyset pagination (the cursor format lives in :mod:`aiclone.pagination`).

A page is ordered by ``(sort key, id)``, both ascending or both descending, so the next page is
one row-value comparison — ``(key, id) < (:key, :id)`` — that an index on
``(user_id, key, id)`` answers directly on PostgreSQL and SQLite alike. The cursor names the
sort it was made for; a cursor replayed under another sort is refused, not misread.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, tuple_

from aiclone.errors import FieldError, InvalidInput
from aiclone.pagination import decode_cursor, encode_cursor

T = TypeVar("T")

R = TypeVar("R", bound=tuple[Any, ...])


class Keyset:
    """A decoded position: the last row's sort value and id, under one named sort."""

    __slots__ = ("id", "value")

    def __init__(self, value: Any, id: uuid.UUID) -> None:
        self.value = value
        self.id = id


def read_cursor(cursor: str | None, sort: str, value_type: type) -> Keyset | None:
    decoded = decode_cursor(cursor, (str, value_type, uuid.UUID))
    if decoded is None:
        return None
    made_for, value, row_id = decoded
    if made_for != sort:
        raise InvalidInput(
            "The cursor belongs to another sort order.",
            errors=[FieldError(field="cursor", message="cursor does not match the requested sort")],
        )
    return Keyset(value, row_id)


def paginate(
    query: Select[R],
    *,
    key: ColumnElement[Any],
    id_column: ColumnElement[Any],
    descending: bool,
    after: bool,
) -> Select[R]:
    """Order by ``(key, id)``, start after a bound position when ``after``, limit to a bound size.

    Positions and sizes are bound parameters (see :func:`page_params`), so a statement built
    once per query shape can be cached and reused for every page.
    """
    if after:
        left = tuple_(key, id_column)
        right = tuple_(bindparam("after_key", type_=key.type), bindparam("after_id", type_=id_column.type))
        query = query.where(left < right if descending else left > right)
    order = (key.desc(), id_column.desc()) if descending else (key.asc(), id_column.asc())
    return query.order_by(*order).limit(bindparam("page_limit"))


def page_params(after: Keyset | None, limit: int) -> dict[str, Any]:
    # One row more than the page: its presence says whether there is a next page.
    params: dict[str, Any] = {"page_limit": limit + 1}
    if after is not None:
        params["after_key"] = after.value
        params["after_id"] = after.id
    return params


def page_of(
    items: Sequence[T], *, limit: int, sort: str, key_of: Callable[[T], Any], id_of: Callable[[T], uuid.UUID]
) -> tuple[list[T], str | None]:
    """Cut the extra row off and make the cursor of the last row kept."""
    if len(items) <= limit:
        return list(items), None
    page = list(items[:limit])
    last = page[-1]
    return page, encode_cursor(sort, key_of(last), id_of(last))
