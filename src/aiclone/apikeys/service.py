"""API keys: creating them (shown once), listing them, revoking them everywhere within a second.

Revoking is a row change and the identity signal for the key's user in the same transaction
(:class:`~aiclone.auth.sessions.SessionRevoker` does the same for sessions): on commit every
instance's identity gate forgets the user's key verdicts and reads them again, and open event
streams of the user are checked again (:mod:`aiclone.live.revocation`).

What else ends a key: its expiry; deactivating its user (the keys are revoked for good, so a
reactivated account starts without machine credentials); erasing the user (the rows go). A
password change, a password reset and "sign out everywhere" end sessions, not keys: a key is a
credential of its own, revoked on its own. A demoted admin's keys keep their scopes, but routes
behind ``admin`` and ``metrics:read`` also need the admin role, read from the user row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import KW_ONLY, dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.apikeys.models import ApiKey
from aiclone.apikeys.repository import ApiKeyRepository
from aiclone.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from aiclone.auth import keytext
from aiclone.auth.scopes import ADMIN_ONLY_SCOPES
from aiclone.auth.tokens import Principal
from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from aiclone.events.broker import EventBroker

MAX_LIVE_KEYS_PER_USER = 50


class TooManyKeys(Conflict):
    slug = "api-key-limit"
    title = "Too many API keys"


class AdminScopeRefused(Forbidden):
    slug = "admin-scope-refused"
    title = "Only admins may create keys with this scope"


def _prefix(public_id: str) -> str:
    return f"{keytext.PREFIX}{public_id}"


def _read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=_prefix(key.public_id),
        scopes=key.scopes.split(),
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        last_used_ip=key.last_used_ip,
    )


async def revoke_all_keys(session: AsyncSession, broker: EventBroker, user_id: uuid.UUID) -> int:
    """Revoke every key of ``user_id`` inside the caller's transaction, with the signal."""
    count = await ApiKeyRepository(session).revoke_all(user_id, utcnow())
    await broker.signal_identity(session, user_id)
    return count


@dataclass(eq=False)
class ApiKeyService:
    db: Database
    broker: EventBroker
    _: KW_ONLY
    max_live_keys: int = MAX_LIVE_KEYS_PER_USER

    async def create(self, principal: Principal, data: ApiKeyCreate) -> ApiKeyCreated:
        scopes = sorted({scope.value for scope in data.scopes})
        if not principal.is_admin and ADMIN_ONLY_SCOPES & set(scopes):
            refused = ", ".join(sorted(ADMIN_ONLY_SCOPES & set(scopes)))
            raise AdminScopeRefused(f"Only admins may create keys with: {refused}.")
        now = utcnow()
        expires_at = data.expires_at
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise InvalidInput(
                    "expires_at needs a time zone.",
                    errors=[
                        FieldError(field="expires_at", message="Give a UTC time, e.g. 2027-01-01T00:00:00Z.")
                    ],
                )
            expires_at = expires_at.astimezone(dt.UTC)
            if expires_at <= now:
                raise InvalidInput(
                    "expires_at is in the past.",
                    errors=[FieldError(field="expires_at", message="Must be in the future.")],
                )
        new = keytext.generate()
        async with self.db.session() as session:
            keys = ApiKeyRepository(session)
            if not await keys.lock_owner(principal.id):
                raise NotFound("No such user.")
            if await keys.count_live(principal.id, now) >= self.max_live_keys:
                raise TooManyKeys(
                    f"A user may hold at most {self.max_live_keys} live API keys; revoke one first."
                )
            key = await keys.add(
                ApiKey(
                    user_id=principal.id,
                    name=data.name,
                    public_id=new.public_id,
                    secret_hash=new.secret_hash,
                    scopes=" ".join(scopes),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return ApiKeyCreated(
            id=key.id,
            name=key.name,
            prefix=_prefix(key.public_id),
            scopes=scopes,
            created_at=key.created_at,
            expires_at=key.expires_at,
            key=new.text,
        )

    async def list_live(self, user_id: uuid.UUID) -> ApiKeyList:
        async with self.db.read_session() as session:
            keys = await ApiKeyRepository(session).live_for_user(user_id, utcnow())
        return ApiKeyList(items=[_read(key) for key in keys])

    async def revoke(self, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            revoked = await ApiKeyRepository(session).revoke(user_id, key_id, utcnow())
            if revoked:
                await self.broker.signal_identity(session, user_id)
        if not revoked:
            # Another user's key is as unknown as one that never existed.
            raise NotFound("No live API key with this id.")

    async def list_for_admin(self, user_id: uuid.UUID) -> ApiKeyList:
        async with self.db.read_session() as session:
            if not await ApiKeyRepository(session).owner_exists(user_id):
                raise NotFound("No user with this id.")
            keys = await ApiKeyRepository(session).live_for_user(user_id, utcnow())
        return ApiKeyList(items=[_read(key) for key in keys])
