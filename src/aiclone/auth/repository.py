from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import RefreshToken, User, UserSession
from aiclone.auth.users import get_user, get_user_by_email


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await get_user(self.session, user_id)

    async def get_by_email(self, email: str) -> User | None:
        return await get_user_by_email(self.session, email)

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        result = await self.session.execute(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
        return result.scalar_one_or_none()

    async def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def mark_used(self, token_id: uuid.UUID, now: dt.datetime) -> bool:
        """Atomically consume a token; False when another request consumed it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None)
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_family(self, family_id: uuid.UUID, now: dt.datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )

    async def revoke_all_for_user(self, user_id: uuid.UUID, now: dt.datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


class SessionRepository:
    """``user_sessions`` rows; ending one also revokes its refresh tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: UserSession) -> None:
        self.session.add(row)
        await self.session.flush()

    async def touch(self, session_id: uuid.UUID, now: dt.datetime) -> None:
        await self.session.execute(
            update(UserSession)
            .where(UserSession.id == session_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def open_for_user(self, user_id: uuid.UUID, limit: int) -> list[UserSession]:
        result = await self.session.execute(
            select(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
            .order_by(UserSession.last_used_at.desc(), UserSession.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def end(self, user_id: uuid.UUID, session_id: uuid.UUID, now: dt.datetime) -> bool:
        """End one open session of ``user_id``; False when there is none by that id."""
        result = await self.session.execute(
            update(UserSession)
            .where(
                UserSession.id == session_id, UserSession.user_id == user_id, UserSession.ended_at.is_(None)
            )
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
        await RefreshTokenRepository(self.session).revoke_family(session_id, now)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def end_all(self, user_id: uuid.UUID, now: dt.datetime, *, keep: uuid.UUID | None) -> int:
        sessions = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        tokens = update(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
        )
        if keep is not None:
            sessions = sessions.where(UserSession.id != keep)
            tokens = tokens.where(RefreshToken.family_id != keep)
        result = await self.session.execute(
            sessions.values(ended_at=now).execution_options(synchronize_session=False)
        )
        await self.session.execute(tokens.values(revoked_at=now).execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]
