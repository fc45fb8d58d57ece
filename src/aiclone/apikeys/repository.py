from __future__ import annotations

import datetime as dt
import uuid
from typing import cast

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.apikeys.models import ApiKey
from aiclone.auth.models import User


def _live(now: dt.datetime) -> ColumnElement[bool]:
    return and_(ApiKey.revoked_at.is_(None), or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now))


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_live(self, user_id: uuid.UUID, now: dt.datetime) -> int:
        query = select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, _live(now))
        return int((await self.session.execute(query)).scalar_one())

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def live_for_user(self, user_id: uuid.UUID, now: dt.datetime) -> list[ApiKey]:
        """Keys not revoked and not expired, newest first."""
        query = (
            select(ApiKey)
            .where(ApiKey.user_id == user_id, _live(now))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
        return list((await self.session.execute(query)).scalars())

    async def revoke(self, user_id: uuid.UUID, key_id: uuid.UUID, now: dt.datetime) -> bool:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(cast("int", result.rowcount)) > 0  # type: ignore[attr-defined]

    async def revoke_all(self, user_id: uuid.UUID, now: dt.datetime) -> int:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(cast("int", result.rowcount))  # type: ignore[attr-defined]

    async def lock_owner(self, user_id: uuid.UUID) -> bool:
        """Lock the user row until commit (PostgreSQL), so two creations cannot pass the cap at once.

        False when there is no such user. SQLite write transactions run one at a time anyway.
        """
        query = select(User.id).where(User.id == user_id)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return (await self.session.execute(query)).first() is not None

    async def owner_exists(self, user_id: uuid.UUID) -> bool:
        return (await self.session.execute(select(User.id).where(User.id == user_id))).first() is not None
