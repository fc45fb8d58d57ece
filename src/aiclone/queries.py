"""SQL expressions shared by the domain repositories, portable across PostgreSQL and SQLite."""

from __future__ import annotations

import functools
import uuid
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import QueryableAttribute

from aiclone.keyset import Keyset, page_params, paginate

_Read = TypeVar("_Read", bound=msgspec.Struct)
_Row = TypeVar("_Row")


def contains_text(pattern_text: str) -> str:
    """A LIKE pattern matching ``pattern_text`` anywhere, its wildcards escaped with ``\\``."""
    escaped = pattern_text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def where_equal(
    query: Select[_Row], *filters: tuple[ColumnElement[Any] | QueryableAttribute[Any], object | None]
) -> Select[_Row]:
    """``query`` narrowed to the rows whose column equals each given value; None filters nothing."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def json_list_has(column: ColumnElement[Any], value: Any, dialect: str) -> ColumnElement[bool]:
    """True where the JSON array in ``column`` holds the string ``value`` (or bound parameter).

    PostgreSQL: the JSONB ``?`` operator (array element exists), which a GIN index could serve.
    SQLite: an EXISTS over ``json_each`` of the row's array.
    """
    if dialect == "postgresql":
        has: ColumnElement[bool] = type_coerce(column, JSONB).has_key(value)
        return has
    each = func.json_each(column).table_valued("value").alias("json_item")
    return select(literal(1)).select_from(each).where(each.c.value == value).exists()


def dialect_name(executor: AsyncSession | AsyncConnection) -> str:
    if isinstance(executor, AsyncConnection):
        return executor.dialect.name
    return executor.get_bind().dialect.name


@functools.cache
def read_columns(table: Table, read: type[msgspec.Struct]) -> tuple[Column[Any], ...]:
    """The columns of ``table`` named by the fields of ``read``, in the fields' order."""
    return tuple(table.c[name] for name in read.__struct_fields__)


class OwnedRows(Generic[_Read]):
    """A repository of users' rows of one table (``id``, ``user_id``), read in SQLAlchemy Core
    straight into ``_Read`` structs built positionally from :func:`read_columns`.

    It takes a session inside write transactions, a bare connection for single-statement reads.
    Each domain's repository subclasses it and adds its own queries.
    """

    def __init__(self, session: AsyncSession | AsyncConnection, table: Table, read: type[_Read]) -> None:
        self.session = session
        self.table = table
        self.read = read
        self.columns = read_columns(table, read)

    def structs(self, result: Result[Any]) -> list[_Read]:
        return [self.read(*row) for row in result.all()]

    def _one(self, user_id: uuid.UUID, row_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
        return (self.table.c.id == row_id, self.table.c.user_id == user_id)

    async def insert(self, values: dict[str, Any]) -> _Read:
        statement = insert(self.table).values(**values).returning(*self.columns)
        (row,) = self.structs(await self.session.execute(statement))
        return row

    async def get(self, user_id: uuid.UUID, row_id: uuid.UUID, *, for_update: bool = False) -> _Read | None:
        query = select(*self.columns).where(*self._one(user_id, row_id))
        if for_update:
            query = query.with_for_update()
        rows = self.structs(await self.session.execute(query))
        return rows[0] if rows else None

    async def update(self, user_id: uuid.UUID, row_id: uuid.UUID, values: dict[str, Any]) -> _Read:
        statement = (
            update(self.table).where(*self._one(user_id, row_id)).values(**values).returning(*self.columns)
        )
        (row,) = self.structs(await self.session.execute(statement))
        return row

    async def creation_page(
        self, query: Select[Any], *, descending: bool, after: Keyset | None, limit: int
    ) -> list[_Read]:
        """One page of ``query`` ordered by ``(created_at, id)`` (see :mod:`aiclone.keyset`)."""
        query = paginate(
            query,
            key=self.table.c.created_at,
            id_column=self.table.c.id,
            descending=descending,
            after=after is not None,
        )
        return self.structs(await self.session.execute(query, page_params(after, limit)))

    async def delete(self, user_id: uuid.UUID, row_id: uuid.UUID) -> bool:
        result = await self.session.execute(delete(self.table).where(*self._one(user_id, row_id)))
        return bool(result.rowcount)  # type: ignore[attr-defined]
