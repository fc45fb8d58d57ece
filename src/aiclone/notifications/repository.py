from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.notifications.models import Notification
from aiclone.pagination import newest_first

_columns = Notification.__table__.c
# PostgreSQL: every row of a broadcast in one statement, from two arrays and the shared columns
# (an executemany is one execution per row in the server), and each user's unread count in the
# order given, as plain integers. The count reads the statement's snapshot, which does not hold
# the rows the statement inserts: hence the + 1.
_PG_INSERT_EACH = text(
    "WITH inserted AS ("
    "INSERT INTO notifications (id, user_id, title, body, level, link, data, read_at, created_at)"
    " SELECT n, u, :title, :body, :level, :link, :data, NULL, :created_at"
    " FROM unnest(CAST(:ids AS uuid[]), CAST(:user_ids AS uuid[])) AS t(n, u))"
    " SELECT (SELECT count(*) FROM notifications WHERE user_id = t.u AND read_at IS NULL) + 1"
    " FROM unnest(CAST(:user_ids AS uuid[])) WITH ORDINALITY AS t(u, i) ORDER BY t.i"
).bindparams(
    bindparam("data", type_=_columns.data.type),
    bindparam("created_at", type_=_columns.created_at.type),
)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, notification: Notification) -> Notification:
        self.session.add(notification)
        await self.session.flush()
        return notification

    async def add_for_each(
        self,
        created: dict[uuid.UUID, uuid.UUID],
        *,
        title: str,
        body: str,
        level: str,
        link: str | None,
        data: dict[str, Any] | None,
        now: dt.datetime,
    ) -> dict[uuid.UUID, int]:
        """Insert one unread notification per ``user_id -> notification id``, all alike but the ids.

        Returns each user's unread count with the new one.
        """
        shared = {"title": title, "body": body, "level": level, "link": link, "data": data}
        users = list(created)
        if self.session.get_bind().dialect.name == "postgresql":
            rows = await self.session.execute(
                _PG_INSERT_EACH,
                {**shared, "created_at": now, "ids": list(created.values()), "user_ids": users},
            )
            return dict(zip(users, (int(n) for n in rows.scalars()), strict=True))
        await self.session.execute(
            insert(Notification.__table__),  # type: ignore[arg-type]
            [
                {**shared, "id": notification_id, "user_id": user_id, "read_at": None, "created_at": now}
                for user_id, notification_id in created.items()
            ],
        )
        counts = await self.unread_counts(users)
        return {user_id: counts.get(user_id, 1) for user_id in users}

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
