"""``PATCH /api/auth/me``: the name at once; a new address only once it confirms.

An address change needs the current password (failures count against the account like failed
sign-ins). It mails a confirmation link to the new address and a notice to the current one;
the account moves when the link is followed (:mod:`aiclone.accounts.verification`).

When the new address already has an account, the answer is the same (the change shows as
pending) and that address receives a notice instead of a link, so the endpoint cannot be used
to learn which addresses have accounts; its owner learns that someone tried.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts import mails
from aiclone.accounts.errors import WrongPassword
from aiclone.accounts.mailer import AccountMailer
from aiclone.accounts.memory import AccountMemory
from aiclone.accounts.models import TokenPurpose
from aiclone.accounts.repository import AccountTokenRepository
from aiclone.accounts.schemas import AccountRead, ProfileUpdate
from aiclone.accounts.tokens import issue_token
from aiclone.auth.emails import normalize_email
from aiclone.auth.models import User
from aiclone.auth.passwords import PasswordHasher
from aiclone.auth.service import clean_full_name, to_user_read
from aiclone.auth.sessions import SessionRevoker
from aiclone.auth.users import get_user, get_user_by_email
from aiclone.db import Database, utcnow
from aiclone.errors import FieldError, InvalidInput, NotFound, Unauthenticated
from aiclone.ratelimit.login import FailedLoginThrottle
from aiclone.settings import AccountSettings


def account_read(user: User, pending_email: str | None) -> AccountRead:
    return AccountRead(
        **msgspec.structs.asdict(to_user_read(user)),
        email_verified=user.email_verified_at is not None,
        pending_email=pending_email,
    )


@dataclass(eq=False)
class AccountProfiles:
    db: Database
    settings: AccountSettings
    hasher: PasswordHasher
    mailer: AccountMailer
    memory: AccountMemory
    revoker: SessionRevoker
    failed_logins: FailedLoginThrottle | None = None

    @property
    def ttl(self) -> int:
        return self.settings.email_verification_ttl_seconds

    async def update(self, user_id: uuid.UUID, change: ProfileUpdate) -> AccountRead:
        name = None
        if change.full_name is not msgspec.UNSET:
            name = clean_full_name(change.full_name)
        new_email = None if change.email is msgspec.UNSET else normalize_email(change.email)
        async with self.db.read_session() as session:
            user = await get_user(session, user_id)
        if user is None or not user.is_active:
            raise NotFound("The user does not exist.")
        cancel = new_email == user.email  # asking for the current address drops a pending change
        if cancel:
            new_email = None
        if new_email is not None:
            await self._check_password(user, change.current_password)
        async with self.db.session() as session:
            fresh = await get_user(session, user_id)
            if fresh is None or not fresh.is_active:
                raise NotFound("The user does not exist.")
            if name is not None:
                fresh.full_name = name
            if cancel:
                await AccountTokenRepository(session).retire(user_id, (TokenPurpose.CHANGE_EMAIL,), utcnow())
            if new_email is not None:
                await self._request_move(session, fresh, new_email)
                pending: str | None = new_email
            else:
                pending = await AccountTokenRepository(session).pending_email(user_id, utcnow())
            await session.flush()
            await self.revoker.announce(session, user_id)  # every instance's `me` forgets it
            return account_read(fresh, pending)

    async def me(self, user_id: uuid.UUID) -> AccountRead:
        """The signed-in user's account (``GET /api/auth/me``), pending address change included."""
        account = await self.memory.get(user_id)
        if account is None or not account.is_active:
            # The gate let the token in a moment ago; the account went meanwhile.
            raise Unauthenticated("The account no longer exists or is not active.")
        return account

    async def read(self, user_id: uuid.UUID) -> AccountRead:
        async with self.db.read_session() as session:
            user = await get_user(session, user_id)
            if user is None or not user.is_active:
                raise NotFound("The user does not exist.")
            return account_read(user, await AccountTokenRepository(session).pending_email(user_id, utcnow()))

    async def _check_password(self, user: User, password: str | msgspec.UnsetType) -> None:
        if password is msgspec.UNSET:
            raise InvalidInput(
                "Changing the email address needs the current password.",
                errors=[FieldError(field="current_password", message="required to change the email")],
            )
        if self.failed_logins is not None:
            await self.failed_logins.ensure_allowed(user.email)
        if not await self.hasher.verify(user.password_hash, password):
            if self.failed_logins is not None:
                await self.failed_logins.record_failure(user.email)
            raise WrongPassword("The current password is not correct.")

    async def _request_move(self, session: AsyncSession, user: User, new_email: str) -> None:
        if not await self.mailer.quota.take(new_email):
            return
        holder = await get_user_by_email(session, new_email)
        if holder is None:
            token = await issue_token(
                session, user, TokenPurpose.CHANGE_EMAIL, email=new_email, ttl_seconds=self.ttl
            )
            link = self.mailer.link("confirm-email", token)
            content = mails.confirm_new_email(user.full_name, new_email, link, token, self.ttl)
            await self.mailer.send(session, user, to=new_email, kind="confirm-email", content=content)
        else:
            await self.mailer.send(
                session, user, to=new_email, kind="address-taken", content=mails.address_already_registered()
            )
        notice = mails.email_change_requested(user.full_name, mails.mask(new_email))
        await self.mailer.send(session, user, to=user.email, kind="email-change-notice", content=notice)
