"""Notifications: short messages for one user, persisted, with a read state.

Other packages call :meth:`NotificationService.notify` inside their own transaction (webhook
auto-disable, automations, the admin broadcast), so the notification and its ``notification``
event commit with the change that caused them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.db import Database, utcnow
from aiclone.errors import NotFound
from aiclone.events.broadcast import record_for_each
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.notifications.models import Notification
from aiclone.notifications.repository import NotificationRepository
from aiclone.notifications.schemas import (
    Level,
    MarkedRead,
    NotificationEvent,
    NotificationPage,
    NotificationRead,
)
from aiclone.pagination import decode_cursor, encode_cursor


def to_read(n: Notification) -> NotificationRead:
    return NotificationRead(
        id=n.id,
        title=n.title,
        body=n.body,
        level=n.level,  # type: ignore[arg-type]
        link=n.link,
        data=n.data,
        read=n.read_at is not None,
        created_at=n.created_at,
    )


@dataclass(eq=False)
class NotificationService:
    db: Database
    events: EventLog

    async def notify(
        self,
        session: AsyncSession,
        *,
        user_id: uuid.UUID,
        title: str,
        body: str = "",
        level: Level = "info",
        link: str | None = None,
        data: dict[str, Any] | None = None,
        by_automation: bool = False,
    ) -> NotificationRead:
        repo = NotificationRepository(session)
        created = await repo.add(
            Notification(
                user_id=user_id, title=title[:200], body=body[:2000], level=level, link=link, data=data
            )
        )
        read = to_read(created)
        await self.events.record(
            session,
            user_id=user_id,
            type=EventType.NOTIFICATION,
            data=NotificationEvent(
                action="created", unread=await repo.unread_count(user_id), notification=read
            ),
            by_automation=by_automation,
        )
        return read

    async def notify_each(
        self,
        session: AsyncSession,
        user_ids: Sequence[uuid.UUID],
        *,
        title: str,
        body: str = "",
        level: Level = "info",
        link: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> int:
        """:meth:`notify` for many distinct users at once, in a constant number of statements.

        The same rows and events as one :meth:`notify` per user (each event carries the user's own
        unread count), written set-based through :func:`aiclone.events.broadcast.record_for_each`.
        """
        if not user_ids:
            return 0
        now = utcnow()
        title, body = title[:200], body[:2000]
        created = {user_id: uuid.uuid4() for user_id in user_ids}
        repository = NotificationRepository(session)
        unread = await repository.add_for_each(
            created, title=title, body=body, level=level, link=link, data=data, now=now
        )
        # What msgspec.to_builtins(NotificationEvent(...)) gives, built from one template: two
        # dicts per user instead of two structs and three dicts (the shared ``data`` is read-only).
        template = msgspec.to_builtins(
            NotificationEvent(
                action="created",
                unread=0,
                notification=NotificationRead(
                    id=uuid.UUID(int=0),
                    title=title,
                    body=body,
                    level=level,
                    link=link,
                    data=data,
                    read=False,
                    created_at=now,
                ),
            )
        )
        shown = template["notification"]
        payloads = [
            (
                user_id,
                {
                    **template,
                    "unread": unread[user_id],
                    "notification": {**shown, "id": str(notification_id)},
                },
            )
            for user_id, notification_id in created.items()
        ]
        await record_for_each(session, self.events, type=EventType.NOTIFICATION, payloads=payloads)
        return len(created)

    async def page(
        self, user_id: uuid.UUID, *, limit: int, cursor: str | None, unread_only: bool
    ) -> NotificationPage:
        after = decode_cursor(cursor, (dt.datetime, uuid.UUID))
        async with self.db.read_session() as session:
            rows = await NotificationRepository(session).page(
                user_id,
                limit=limit + 1,
                unread_only=unread_only,
                after=(after[0], after[1]) if after else None,
            )
        items = [to_read(n) for n in rows[:limit]]
        next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        return NotificationPage(items=items, next_cursor=next_cursor)

    async def unread_count(self, user_id: uuid.UUID) -> int:
        async with self.db.read_session() as session:
            return await NotificationRepository(session).unread_count(user_id)

    async def mark_read(self, user_id: uuid.UUID, ids: list[uuid.UUID] | None) -> MarkedRead:
        async with self.db.session() as session:
            repo = NotificationRepository(session)
            changed = await repo.mark_read(user_id, ids, utcnow())
            unread = await repo.unread_count(user_id)
            if changed:
                await self.events.record(
                    session,
                    user_id=user_id,
                    type=EventType.NOTIFICATION,
                    data=NotificationEvent(action="read", unread=unread, ids=changed),
                )
        return MarkedRead(marked=len(changed), unread=unread)

    async def mark_one_read(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> NotificationRead:
        async with self.db.session() as session:
            repo = NotificationRepository(session)
            found = await session.get(Notification, notification_id)
            if found is None or found.user_id != user_id:
                raise NotFound("No such notification.")
            if found.read_at is None:
                await repo.mark_read(user_id, [notification_id], utcnow())
                await self.events.record(
                    session,
                    user_id=user_id,
                    type=EventType.NOTIFICATION,
                    data=NotificationEvent(
                        action="read", unread=await repo.unread_count(user_id), ids=[notification_id]
                    ),
                )
                await session.refresh(found)
            return to_read(found)
