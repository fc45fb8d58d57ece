"""Outreach queries in SQLAlchemy Core, rows straight into :class:`OutreachRead` structs."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.keyset import Keyset
from aiclone.outreach.models import OutreachMessage
from aiclone.outreach.schemas import OutreachRead
from aiclone.queries import OwnedRows, where_equal

MESSAGES = cast(Table, OutreachMessage.__table__)


class OutreachRepository(OwnedRows[OutreachRead]):
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        super().__init__(session, MESSAGES, OutreachRead)

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
        query = where_equal(
            select(*self.columns).where(MESSAGES.c.user_id == user_id),
            (MESSAGES.c.prospect_id, prospect_id),
            (MESSAGES.c.status, status),
        )
        return await self.creation_page(query, descending=descending, after=after, limit=limit)
