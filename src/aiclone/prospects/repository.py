"""Prospect queries, written in SQLAlchemy Core against the mapped table.

Rows go straight into :class:`ProspectRead` structs (selected in the struct's field order and
built positionally): on a 50-row list this skips the ORM's identity map and per-entity
bookkeeping, which cost more than the query itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Select, String, Table, Uuid, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.driver import DriverStatement
from aiclone.keyset import Keyset, page_params, paginate
from aiclone.prospects.models import Prospect
from aiclone.prospects.schemas import ProspectFilters, ProspectRead
from aiclone.queries import contains_text, dialect_name, json_list_has

PROSPECTS = cast(Table, Prospect.__table__)
READ_COLUMNS = tuple(PROSPECTS.c[name] for name in ProspectRead.__struct_fields__)


# Built positionally from rows whose columns follow the struct's fields.
_from_row: Callable[..., ProspectRead] = ProspectRead


def _structs(result: Result[Any]) -> list[ProspectRead]:
    return [_from_row(*row) for row in result.all()]


@functools.lru_cache(maxsize=32)
def _insert_one(columns: tuple[str, ...]) -> DriverStatement:
    """One prospect's insert with exactly these columns, its values as parameters.

    The columns' constant defaults (the counters' zeros) are written into the statement: the
    driver runs no Python-side defaults (aiclone.driver).
    """
    values: dict[str, Any] = {
        column.key: column.default.arg  # type: ignore[attr-defined]
        for column in PROSPECTS.c
        if column.key not in columns and column.default is not None and column.default.is_scalar
    }
    values.update({name: bindparam(name, type_=PROSPECTS.c[name].type) for name in columns})
    return DriverStatement(insert(PROSPECTS).values(values).returning(*READ_COLUMNS))


@functools.cache
def _insert(*, many: bool) -> Any:
    """Built on first use, when every model is loaded (the owner's key takes its type from users)."""
    return insert(PROSPECTS).returning(*READ_COLUMNS, sort_by_parameter_order=many)


class ProspectRepository:
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        # A session inside write transactions; a bare connection for single-statement reads.
        self.session = session
        self.dialect = dialect_name(session)

    async def insert(self, rows: Sequence[dict[str, Any]]) -> list[ProspectRead]:
        if len(rows) == 1:
            # Built once per set of columns (a create always gives the same set).
            (row,) = rows
            return [
                _from_row(*found) for found in await _insert_one(tuple(sorted(row))).rows(self.session, row)
            ]
        return _structs(await self.session.execute(_insert(many=True), list(rows)))

    async def get(
        self, user_id: uuid.UUID, prospect_id: uuid.UUID, *, for_update: bool = False
    ) -> ProspectRead | None:
        query = select(*READ_COLUMNS).where(PROSPECTS.c.id == prospect_id, PROSPECTS.c.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        rows = _structs(await self.session.execute(query))
        return rows[0] if rows else None

    async def get_many_for_update(self, user_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> list[ProspectRead]:
        # Locked in id order, so two bulk changes over overlapping sets cannot deadlock.
        query = (
            select(*READ_COLUMNS)
            .where(PROSPECTS.c.user_id == user_id, PROSPECTS.c.id.in_(list(ids)))
            .order_by(PROSPECTS.c.id)
            .with_for_update()
        )
        return _structs(await self.session.execute(query))

    async def taken_emails(
        self, user_id: uuid.UUID, keys: Iterable[str], *, except_id: uuid.UUID | None = None
    ) -> set[str]:
        query = select(PROSPECTS.c.email_normalized).where(
            PROSPECTS.c.user_id == user_id, PROSPECTS.c.email_normalized.in_(list(keys))
        )
        if except_id is not None:
            query = query.where(PROSPECTS.c.id != except_id)
        return {str(key) for key in (await self.session.scalars(query))}

    async def update(
        self, user_id: uuid.UUID, prospect_ids: Sequence[uuid.UUID], values: dict[str, Any]
    ) -> list[ProspectRead]:
        statement = (
            update(PROSPECTS)
            .where(PROSPECTS.c.user_id == user_id, PROSPECTS.c.id.in_(list(prospect_ids)))
            .values(**values)
            .returning(*READ_COLUMNS)
        )
        rows = _structs(await self.session.execute(statement))
        order = {prospect_id: i for i, prospect_id in enumerate(prospect_ids)}
        return sorted(rows, key=lambda row: order[row.id])

    async def bump_counters(
        self,
        user_id: uuid.UUID,
        prospect_id: uuid.UUID,
        *,
        now: dt.datetime,
        drafts: int = 0,
        emails: int = 0,
        meetings: int = 0,
        contacted: bool = False,
    ) -> ProspectRead | None:
        """Increment counters atomically (no read-modify-write race between two requests)."""
        values: dict[str, Any] = {"updated_at": now}
        if drafts:
            values["drafts_generated"] = PROSPECTS.c.drafts_generated + drafts
        if emails:
            values["emails_sent"] = PROSPECTS.c.emails_sent + emails
        if meetings:
            values["meetings_booked"] = PROSPECTS.c.meetings_booked + meetings
        if contacted:
            values["last_contacted"] = now
        rows = await self.update(user_id, [prospect_id], values)
        return rows[0] if rows else None

    async def delete(self, user_id: uuid.UUID, prospect_id: uuid.UUID) -> ProspectRead | None:
        statement = (
            delete(PROSPECTS)
            .where(PROSPECTS.c.id == prospect_id, PROSPECTS.c.user_id == user_id)
            .returning(*READ_COLUMNS)
        )
        rows = _structs(await self.session.execute(statement))
        return rows[0] if rows else None

    async def find_page(
        self,
        user_id: uuid.UUID,
        filters: ProspectFilters,
        *,
        sort: str,
        descending: bool,
        after: Keyset | None,
        limit: int,
    ) -> list[ProspectRead]:
        given = {name: getattr(filters, name) for name in _FILTER_NAMES if getattr(filters, name) is not None}
        statement = _page_statement(self.dialect, sort, descending, after is not None, frozenset(given))
        params = {"user_id": user_id, **page_params(after, limit), **given}
        if "q" in given:
            params["q"] = contains_text(given["q"])
        return _structs(await self.session.execute(statement, params))


_FILTER_NAMES = ("status", "min_score", "created_after", "created_before", "q", "tag")


@functools.cache
def _page_statement(
    dialect: str, sort: str, descending: bool, after: bool, filters: frozenset[str]
) -> Select[Any]:
    """One statement per query shape, with every value bound: built and compiled once.

    Building a select and computing its cache key costs about as much as running it; a list
    endpoint sees a handful of shapes, so each is built on first use and reused.
    """
    c = PROSPECTS.c
    query = select(*READ_COLUMNS).where(c.user_id == bindparam("user_id", type_=Uuid()))
    if "status" in filters:
        query = query.where(c.approval_status == bindparam("status"))
    if "min_score" in filters:
        query = query.where(c.fit_score >= bindparam("min_score"))
    if "created_after" in filters:
        query = query.where(c.created_at >= bindparam("created_after", type_=c.created_at.type))
    if "created_before" in filters:
        query = query.where(c.created_at < bindparam("created_before", type_=c.created_at.type))
    if "q" in filters:
        pattern = bindparam("q", type_=String())
        query = query.where(
            or_(
                c.name.ilike(pattern, escape="\\"),
                c.company.ilike(pattern, escape="\\"),
                c.email.ilike(pattern, escape="\\"),
            )
        )
    if "tag" in filters:
        query = query.where(json_list_has(c.tags, bindparam("tag", type_=String()), dialect))
    return paginate(query, key=c[sort], id_column=c.id, descending=descending, after=after)
