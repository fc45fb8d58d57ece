"""Single-use mailed tokens: 256 random bits, kept only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts.models import AccountToken, TokenPurpose
from aiclone.accounts.repository import AccountTokenRepository
from aiclone.auth.models import User
from aiclone.db import utcnow

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def hash_token(token: str) -> str:
    # 256 bits of randomness: a fast hash suffices, and lookups go by hash.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    session: AsyncSession, user: User, purpose: TokenPurpose, *, email: str, ttl_seconds: int
) -> str:
    """A new token for ``user``; earlier tokens of the same purpose stop working."""
    now = utcnow()
    tokens = AccountTokenRepository(session)
    await tokens.retire(user.id, (purpose,), now)
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    await tokens.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=hash_token(raw),
            email=email,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl_seconds),
        )
    )
    return raw
