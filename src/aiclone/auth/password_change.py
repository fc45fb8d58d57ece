"""Changing one's password while signed in (``POST /api/auth/password``).

The current password is checked like a sign-in — on the same failed-attempt quota of the
account, so a stolen access token cannot be used to guess it faster than the sign-in form
allows — then the new one passes the password policy, and in one transaction the hash is
replaced and every *other* session ends (with the identity signal): a thief holding another
session is signed out everywhere within a second, while the caller stays signed in.
"""

from __future__ import annotations

import uuid

from aiclone.auth.login_throttle import LoginThrottle
from aiclone.auth.passwords import PasswordHasher, check_password_policy
from aiclone.auth.repository import UserRepository
from aiclone.auth.sessions import SessionRevoker
from aiclone.db import Database
from aiclone.errors import Forbidden, Unauthenticated
from aiclone.settings import AuthSettings


class WrongPassword(Forbidden):
    slug = "wrong-password"
    title = "Wrong password"


class PasswordChangeService:
    def __init__(
        self,
        db: Database,
        settings: AuthSettings,
        hasher: PasswordHasher,
        revoker: SessionRevoker,
        failed_logins: LoginThrottle | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.hasher = hasher
        self.revoker = revoker
        self.failed_logins = failed_logins

    async def change(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, current_password: str, new_password: str
    ) -> int:
        """Set the new password; returns how many other sessions were ended."""
        async with self.db.read_session() as session:
            user = await UserRepository(session).get(user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("The account no longer exists or is not active.")
        if self.failed_logins is not None:
            await self.failed_logins.reserve(user.email)
        if not await self.hasher.verify(user.password_hash, current_password):
            raise WrongPassword("The current password is not correct.")
        if self.failed_logins is not None:
            await self.failed_logins.record_success(user.email)
        clean = check_password_policy(new_password, email=user.email, settings=self.settings)
        new_hash = await self.hasher.hash(clean)
        async with self.db.session() as session:
            fresh = await UserRepository(session).get(user_id)
            if fresh is None or not fresh.is_active:
                raise Unauthenticated("The account no longer exists or is not active.")
            fresh.password_hash = new_hash
            return await self.revoker.end_all(session, user_id, except_session=session_id)
