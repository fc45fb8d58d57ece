"""Outreach queries in SQLAlchemy Core, rows straight into :class:`OutreachRead` structs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.keyset import Keyset, page_params, paginate
from aiclone.outreach.models import OutreachMessage
from aiclone.outreach.schemas import OutreachRead

MESSAGES = cast(Table, OutreachMessage.__table__)
READ_COLUMNS = tuple(MESSAGES.c[name] for name in OutreachRead.__struct_fields__)


# Built positionally from rows whose columns follow the struct's fields.
_from_row: Callable[..., OutreachRead] = OutreachRead


def _structs(result: Result[Any]) -> list[OutreachRead]:
    return [_from_row(*row) for row in result.all()]


class OutreachRepository:
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        # A session inside write transactions; a bare connection for single-statement reads.
        self.session = session

    async def insert(self, values: dict[str, Any]) -> OutreachRead:
        statement = insert(MESSAGES).values(**values).returning(*READ_COLUMNS)
        (row,) = _structs(await self.session.execute(statement))
        return row

    async def get(
        self, user_id: uuid.UUID, message_id: uuid.UUID, *, for_update: bool = False
    ) -> OutreachRead | None:
        query = select(*READ_COLUMNS).where(MESSAGES.c.id == message_id, MESSAGES.c.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        rows = _structs(await self.session.execute(query))
        return rows[0] if rows else None

    async def update(self, user_id: uuid.UUID, message_id: uuid.UUID, values: dict[str, Any]) -> OutreachRead:
        statement = (
            update(MESSAGES)
            .where(MESSAGES.c.id == message_id, MESSAGES.c.user_id == user_id)
            .values(**values)
            .returning(*READ_COLUMNS)
        )
        (row,) = _structs(await self.session.execute(statement))
        return row

    async def delete(self, user_id: uuid.UUID, message_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(MESSAGES).where(MESSAGES.c.id == message_id, MESSAGES.c.user_id == user_id)
        )

    async def find_page(
        self,
        user_id: uuid.UUID,
        *,
        prospect_id: uuid.UUID | None,
        status: str | None,
        descending: bool,
        after: Keyset | None,
        limit: int,
    ) -> list[OutreachRead]:
        query = select(*READ_COLUMNS).where(MESSAGES.c.user_id == user_id)
        if prospect_id is not None:
            query = query.where(MESSAGES.c.prospect_id == prospect_id)
        if status is not None:
            query = query.where(MESSAGES.c.status == status)
        query = paginate(
            query,
            key=MESSAGES.c.created_at,
            id_column=MESSAGES.c.id,
            descending=descending,
            after=after is not None,
        )
        return _structs(await self.session.execute(query, page_params(after, limit)))
