from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.notifications.models import Notification
from aiclone.pagination import newest_first


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notification: Notification) -> Notification:
        self.session.add(notification)
        await self.session.flush()
        return notification

    async def unread_count(self, user_id: uuid.UUID) -> int:
        query = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        return int(await self.session.scalar(query) or 0)

    async def unread_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        """:meth:`unread_count` of many users in one query (users with none are absent)."""
        query = (
            select(Notification.user_id, func.count())
            .where(Notification.user_id.in_(user_ids), Notification.read_at.is_(None))
            .group_by(Notification.user_id)
        )
        return {row[0]: int(row[1]) for row in await self.session.execute(query)}

    async def page(
        self,
        user_id: uuid.UUID,
        *,
        limit: int,
        unread_only: bool,
        after: tuple[dt.datetime, uuid.UUID] | None,
    ) -> list[Notification]:
        query = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        query = newest_first(query, Notification.created_at, Notification.id, after=after, limit=limit)
        return list((await self.session.scalars(query)).all())

    async def mark_read(
        self, user_id: uuid.UUID, ids: list[uuid.UUID] | None, now: dt.datetime
    ) -> list[uuid.UUID]:
        """Mark unread notifications read (all when ``ids`` is None); returns the ids changed."""
        conditions = [Notification.user_id == user_id, Notification.read_at.is_(None)]
        if ids is not None:
            conditions.append(Notification.id.in_(ids))
        changed = list((await self.session.scalars(select(Notification.id).where(*conditions))).all())
        if changed:
            await self.session.execute(
                update(Notification)
                .where(Notification.id.in_(changed))
                .values(read_at=now)
                .execution_options(synchronize_session=False)
            )
        return changed
