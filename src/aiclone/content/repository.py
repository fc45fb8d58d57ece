"""Content queries in SQLAlchemy Core, rows straight into :class:`ContentRead` structs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.content.models import ContentItem
from aiclone.content.schemas import ContentRead
from aiclone.keyset import Keyset, page_params, paginate
from aiclone.queries import dialect_name, json_list_has

CONTENT = cast(Table, ContentItem.__table__)
READ_COLUMNS = tuple(CONTENT.c[name] for name in ContentRead.__struct_fields__)


# Built positionally from rows whose columns follow the struct's fields.
_from_row: Callable[..., ContentRead] = ContentRead


def _structs(result: Result[Any]) -> list[ContentRead]:
    return [_from_row(*row) for row in result.all()]


class ContentRepository:
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        # A session inside write transactions; a bare connection for single-statement reads.
        self.session = session
        self.dialect = dialect_name(session)

    async def insert(self, values: dict[str, Any]) -> ContentRead:
        (row,) = _structs(
            await self.session.execute(insert(CONTENT).values(**values).returning(*READ_COLUMNS))
        )
        return row

    async def get(
        self, user_id: uuid.UUID, item_id: uuid.UUID, *, for_update: bool = False
    ) -> ContentRead | None:
        query = select(*READ_COLUMNS).where(CONTENT.c.id == item_id, CONTENT.c.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        rows = _structs(await self.session.execute(query))
        return rows[0] if rows else None

    async def update(self, user_id: uuid.UUID, item_id: uuid.UUID, values: dict[str, Any]) -> ContentRead:
        statement = (
            update(CONTENT)
            .where(CONTENT.c.id == item_id, CONTENT.c.user_id == user_id)
            .values(**values)
            .returning(*READ_COLUMNS)
        )
        (row,) = _structs(await self.session.execute(statement))
        return row

    async def delete(self, user_id: uuid.UUID, item_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(CONTENT).where(CONTENT.c.id == item_id, CONTENT.c.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def find_page(
        self,
        user_id: uuid.UUID,
        *,
        status: str | None,
        channel: str | None,
        tag: str | None,
        descending: bool,
        after: Keyset | None,
        limit: int,
    ) -> list[ContentRead]:
        query = select(*READ_COLUMNS).where(CONTENT.c.user_id == user_id)
        if status is not None:
            query = query.where(CONTENT.c.status == status)
        if channel is not None:
            query = query.where(CONTENT.c.channel == channel)
        if tag is not None:
            query = query.where(json_list_has(CONTENT.c.tags, tag, self.dialect))
        query = paginate(
            query,
            key=CONTENT.c.created_at,
            id_column=CONTENT.c.id,
            descending=descending,
            after=after is not None,
        )
        return _structs(await self.session.execute(query, page_params(after, limit)))
