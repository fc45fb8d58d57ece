from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.auth.emails import normalize_email
from aiclone.auth.errors import EmailNotVerified
from aiclone.auth.login_throttle import LoginThrottle
from aiclone.auth.models import RefreshToken, Role, User, UserSession
from aiclone.auth.passwords import PasswordHasher, check_password_policy
from aiclone.auth.repository import RefreshTokenRepository, SessionRepository, UserRepository
from aiclone.auth.schemas import TokenPair, UserRead
from aiclone.auth.sessions import ClientInfo, SessionRevoker
from aiclone.auth.tokens import TokenCodec, hash_refresh_token, new_refresh_token
from aiclone.auth.users import UserReads
from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput, Unauthenticated
from aiclone.settings import AuthSettings

logger = logging.getLogger("aiclone.auth")

_BAD_LOGIN = "Incorrect email or password."
_BAD_REFRESH = "The refresh token is invalid or has expired."


def clean_full_name(raw: str) -> str:
    """The name trimmed; a blank one is refused under ``full_name``."""
    name = raw.strip()
    if not name:
        raise InvalidInput(
            "The full name is required.",
            errors=[FieldError(field="full_name", message="may not be blank")],
        )
    return name


def to_user_read(user: User) -> UserRead:
    return msgspec.convert(user, UserRead, from_attributes=True)


@dataclass(eq=False)
class AuthService:
    db: Database
    settings: AuthSettings
    hasher: PasswordHasher
    codec: TokenCodec
    _: KW_ONLY
    sessions: SessionRevoker
    failed_logins: LoginThrottle | None = None
    email_verification_required: bool = False
    user_reads: UserReads = field(init=False)
    # Runs in the registration's transaction (aiclone.accounts mails the address to confirm).
    on_register: Callable[[AsyncSession, User], Awaitable[None]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.user_reads = UserReads(self.db)

    async def register(
        self, *, email: str, password: str, full_name: str, role: Role = Role.USER
    ) -> UserRead:
        normalized_email = normalize_email(email)
        name = clean_full_name(full_name)
        clean_password = check_password_policy(password, email=normalized_email, settings=self.settings)
        password_hash = await self.hasher.hash(clean_password)
        try:
            async with self.db.session() as session:
                users = UserRepository(session)
                if await users.get_by_email(normalized_email) is not None:
                    raise Conflict("An account with this email already exists.")
                user = await users.add(
                    User(email=normalized_email, full_name=name, password_hash=password_hash, role=role.value)
                )
                if self.on_register is not None:
                    await self.on_register(session, user)
        except IntegrityError:
            # Two registrations raced past the check; the unique index decided.
            raise Conflict("An account with this email already exists.") from None
        logger.info("user registered", extra={"user_id": str(user.id)})
        return to_user_read(user)

    async def login(self, *, email: str, password: str, client: ClientInfo | None = None) -> TokenPair:
        try:
            normalized_email = normalize_email(email)
        except InvalidInput:
            normalized_email = ""
        account = normalized_email or email
        if self.failed_logins is not None:
            # Counted before hashing, atomically: parallel guesses cannot all pass one check.
            await self.failed_logins.reserve(account)
        async with self.db.read_session() as session:
            user = await UserRepository(session).get_by_email(normalized_email) if normalized_email else None
        stored_hash = user.password_hash if user is not None and user.is_active else None
        # Always one argon2 verification, whether or not the account exists.
        if not await self.hasher.verify(stored_hash, password) or user is None:
            raise Unauthenticated(_BAD_LOGIN)
        if self.failed_logins is not None:
            await self.failed_logins.record_success(account)
        if self.email_verification_required and user.email_verified_at is None:
            raise EmailNotVerified(
                "Confirm your email address first: follow the link we mailed you, or ask for a new one"
                " with POST /api/auth/verify-email/resend."
            )
        new_hash = None
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash(password)
        async with self.db.session() as session:
            if new_hash is not None:
                fresh = await UserRepository(session).get(user.id)
                if fresh is not None:
                    fresh.password_hash = new_hash
            family_id = uuid.uuid4()
            client = (client or ClientInfo()).bounded()
            await SessionRepository(session).add(
                UserSession(
                    id=family_id, user_id=user.id, user_agent=client.user_agent, client_address=client.address
                )
            )
            return await self._issue(session, user, family_id=family_id)

    async def refresh(self, refresh_token: str) -> TokenPair:
        now = utcnow()
        async with self.db.session() as session:
            tokens = RefreshTokenRepository(session)
            stored = await tokens.get_by_hash(hash_refresh_token(refresh_token))
            if stored is None:
                raise Unauthenticated(_BAD_REFRESH)
            if stored.used_at is not None or stored.revoked_at is not None:
                reuse = stored.used_at is not None and stored.revoked_at is None
                await self.sessions.end(session, stored.user_id, stored.family_id)
                if reuse:
                    logger.warning(
                        "refresh token reuse; family revoked", extra={"user_id": str(stored.user_id)}
                    )
                error: Exception = Unauthenticated(_BAD_REFRESH)
            elif stored.expires_at <= now:
                error = Unauthenticated(_BAD_REFRESH)
            elif not await tokens.mark_used(stored.id, now):
                # A concurrent refresh consumed it first: treat exactly like reuse.
                await self.sessions.end(session, stored.user_id, stored.family_id)
                error = Unauthenticated(_BAD_REFRESH)
            else:
                user = await UserRepository(session).get(stored.user_id)
                if user is None or not user.is_active:
                    await self.sessions.end(session, stored.user_id, stored.family_id)
                    error = Unauthenticated(_BAD_REFRESH)
                else:
                    await SessionRepository(session).touch(stored.family_id, now)
                    return await self._issue(session, user, family_id=stored.family_id)
        # Raised after the commit so the revocation above is kept.
        raise error

    async def logout(self, *, user_id: uuid.UUID, refresh_token: str | None, all_sessions: bool) -> None:
        async with self.db.session() as session:
            if refresh_token and not all_sessions:
                stored = await RefreshTokenRepository(session).get_by_hash(hash_refresh_token(refresh_token))
                if stored is not None and stored.user_id == user_id:
                    await self.sessions.end(session, user_id, stored.family_id)
                return
            await self.sessions.end_all(session, user_id)

    async def end_session(self, refresh_token: str) -> None:
        """End the session (token family) that ``refresh_token`` belongs to, if any."""
        async with self.db.session() as session:
            stored = await RefreshTokenRepository(session).get_by_hash(hash_refresh_token(refresh_token))
            if stored is not None:
                await self.sessions.end(session, stored.user_id, stored.family_id)

    async def get_user(self, user_id: uuid.UUID) -> UserRead:
        # Runs on every /me: a Core point read, no session or transaction (see UserReads).
        user = await self.user_reads.get(user_id)
        if user is None or not user.is_active:
            # The gate let the token in a moment ago; the account went meanwhile.
            raise Unauthenticated("The account no longer exists or is not active.")
        return user

    async def _issue(self, session: AsyncSession, user: User, *, family_id: uuid.UUID) -> TokenPair:
        raw = new_refresh_token()
        ttl = self.settings.refresh_token_ttl_seconds
        await RefreshTokenRepository(session).add(
            RefreshToken(
                user_id=user.id,
                family_id=family_id,
                token_hash=hash_refresh_token(raw),
                expires_at=utcnow() + dt.timedelta(seconds=ttl),
            )
        )
        access = self.codec.issue(user_id=user.id, session_id=family_id, email=user.email, role=user.role)
        return TokenPair(
            access_token=access.token, expires_in=access.expires_in, refresh_token=raw, refresh_expires_in=ttl
        )
