"""Account erasure and export, for the user themselves, for admins and for the CLI.

After an erasure commits, :attr:`AccountService.on_erased` callbacks run with the user id. In
this process that ends the user's open event streams (``StreamHub.end_user_streams``); it is the
one place to connect a cross-instance revocation signal, so other instances end theirs too
(see ``container.Services``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field

from sqlalchemy import MetaData, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts.erasure import RETRIES, erase_rows, is_deadlock, lock_user
from aiclone.accounts.export import account_zip
from aiclone.auth.emails import normalize_email
from aiclone.auth.models import Role, User
from aiclone.auth.passwords import PasswordHasher
from aiclone.auth.sessions import SessionRevoker
from aiclone.db import Database, after_commit, utcnow
from aiclone.errors import Conflict, Forbidden, NotFound, TooManyRequests
from aiclone.ratelimit.login import FailedLoginThrottle

logger = logging.getLogger("aiclone.accounts")

ErasedCallback = Callable[[uuid.UUID], Awaitable[None]]


class WrongPassword(Forbidden):
    slug = "wrong-password"
    title = "Password confirmation failed"


class LastAdmin(Conflict):
    slug = "last-admin"
    title = "The last active admin cannot be deleted"


@dataclass
class AccountDownload:
    filename: str
    body: AsyncIterator[bytes]

    @property
    def content_disposition(self) -> str:
        return f'attachment; filename="{self.filename}"'


@dataclass(frozen=True)
class Erased:
    user_id: uuid.UUID
    email: str
    rows: dict[str, int]


@dataclass(eq=False)
class AccountService:
    db: Database
    hasher: PasswordHasher
    revoker: SessionRevoker
    # Every table of the application (aiclone.models.metadata): what erasure and export walk.
    metadata: MetaData
    _: KW_ONLY
    failed_logins: FailedLoginThrottle | None = None
    max_concurrent_exports: int = 4
    on_erased: list[ErasedCallback] = field(default_factory=list, init=False)
    _exporting: set[uuid.UUID] = field(default_factory=set, init=False)
    _exports: int = field(default=0, init=False)

    # --- erasure ---

    async def erase_own(self, user_id: uuid.UUID, password: str) -> Erased:
        """The user erases their own account, confirming with the current password.

        Wrong passwords count against the same per-account quota as failed sign-ins.
        """
        async with self.db.read_session() as session:
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound("The user does not exist.")
        if self.failed_logins is not None:
            await self.failed_logins.ensure_allowed(user.email)
        if not await self.hasher.verify(user.password_hash, password):
            if self.failed_logins is not None:
                await self.failed_logins.record_failure(user.email)
            raise WrongPassword("The password is not correct; the account was not deleted.")
        if self.failed_logins is not None:
            await self.failed_logins.record_success(user.email)
        return await self.erase(user_id)

    async def erase_by_email(self, email: str) -> Erased:
        async with self.db.read_session() as session:
            user_id = await session.scalar(select(User.id).where(User.email == normalize_email(email)))
        if user_id is None:
            raise NotFound("No account has this email address.")
        return await self.erase(user_id)

    async def erase(self, user_id: uuid.UUID) -> Erased:
        """Erase the account and everything it owns, in one transaction (see accounts.erasure)."""
        for attempt in range(1, RETRIES + 1):
            try:
                return await self._erase_once(user_id)
            except DBAPIError as exc:
                if not is_deadlock(exc) or attempt == RETRIES:
                    raise
                logger.warning("account erasure of %s hit a deadlock; running it again", user_id)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _erase_once(self, user_id: uuid.UUID) -> Erased:
        async with self.db.session() as session:
            if not await lock_user(session, self.metadata, user_id):
                raise NotFound("The user does not exist.")
            user = await session.get(User, user_id)
            assert user is not None
            email, role, active = user.email, user.role, user.is_active
            session.expunge(user)
            if role == Role.ADMIN.value and active:
                await self._ensure_other_admin(session, user_id)
            # The identity signal goes out on commit: every instance refuses the user's tokens.
            await self.revoker.end_all(session, user_id)
            rows = await erase_rows(session, self.metadata, user_id)
            for callback in self.on_erased:
                after_commit(session, _bind(callback, user_id))
        logger.info("account erased", extra={"user_id": str(user_id), "rows": sum(rows.values())})
        return Erased(user_id=user_id, email=email, rows=rows)

    @staticmethod
    async def _ensure_other_admin(session: AsyncSession, user_id: uuid.UUID) -> None:
        admins = select(User.id).where(User.role == Role.ADMIN.value, User.is_active.is_(True))
        if session.get_bind().dialect.name == "postgresql":
            # Two admins deleting each other at once: the second sees the first's result.
            ids = list((await session.scalars(admins.order_by(User.id).with_for_update())).all())
            others = len([i for i in ids if i != user_id])
        else:
            others = int(await session.scalar(
                select(func.count()).select_from(admins.where(User.id != user_id).subquery())
            ) or 0)  # fmt: skip
        if others == 0:
            raise LastAdmin("This is the last active admin; give another user the admin role first.")

    # --- export ---

    async def start_export(self, user_id: uuid.UUID) -> AccountDownload:
        """Check the user and the limits now (before the response starts); rows are read while it streams.

        At most one export per account and ``max_concurrent_exports`` per process run at once.
        """
        async with self.db.read_session() as session:
            user = await session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFound("The user does not exist.")
        if user_id in self._exporting:
            raise TooManyRequests("An export of this account is already running.", retry_after=10)
        if self._exports >= self.max_concurrent_exports:
            raise TooManyRequests("Too many exports are running; try again shortly.", retry_after=10)
        name = f"aiclone-account-{user_id.hex[:12]}-{utcnow():%Y%m%dT%H%M%SZ}.zip"
        return AccountDownload(filename=name, body=self._export_body(user_id))

    async def _export_body(self, user_id: uuid.UUID) -> AsyncIterator[bytes]:
        self._exporting.add(user_id)
        self._exports += 1
        try:
            async for chunk in account_zip(self.db, self.metadata, user_id):
                if chunk:
                    yield chunk
        finally:
            self._exports -= 1
            self._exporting.discard(user_id)


def _bind(callback: ErasedCallback, user_id: uuid.UUID) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await callback(user_id)

    return run
