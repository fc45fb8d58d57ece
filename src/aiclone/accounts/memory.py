"""``GET /api/auth/me`` from memory: the signed-in user's account, remembered per process.

Every page of the dashboard asks for the account, and it changes rarely, so each process
remembers the answer per user, under the identity gate's rules (:mod:`aiclone.auth.identity`):

* an answer is forgotten when an identity signal for its user arrives. Every change of what
  the answer shows sends one in its own transaction: a name, a requested, cancelled or confirmed
  address change, a confirmed address (:meth:`~aiclone.auth.sessions.SessionRevoker.announce`);
  and role, active state, erasure and password changes already do (``end_all``);
* a pending address change is shown until its link expires, so an answer that shows one is read
  again once that moment has passed;
* everything is forgotten when the listener reconnects, nothing is trusted while it is down,
  and an answer is read again after ``max_age`` seconds (half a second on SQLite, where the
  command line writes from another process that no signal reaches);
* a read racing a signal for its user is not remembered (:class:`~aiclone.auth.identity.ChangeWatch`).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import bindparam, select

from aiclone.accounts.models import AccountToken, TokenPurpose
from aiclone.accounts.schemas import AccountRead
from aiclone.auth.identity import ChangeWatch, Memory
from aiclone.auth.models import User
from aiclone.auth.users import USER_READ_COLUMNS
from aiclone.db import Database, utcnow
from aiclone.events.broker import IdentityChange, Resync

# Accounts remembered per process (~600 bytes each, about 12 MB in all); past this the oldest
# are read again.
CAPACITY = 20_000


def _pending(column: Any) -> Any:
    """``column`` of the user's newest live address-change token (correlated to ``User``)."""
    return (
        select(column)
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


# One prebuilt Core select: the AccountRead fields in order, then the pending change's expiry.
_ACCOUNT_READ_BY_ID = select(
    *USER_READ_COLUMNS,
    User.email_verified_at.is_not(None),
    _pending(AccountToken.email),
    _pending(AccountToken.expires_at),
).where(User.id == bindparam("user_id", type_=User.id.type))


class _Remembered(msgspec.Struct, frozen=True, gc=False):
    user_id: uuid.UUID
    account: AccountRead
    read_at: float
    until: dt.datetime | None  # when the pending address change shown expires


class AccountMemory:
    """The account as ``GET /api/auth/me`` answers it, read from the tables on a miss."""

    def __init__(self, db: Database, *, max_age: float, listening: Callable[[], bool]) -> None:
        self.db = db
        self.max_age = max_age
        self._listening = listening
        self._memory: Memory[uuid.UUID, _Remembered] = Memory(CAPACITY)
        self._watch = ChangeWatch()
        self.reads = 0  # answers read from the tables, for tests and benchmarks

    async def get(self, user_id: uuid.UUID) -> AccountRead | None:
        """The user's account, or None when there is no such user."""
        known = self._memory.get(user_id)
        if (
            known is not None
            and time.monotonic() - known.read_at < self.max_age
            and (known.until is None or utcnow() < known.until)
            and self._listening()
        ):
            return known.account
        found = await self._watch.settle(
            lambda: self._read(user_id),
            lambda remembered: remembered.user_id,
            lambda remembered: self._memory.put(user_id, remembered),
        )
        if found is None:
            self._memory.forget_user(user_id)  # gone: its last answer is never served again anyway
            return None
        return found.account

    def on_signal(self, message: IdentityChange | Resync) -> None:
        """Broker listener: forget what a signal makes stale."""
        if self._watch.note(message):
            self._memory.clear()
        else:
            assert isinstance(message, IdentityChange)
            self._memory.forget_user(message.user_id)

    async def _read(self, user_id: uuid.UUID) -> _Remembered | None:
        self.reads += 1
        row = await self.db.read_row(_ACCOUNT_READ_BY_ID, {"user_id": user_id, "now": utcnow()})
        if row is None:
            return None  # unknown users are not remembered: memory is for accounts that exist
        *fields, until = row
        return _Remembered(user_id, AccountRead(*fields), time.monotonic(), until)
