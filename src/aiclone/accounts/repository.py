from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts.models import AccountToken, TokenPurpose
from aiclone.accounts.schemas import AccountRead
from aiclone.auth.models import User
from aiclone.auth.users import USER_READ_COLUMNS
from aiclone.db import Database


class AccountTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: AccountToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def find_live(
        self, token_hash: str, purposes: tuple[TokenPurpose, ...], now: dt.datetime
    ) -> AccountToken | None:
        result = await self.session.execute(
            select(AccountToken).where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose.in_([p.value for p in purposes]),
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > now,
            )
        )
        return result.scalar_one_or_none()

    async def consume(self, token_id: uuid.UUID, now: dt.datetime) -> bool:
        """Mark a token used; False when a concurrent request used it first."""
        result = await self.session.execute(
            update(AccountToken)
            .where(AccountToken.id == token_id, AccountToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def retire(self, user_id: uuid.UUID, purposes: tuple[TokenPurpose, ...], now: dt.datetime) -> None:
        """Spend every outstanding token of these purposes (a newer one supersedes them)."""
        await self.session.execute(
            update(AccountToken)
            .where(
                AccountToken.user_id == user_id,
                AccountToken.purpose.in_([p.value for p in purposes]),
                AccountToken.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def pending_email(self, user_id: uuid.UUID, now: dt.datetime) -> str | None:
        """The new address of the user's outstanding change, if any."""
        return await self.session.scalar(
            select(AccountToken.email)
            .where(
                AccountToken.user_id == user_id,
                AccountToken.purpose == TokenPurpose.CHANGE_EMAIL.value,
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > now,
            )
            .order_by(AccountToken.created_at.desc())
            .limit(1)
        )


# GET /api/auth/me on every page load: one prebuilt Core select (the AccountRead fields in order).
_PENDING_EMAIL = (
    select(AccountToken.email)
    .where(
        AccountToken.user_id == User.id,
        AccountToken.purpose == TokenPurpose.CHANGE_EMAIL.value,
        AccountToken.used_at.is_(None),
        AccountToken.expires_at > bindparam("now", type_=AccountToken.expires_at.type),
    )
    .order_by(AccountToken.created_at.desc())
    .limit(1)
    .correlate(User)
    .scalar_subquery()
)
_ACCOUNT_READ_BY_ID = select(*USER_READ_COLUMNS, User.email_verified_at.is_not(None), _PENDING_EMAIL).where(
    User.id == bindparam("user_id", type_=User.id.type)
)


class AccountReads:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: uuid.UUID, now: dt.datetime) -> AccountRead | None:
        row = await self.db.read_row(_ACCOUNT_READ_BY_ID, {"user_id": user_id, "now": now})
        return None if row is None else AccountRead(*row)
