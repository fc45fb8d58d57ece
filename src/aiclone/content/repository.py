"""Content queries in SQLAlchemy Core, rows straight into :class:`ContentRead` structs."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aiclone.content.models import ContentItem
from aiclone.content.schemas import ContentRead
from aiclone.keyset import Keyset
from aiclone.queries import OwnedRows, dialect_name, json_list_has, where_equal

CONTENT = cast(Table, ContentItem.__table__)


class ContentRepository(OwnedRows[ContentRead]):
    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        super().__init__(session, CONTENT, ContentRead)
        self.dialect = dialect_name(session)

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
        query = where_equal(
            select(*self.columns).where(CONTENT.c.user_id == user_id),
            (CONTENT.c.status, status),
            (CONTENT.c.channel, channel),
        )
        if tag is not None:
            query = query.where(json_list_has(CONTENT.c.tags, tag, self.dialect))
        return await self.creation_page(query, descending=descending, after=after, limit=limit)
