from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts.models import AccountToken, TokenPurpose


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
