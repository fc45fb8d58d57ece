"""Password reset by mail.

``request`` answers the same way for every address: a malformed one is a 422 (that says nothing
about accounts); for a well-formed one the same lookup runs in the same kind of transaction,
and the answer comes no sooner than :data:`~aiclone.accounts.throttle.RESPONSE_FLOOR_SECONDS`.
Only an active account gets a mail, at most as often as its address's quota allows.

``confirm`` spends the token, sets the password and ends every session of the user in one
transaction (:meth:`SessionRevoker.end_all`, with the signal every instance hears), then
mails a notice to the account's address.
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass

from aiclone.accounts import mails
from aiclone.accounts.errors import InvalidAccountToken
from aiclone.accounts.mailer import AccountMailer
from aiclone.accounts.models import TokenPurpose
from aiclone.accounts.repository import AccountTokenRepository
from aiclone.accounts.throttle import RESPONSE_FLOOR_SECONDS, no_sooner_than
from aiclone.accounts.tokens import MAX_TOKEN_LENGTH, hash_token, issue_token
from aiclone.auth.emails import normalize_email
from aiclone.auth.passwords import PasswordHasher, check_password_policy
from aiclone.auth.sessions import SessionRevoker
from aiclone.auth.users import get_user, get_user_by_email
from aiclone.db import Database, utcnow
from aiclone.settings import AccountSettings, AuthSettings

logger = logging.getLogger("aiclone.accounts")

_RESET = (TokenPurpose.PASSWORD_RESET,)


@dataclass(eq=False)
class PasswordRecovery:
    db: Database
    settings: AccountSettings
    # The password policy a new password must meet.
    auth: AuthSettings
    hasher: PasswordHasher
    mailer: AccountMailer
    revoker: SessionRevoker
    _: KW_ONLY
    response_floor: float = RESPONSE_FLOOR_SECONDS

    @property
    def ttl(self) -> int:
        return self.settings.password_reset_ttl_seconds

    async def request(self, email: str) -> None:
        address = normalize_email(email)
        async with no_sooner_than(self.response_floor):
            allowed = await self.mailer.quota.take(address)
            async with self.db.session() as session:
                user = await get_user_by_email(session, address)
                if user is None or not user.is_active or not allowed:
                    return
                token = await issue_token(
                    session, user, TokenPurpose.PASSWORD_RESET, email=user.email, ttl_seconds=self.ttl
                )
                content = mails.password_reset(
                    user.full_name, self.mailer.link("reset-password", token), token, self.ttl
                )
                await self.mailer.send(session, user, to=user.email, kind="password-reset", content=content)
            logger.info("password reset mailed", extra={"user_id": str(user.id)})

    async def confirm(self, token: str, new_password: str) -> None:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidAccountToken("The reset link is invalid or has expired; ask for a new one.")
        token_hash = hash_token(token)
        async with self.db.read_session() as session:
            found = await AccountTokenRepository(session).find_live(token_hash, _RESET, utcnow())
            user = await get_user(session, found.user_id) if found is not None else None
        if found is None or user is None or not user.is_active:
            raise InvalidAccountToken("The reset link is invalid or has expired; ask for a new one.")
        # Checked before the token is spent: a refused password leaves the link usable.
        clean = check_password_policy(new_password, email=user.email, settings=self.auth)
        password_hash = await self.hasher.hash(clean)
        async with self.db.session() as session:
            now = utcnow()
            tokens = AccountTokenRepository(session)
            fresh = await get_user(session, user.id)
            if fresh is None or not fresh.is_active or not await tokens.consume(found.id, now):
                raise InvalidAccountToken("The reset link is invalid or has expired; ask for a new one.")
            fresh.password_hash = password_hash
            if fresh.email_verified_at is None and found.email == fresh.email:
                fresh.email_verified_at = now  # the link reached this very address
            await tokens.retire(fresh.id, _RESET, now)
            await self.revoker.end_all(session, fresh.id)
            await self.mailer.send(
                session,
                fresh,
                to=fresh.email,
                kind="password-changed",
                content=mails.password_changed(fresh.full_name),
            )
        logger.info("password reset; every session ended", extra={"user_id": str(user.id)})
