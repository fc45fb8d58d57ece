from __future__ import annotations

import uuid

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.models import Role, User
from aiclone.auth.schemas import UserRead
from aiclone.auth.users import USER_READ_COLUMNS
from aiclone.pagination import KeysetCursor, after

_USER_BY_ID = select(*USER_READ_COLUMNS).where(User.id == bindparam("user_id", type_=User.id.type))


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

    async def get(self, user_id: uuid.UUID) -> UserRead | None:
        row = (await self.session.execute(_USER_BY_ID, {"user_id": user_id})).first()
        return None if row is None else UserRead(*row)

    async def get_by_email(self, email: str) -> UserRead | None:
        row = (await self.session.execute(select(*USER_READ_COLUMNS).where(User.email == email))).first()
        return None if row is None else UserRead(*row)

    async def get_for_update(self, user_id: uuid.UUID) -> UserRead | None:
        row = (await self.session.execute(_USER_BY_ID.with_for_update(), {"user_id": user_id})).first()
        return None if row is None else UserRead(*row)

    async def lock_active_admins(self) -> int:
        """How many active admins there are, their rows locked until commit."""
        locked = (
            select(User.id)
            .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
            .with_for_update()
            .subquery()
        )
        return int(await self.session.scalar(select(func.count()).select_from(locked)) or 0)

    async def set_role_and_state(self, user_id: uuid.UUID, *, role: str, is_active: bool) -> None:
        await self.session.execute(
            update(User)
            .where(User.id == user_id)
            .values(role=role, is_active=is_active)
            .execution_options(synchronize_session=False)
        )
