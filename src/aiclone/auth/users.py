"""The user rows as other domains read them (accounts, admin, live), without auth's repository.

Session-level functions in the caller's transaction, and the hot point read outside any: the
``own-repository-auth`` contract keeps :mod:`aiclone.auth.repository` auth's own, as
``prospects.changes`` does for prospects.
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import User
from aiclone.auth.schemas import UserRead
from aiclone.db import Database

# The columns of UserRead, in its field order; the password hash is never selected.
USER_READ_COLUMNS = (User.id, User.email, User.full_name, User.role, User.is_active, User.created_at)
# Built once: on the per-request path, constructing the statement would cost more than running it.
_USER_READ_BY_ID = select(*USER_READ_COLUMNS).where(User.id == bindparam("user_id", type_=User.id.type))


class UserReads:
    """The hot read path: a user as the API shows it, straight from a Core select."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: uuid.UUID) -> UserRead | None:
        row = await self.db.read_row(_USER_READ_BY_ID, {"user_id": user_id})
        return None if row is None else UserRead(*row)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user row, tracked by ``session`` (changes to it commit with the caller's transaction)."""
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user row with this (already normalised) address."""
    result = await session.execute(select(User).where(User.email == email))
    return result.scalar_one_or_none()
