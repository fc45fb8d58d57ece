"""Proving an address: on registration, on request, and before an address change applies.

One endpoint takes both kinds of mailed token: a ``verify_email`` token marks the account's
current address verified; a ``change_email`` token moves the account to the address it was
mailed to (which is thereby verified). A verification token stops working once the account's
address changed, and a new token of either kind supersedes the earlier one.

Accounts created by an operator (the admin role, which cannot self-register) count as verified;
so do accounts that existed before verification did (migration 0011).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts import mails
from aiclone.accounts.errors import InvalidAccountToken
from aiclone.accounts.mailer import AccountMailer
from aiclone.accounts.models import AccountToken, TokenPurpose
from aiclone.accounts.repository import AccountTokenRepository
from aiclone.accounts.schemas import VerifiedEmail
from aiclone.accounts.throttle import RESPONSE_FLOOR_SECONDS, no_sooner_than
from aiclone.accounts.tokens import MAX_TOKEN_LENGTH, hash_token, issue_token
from aiclone.auth.emails import normalize_email
from aiclone.auth.models import Role, User
from aiclone.auth.sessions import SessionRevoker
from aiclone.auth.users import get_user, get_user_by_email
from aiclone.db import Database, utcnow
from aiclone.errors import Conflict
from aiclone.settings import AccountSettings

logger = logging.getLogger("aiclone.accounts")

_BOTH = (TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL)
_BAD_TOKEN = "The confirmation link is invalid or has expired; ask for a new one."  # noqa: S105


class EmailVerification:
    def __init__(
        self,
        db: Database,
        settings: AccountSettings,
        mailer: AccountMailer,
        revoker: SessionRevoker,
        *,
        response_floor: float = RESPONSE_FLOOR_SECONDS,
    ) -> None:
        self.db = db
        self.mailer = mailer
        self.revoker = revoker
        self.ttl = settings.email_verification_ttl_seconds
        self.response_floor = response_floor

    async def on_register(self, session: AsyncSession, user: User) -> None:
        """Called in the registration's transaction: mail the new address its confirmation."""
        if user.role == Role.ADMIN.value:
            user.email_verified_at = utcnow()
            return
        await self._mail_verification(session, user)

    async def _mail_verification(self, session: AsyncSession, user: User) -> None:
        token = await issue_token(
            session, user, TokenPurpose.VERIFY_EMAIL, email=user.email, ttl_seconds=self.ttl
        )
        content = mails.verify_email(user.full_name, self.mailer.link("verify-email", token), token, self.ttl)
        await self.mailer.send(session, user, to=user.email, kind="verify-email", content=content)

    async def resend(self, email: str) -> None:
        """Mail a new confirmation if an active, unverified account has this address (same answer either way)."""
        address = normalize_email(email)
        async with no_sooner_than(self.response_floor):
            allowed = await self.mailer.quota.take(address)
            async with self.db.session() as session:
                user = await get_user_by_email(session, address)
                if user is None or not user.is_active or user.email_verified_at is not None or not allowed:
                    return
                await self._mail_verification(session, user)

    async def verify(self, token: str) -> VerifiedEmail:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidAccountToken(_BAD_TOKEN)
        try:
            async with self.db.session() as session:
                result = await self._apply(session, token)
        except IntegrityError:
            # Another account took the address between the check and the write.
            raise Conflict("An account with this email already exists.") from None
        return result

    async def _apply(self, session: AsyncSession, token: str) -> VerifiedEmail:
        now = utcnow()
        tokens = AccountTokenRepository(session)
        found = await tokens.find_live(hash_token(token), _BOTH, now)
        user = await get_user(session, found.user_id) if found is not None else None
        if found is None or user is None or not user.is_active:
            raise InvalidAccountToken(_BAD_TOKEN)
        if found.purpose == TokenPurpose.VERIFY_EMAIL.value and found.email != user.email:
            raise InvalidAccountToken(_BAD_TOKEN)  # the account moved to another address since
        if found.purpose == TokenPurpose.CHANGE_EMAIL.value:
            await self._move(session, user, found)
        if not await tokens.consume(found.id, now):
            raise InvalidAccountToken(_BAD_TOKEN)
        user.email_verified_at = now
        await tokens.retire(user.id, _BOTH, now)
        await session.flush()
        await self.revoker.announce(session, user.id)  # verified, perhaps moved: `me` changed
        logger.info("email address confirmed", extra={"user_id": str(user.id)})
        return VerifiedEmail(email=user.email)

    async def _move(self, session: AsyncSession, user: User, found: AccountToken) -> None:
        holder = await get_user_by_email(session, found.email)
        if holder is not None and holder.id != user.id:
            # The confirming person controls that mailbox, so saying so tells them nothing new.
            raise Conflict("An account with this email already exists.")
        logger.info("account moved to a new address", extra={"user_id": str(user.id)})
        user.email = found.email
