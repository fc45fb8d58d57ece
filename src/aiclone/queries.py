"""SQL expressions shared by the domain repositories, portable across PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def contains_text(pattern_text: str) -> str:
    """A LIKE pattern matching ``pattern_text`` anywhere, its wildcards escaped with ``\\``."""
    escaped = pattern_text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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
