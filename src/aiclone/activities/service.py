from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, or_, select

from aiclone.activities.feed import to_read
from aiclone.activities.models import Activity
from aiclone.activities.schemas import ActivityPage
from aiclone.db import Database
from aiclone.pagination import decode_cursor, encode_cursor


class ActivityService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self,
        user_id: uuid.UUID,
        *,
        limit: int,
        cursor: str | None,
        types: list[str],
        created_after: dt.datetime | None,
        created_before: dt.datetime | None,
    ) -> ActivityPage:
        after = decode_cursor(cursor, (dt.datetime, uuid.UUID))
        query = select(Activity).where(Activity.user_id == user_id)
        if types:
            query = query.where(Activity.type.in_(types))
        if created_after is not None:
            query = query.where(Activity.created_at >= created_after)
        if created_before is not None:
            query = query.where(Activity.created_at < created_before)
        if after is not None:
            query = query.where(
                or_(
                    Activity.created_at < after[0],
                    and_(Activity.created_at == after[0], Activity.id < after[1]),
                )
            )
        query = query.order_by(Activity.created_at.desc(), Activity.id.desc()).limit(limit + 1)
        async with self.db.read_session() as session:
            rows = list((await session.scalars(query)).all())
        items = [to_read(r) for r in rows[:limit]]
        next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
        return ActivityPage(items=items, next_cursor=next_cursor)
