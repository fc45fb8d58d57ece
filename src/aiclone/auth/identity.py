"""The identity gate: does the session an access token names still stand, and as which role?

A signature only proves that we issued a token; between issue and expiry its session may have
ended (sign-out, refresh-token reuse, password change) and its user may have been deactivated,
demoted or deleted. So after the codec, every authenticated request asks this gate, which
answers from memory:

* per session id (``sid``), the verdict read from the tables — the user's current role if the
  session is open and the user exists and is active, or "refused";
* a verdict is forgotten when an identity signal for its user arrives
  (:meth:`~aiclone.events.broker.EventBroker.signal_identity`, sent in the transaction that
  ended the session or changed the account, heard by every instance on commit), when the
  listener reconnects (``Resync``: signals may have been lost), and after ``max_age`` seconds;
* while the listener is down the memory is not trusted at all: every request reads the tables.

The first request of a session on an instance, and the first after a change, cost one point
read (user joined with session); every other request costs a dictionary lookup. An instance
that starts has an empty memory, so it is rebuilt from the tables as sessions show up.

On SQLite the product is one process, but the command line (``aiclone users deactivate``)
writes from another one, which the in-process signal cannot reach; ``max_age`` is therefore
short there (half a second), and a verdict read back is one point read on the local file.
On PostgreSQL ``max_age`` only bounds how long a change made behind the service's back (SQL by
hand) goes unnoticed.

A read racing a signal must not store a verdict older than the signal: each read notes the
change counter before it starts and keeps its verdict only if no signal for that user (and no
resync) arrived meanwhile; otherwise it reads again.

API keys (:mod:`aiclone.apikeys`) go through the same gate with the same memory rules, keyed by
the key's public id: the verdict holds the key's scopes, expiry and secret hash with its user's
role, so a repeat request costs a dictionary lookup and one SHA-256 of the presented secret.
Revoking a key, deactivating or deleting its user, or changing the user's role sends the same
identity signal for the user, which drops every verdict of that user's keys. The key rows are
read through a :class:`KeyStore` (``aiclone.apikeys.credentials``, which owns the table) that the
container hands in: auth does not import the package that issues keys.
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, Protocol, TypeVar

import msgspec
from sqlalchemy import bindparam, select

from aiclone.auth import keytext
from aiclone.auth.models import User, UserSession
from aiclone.auth.tokens import Principal
from aiclone.db import Database
from aiclone.errors import Unauthenticated
from aiclone.events.broker import IdentityChange, Resync

ENDED = "The session has ended or the account is no longer active; sign in again."
# Verdicts remembered per process (~200 bytes each); past this the oldest are read again.
CAPACITY = 100_000
# Users whose last change is remembered for racing reads; past this every read in flight retries.
_CHANGE_MEMORY = 10_000
_READ_ATTEMPTS = 3

_VERDICT = (
    select(User.role, User.is_active, UserSession.ended_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.id == bindparam("session_id", type_=UserSession.id.type),
        User.id == bindparam("user_id", type_=User.id.type),
    )
)

INVALID_KEY = "The API key is invalid."
REVOKED_KEY = "The API key has been revoked, or its account is no longer active."
EXPIRED_KEY = "The API key has expired."
# A principal's ``expires_at`` for a key without expiry: a stream it opens ends after this long.
KEY_CREDENTIAL_LIFETIME = dt.timedelta(hours=24)

_USER_ACTIVE = select(User.is_active).where(User.id == bindparam("user_id", type_=User.id.type))


class StoredKey(msgspec.Struct, frozen=True):
    """An API key's row with its user's columns, as the gate judges it."""

    id: uuid.UUID
    user_id: uuid.UUID
    secret_hash: str
    scopes: str  # space-separated
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    email: str
    role: str
    is_active: bool


class KeyStore(Protocol):
    """Point reads of API keys, outside any transaction (on the hot path only on a memory miss)."""

    async def find(self, public_id: str) -> StoredKey | None:
        """The key with this public id, whatever its state; None if there is none."""
        ...

    async def stands(self, key_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Whether this key of this user is unrevoked and unexpired, and its user active, now."""
        ...


class _Verdict(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    role: str | None  # None: refused
    read_at: float


class _KeyVerdict(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    secret_hash: str
    expires_at: dt.datetime | None
    principal: Principal | None  # None: revoked, or the user is gone or inactive
    read_at: float


class _OfUser(Protocol):
    @property
    def user_id(self) -> uuid.UUID: ...


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V", bound=_OfUser)
_T = TypeVar("_T")


class Memory(Generic[_K, _V]):
    """Answers by key, at most ``capacity`` (the oldest go first), indexed by user so that a
    signal forgets all of one user's at once."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._verdicts: dict[_K, _V] = {}
        self._keys_of: dict[uuid.UUID, set[_K]] = {}

    def get(self, key: _K) -> _V | None:
        return self._verdicts.get(key)

    def put(self, key: _K, verdict: _V) -> None:
        if len(self._verdicts) >= self.capacity and key not in self._verdicts:
            oldest = next(iter(self._verdicts))
            evicted = self._verdicts.pop(oldest)
            keys = self._keys_of.get(evicted.user_id)
            if keys is not None:
                keys.discard(oldest)
                if not keys:
                    del self._keys_of[evicted.user_id]
        self._verdicts[key] = verdict
        self._keys_of.setdefault(verdict.user_id, set()).add(key)

    def forget_user(self, user_id: uuid.UUID) -> None:
        for key in self._keys_of.pop(user_id, ()):
            self._verdicts.pop(key, None)

    def clear(self) -> None:
        self._verdicts.clear()
        self._keys_of.clear()


class ChangeWatch:
    """Which users' identity signals arrived since a read began.

    A read racing a signal must not keep an answer older than the signal: :meth:`settle` notes
    the change counter before each read and lets the answer be remembered only if no signal
    for its user (and no resync) arrived meanwhile; otherwise it reads again.
    """

    def __init__(self) -> None:
        self._changes = 0
        self._changed: dict[uuid.UUID, int] = {}
        self._resynced = 0

    def note(self, message: IdentityChange | Resync) -> bool:
        """Count a signal; True when everything remembered must go (a resync)."""
        self._changes += 1
        if isinstance(message, Resync):
            self._resynced = self._changes
            self._changed.clear()
            return True
        if len(self._changed) >= _CHANGE_MEMORY:
            self._changed.clear()
            self._resynced = self._changes
        self._changed[message.user_id] = self._changes
        return False

    async def settle(
        self,
        read: Callable[[], Awaitable[_T | None]],
        user_of: Callable[[_T], uuid.UUID],
        keep: Callable[[_T], None],
    ) -> _T | None:
        """``read()``'s answer, passed to ``keep`` unless a signal for its user (``user_of``)
        raced it. A miss (None) is returned as it is, never remembered."""
        for _ in range(_READ_ATTEMPTS):
            before = self._changes
            answer = await read()
            if answer is None:
                return None
            if self._resynced <= before and self._changed.get(user_of(answer), 0) <= before:
                keep(answer)
                return answer
        return answer  # answered, but not remembered: changes keep arriving for this user


class IdentityGate:
    def __init__(
        self, db: Database, *, keys: KeyStore, max_age: float, listening: Callable[[], bool]
    ) -> None:
        self.db = db
        self.key_store = keys
        self.max_age = max_age
        self._listening = listening
        self._verdicts: Memory[uuid.UUID, _Verdict] = Memory()
        self._keys: Memory[str, _KeyVerdict] = Memory()
        self._watch = ChangeWatch()
        self.reads = 0  # verdicts read from the tables, for tests and benchmarks

    async def admit(self, principal: Principal) -> Principal:
        """The principal with its user's current role, or Unauthenticated."""
        verdict = self._verdicts.get(principal.session_id)
        if (
            verdict is None
            or verdict.user_id != principal.id
            or time.monotonic() - verdict.read_at >= self.max_age
            or not self._listening()
        ):
            verdict = await self._read(principal.session_id, principal.id)
        if verdict.role is None:
            raise Unauthenticated(ENDED)
        if verdict.role != principal.role:
            return msgspec.structs.replace(principal, role=verdict.role)
        return principal

    async def admit_key(self, text: str) -> Principal:
        """The principal of an API key's text (scopes, current role), or Unauthenticated."""
        parts = keytext.parse(text)
        if parts is None:
            raise Unauthenticated(INVALID_KEY)
        verdict = self._keys.get(parts.public_id)
        if verdict is None or time.monotonic() - verdict.read_at >= self.max_age or not self._listening():
            verdict = await self._read_key(parts.public_id)
        # Constant-time: the stored hash is compared whole, whatever the presented secret.
        if verdict is None or not hmac.compare_digest(keytext.hash_secret(parts.secret), verdict.secret_hash):
            raise Unauthenticated(INVALID_KEY)
        if verdict.principal is None:
            raise Unauthenticated(REVOKED_KEY)
        if verdict.expires_at is not None and dt.datetime.now(dt.UTC) >= verdict.expires_at:
            raise Unauthenticated(EXPIRED_KEY)
        return verdict.principal

    async def stands(
        self, user_id: uuid.UUID, session_id: uuid.UUID | None, *, key_id: uuid.UUID | None = None
    ) -> bool:
        """Whether the session or key (or, with neither, the user) still stands, read now."""
        if key_id is not None:
            return await self.key_store.stands(key_id, user_id)
        if session_id is not None:
            return (await self._read(session_id, user_id)).role is not None
        row = await self.db.read_row(_USER_ACTIVE, {"user_id": user_id})
        return row is not None and bool(row[0])

    def on_signal(self, message: IdentityChange | Resync) -> None:
        """Broker listener: forget what a signal makes stale."""
        if self._watch.note(message):
            self._verdicts.clear()
            self._keys.clear()
            return
        assert isinstance(message, IdentityChange)
        self._verdicts.forget_user(message.user_id)
        self._keys.forget_user(message.user_id)

    async def _read_key(self, public_id: str) -> _KeyVerdict | None:
        async def read() -> _KeyVerdict | None:
            self.reads += 1
            key = await self.key_store.find(public_id)
            if key is None:
                return None  # unknown ids are not remembered: memory is for keys that exist
            principal = None
            if key.revoked_at is None and key.is_active:
                principal = Principal(
                    id=key.user_id,
                    email=key.email,
                    role=key.role,
                    expires_at=key.expires_at or dt.datetime.now(dt.UTC) + KEY_CREDENTIAL_LIFETIME,
                    session_id=key.id,
                    scopes=frozenset(key.scopes.split()),
                    key_id=key.id,
                )
            return _KeyVerdict(key.user_id, key.secret_hash, key.expires_at, principal, time.monotonic())

        return await self._watch.settle(
            read, lambda verdict: verdict.user_id, lambda verdict: self._keys.put(public_id, verdict)
        )

    async def _read(self, session_id: uuid.UUID, user_id: uuid.UUID) -> _Verdict:
        async def read() -> _Verdict:
            self.reads += 1
            row = await self.db.read_row(_VERDICT, {"session_id": session_id, "user_id": user_id})
            role = row[0] if row is not None and row[1] and row[2] is None else None
            return _Verdict(user_id, role, time.monotonic())

        verdict = await self._watch.settle(
            read, lambda verdict: verdict.user_id, lambda verdict: self._verdicts.put(session_id, verdict)
        )
        assert verdict is not None  # read() always answers: a refusal is a verdict too
        return verdict
