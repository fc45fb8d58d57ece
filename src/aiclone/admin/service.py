"""Administration of accounts: listing them, reading one, changing its role or active state.

A change of role or active state ends every session of the user (with the identity signal), so
within a second no instance accepts a token that carries the old role, and the user's next
sign-in gets the new one. The installation always keeps one active admin: demoting or
deactivating the last one is a 409 (``last-admin``). The check locks the active admins' rows
(PostgreSQL ``FOR UPDATE``; SQLite transactions write one at a time), so two admins demoting
each other at once cannot both succeed.
"""

from __future__ import annotations

import uuid

from aiclone.admin.repository import UserDirectory
from aiclone.admin.schemas import UserPage, UserUpdate
from aiclone.apikeys.service import revoke_all_keys
from aiclone.auth.models import Role
from aiclone.auth.schemas import UserRead
from aiclone.auth.sessions import SessionRevoker
from aiclone.db import Database
from aiclone.errors import Conflict, NotFound
from aiclone.pagination import decode_keyset, encode_cursor, split_page


class LastAdmin(Conflict):
    slug = "last-admin"
    title = "The last active admin cannot be demoted or deactivated"


class AdminService:
    """Operations across all users. Callers are authorized by the admin guard before this runs."""

    def __init__(self, db: Database, revoker: SessionRevoker) -> None:
        self.db = db
        self.revoker = revoker

    async def list_users(self, *, limit: int, cursor: str | None, role: Role | None) -> UserPage:
        position = decode_keyset(cursor)
        async with self.db.read_session() as session:
            rows = await UserDirectory(session).list_page(limit=limit + 1, cursor=position, role=role)
        items, more = split_page(rows, limit)
        last = items[-1] if more else None
        return UserPage(items=items, next_cursor=encode_cursor(last.created_at, last.id) if last else None)

    async def get_user(self, user_id: uuid.UUID) -> UserRead:
        async with self.db.read_session() as session:
            user = await UserDirectory(session).get(user_id)
        if user is None:
            raise NotFound("No user with this id.")
        return user

    async def find_by_email(self, email: str) -> UserRead | None:
        async with self.db.read_session() as session:
            return await UserDirectory(session).get_by_email(email.strip().lower())

    async def update_user(self, user_id: uuid.UUID, change: UserUpdate) -> UserRead:
        """Apply ``change``; a no-op change ends no session."""
        async with self.db.session() as session:
            directory = UserDirectory(session)
            user = await directory.get_for_update(user_id)
            if user is None:
                raise NotFound("No user with this id.")
            role = user.role if change.role is None else change.role.value
            active = user.is_active if change.is_active is None else change.is_active
            if role == user.role and active == user.is_active:
                return await self._read(directory, user_id)
            losing_admin = (
                user.role == Role.ADMIN.value and user.is_active and (role != user.role or not active)
            )
            if losing_admin and await directory.lock_active_admins() <= 1:
                raise LastAdmin("This is the last active admin; promote another user first.")
            await directory.set_role_and_state(user_id, role=role, is_active=active)
            await self.revoker.end_all(session, user_id)
            if not active:  # a deactivated account keeps no machine credential (aiclone.apikeys)
                await revoke_all_keys(session, self.revoker.broker, user_id)
            return await self._read(directory, user_id)

    @staticmethod
    async def _read(directory: UserDirectory, user_id: uuid.UUID) -> UserRead:
        user = await directory.get(user_id)
        if user is None:  # pragma: no cover - read inside the transaction that holds its lock
            raise NotFound("No user with this id.")
        return user
