from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import Role, User
from aiclone.auth.repository import USER_READ_COLUMNS
from aiclone.auth.schemas import UserRead
from aiclone.pagination import KeysetCursor, after


class UserDirectory:
    """Queries over all users, for administrators."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_page(
        self, *, limit: int, cursor: KeysetCursor | None, role: Role | None
    ) -> list[UserRead]:
        query = select(*USER_READ_COLUMNS).order_by(User.created_at, User.id).limit(limit)
        if (continuation := after(cursor, User.created_at, User.id)) is not None:
            query = query.where(continuation)
        if role is not None:
            query = query.where(User.role == role.value)
        result = await self.session.execute(query)
        return [UserRead(*row) for row in result]
