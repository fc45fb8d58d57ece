"""The identity gate's reads of API keys (:class:`aiclone.auth.identity.KeyStore`).

Auth admits keys but does not import this package; the container hands it these reads. Both are
one prebuilt Core select, run with ``Database.read_row`` outside any transaction: the gate calls
them only when its memory misses, but that is the first request of every key on every instance.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import bindparam, select

from aiclone.apikeys.models import ApiKey
from aiclone.auth.identity import StoredKey
from aiclone.auth.models import User
from aiclone.db import Database

_FIND = (
    select(
        ApiKey.id,
        ApiKey.user_id,
        ApiKey.secret_hash,
        ApiKey.scopes,
        ApiKey.expires_at,
        ApiKey.revoked_at,
        User.email,
        User.role,
        User.is_active,
    )
    .join(User, User.id == ApiKey.user_id)
    .where(ApiKey.public_id == bindparam("public_id", type_=ApiKey.public_id.type))
)
_STANDS = (
    select(ApiKey.expires_at)
    .join(User, User.id == ApiKey.user_id)
    .where(
        ApiKey.id == bindparam("key_id", type_=ApiKey.id.type),
        User.id == bindparam("user_id", type_=User.id.type),
        ApiKey.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


class StoredKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, public_id: str) -> StoredKey | None:
        row = await self.db.read_row(_FIND, {"public_id": public_id})
        return None if row is None else StoredKey(*row)

    async def stands(self, key_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        row = await self.db.read_row(_STANDS, {"key_id": key_id, "user_id": user_id})
        return row is not None and (row[0] is None or row[0] > dt.datetime.now(dt.UTC))
