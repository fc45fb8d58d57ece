"""The version of what a user's events react to, and the per-process copies it keeps exact.

Every event looks up its user's configuration in its transaction: the automation rules for its
type (:mod:`aiclone.automations.hook`) and the active webhook endpoints
(:mod:`aiclone.webhooks.hook`). Both change rarely and are read on every write, so each hook
keeps the user's last answer in a :class:`VersionedCache`, tagged with the user's
``event_counters.config_version``:

- every transaction that changes a user's rules or endpoints calls :func:`bump_config_version`
  (an upsert of the counter row that adds one to ``config_version``);
- the event statement of :meth:`~aiclone.events.log.EventLog.record`, which locks that row to
  take the next ``seq``, also returns ``config_version``, and the log keeps it in the session
  for the hooks (:func:`seen_version`): knowing the version costs no round trip;
- a hook serves its cached answer when its version is the one the event statement returned, and
  otherwise runs its look-up and stores the answer under that version.

Why the cached answer is the one the look-up would give: the event transaction holds the counter
row's lock from its event statement until it commits. A change cannot commit without its bump,
and the bump waits for that lock, so while the event transaction runs the version does not move;
a look-up made then (READ COMMITTED: a statement after the lock, a fresh snapshot) sees every
change committed with a version up to the one read and none after it. So ``(version, answer)``
holds for every later transaction that reads the same version, in this process or in another
that made it, and a change committed anywhere moves the version every process reads next. Two
cases read around the caches: a transaction that bumped a user's version itself (it sees its own
uncommitted change; :func:`seen_version` is None for that user, and nothing it reads is
stored), and events written without an event statement of their own (the broadcast of
:mod:`aiclone.events.broadcast`), which keep their per-transaction look-ups. A counter row goes
only with its user (erasure, ``ON DELETE CASCADE``), and user ids are never reused, so a version
never starts again from 0 under a cached answer.

Where in its transaction a writer bumps decides only its lock order (both orders are exact):

- rules: before touching a rule row. An event transaction holds the counter and then updates its
  rules' run bookkeeping (``run_count``, ``last_run_at``…), so counter → rule is the order;
- endpoints: right after locking the endpoint row (``FOR NO KEY UPDATE``), before any other row.
  The webhook worker locks a batch's endpoints first and disables one (and notifies its owner, an
  event) while holding them, so endpoint → counter is the order; event transactions take only
  ``KEY SHARE`` locks on endpoint rows (the deliveries' foreign key), which never wait on
  ``NO KEY UPDATE``.

Only configuration is cached: a rule's run bookkeeping changes on every run and is read fresh
where it matters (:mod:`aiclone.automations.runs`), and an endpoint's health counters are not
part of its look-up.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Generic, TypeVar

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

VERSIONS_KEY = "aiclone.events.config_versions"
CHANGED_KEY = "aiclone.events.config_changed"
# Users whose answers one process keeps (per cache): about a kilobyte each for a typical user.
DEFAULT_CACHE_SIZE = 10_000

# A user who does not exist has nothing to bump (the write it goes with finds nothing to change,
# or fails on its own foreign key, as it did before versions existed).
_BUMP = text(
    "INSERT INTO event_counters (user_id, last_seq, config_version)"
    " SELECT :user_id, 0, 1 WHERE EXISTS (SELECT 1 FROM users WHERE users.id = :user_id)"
    " ON CONFLICT (user_id) DO UPDATE SET config_version = event_counters.config_version + 1"
).bindparams(bindparam("user_id", type_=Uuid()))

T = TypeVar("T")


async def bump_config_version(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Mark a change to ``user_id``'s rules or endpoints, in the caller's transaction.

    Creates the counter row if the user has none yet (``last_seq`` 0: the next event is 1). See
    the module's docstring for where in the transaction to call it.
    """
    changed: set[uuid.UUID] = session.info.setdefault(CHANGED_KEY, set())
    changed.add(user_id)
    await session.execute(_BUMP, {"user_id": user_id})


def note_version(session: AsyncSession, user_id: uuid.UUID, version: int) -> None:
    """What the event statement read, for the hooks of the event (called by the event log)."""
    versions: dict[uuid.UUID, int] | None = session.info.get(VERSIONS_KEY)
    if versions is None:
        versions = session.info[VERSIONS_KEY] = {}
    versions[user_id] = version


def seen_version(session: AsyncSession, user_id: uuid.UUID) -> int | None:
    """The user's version as this transaction's event statement locked it, when cached answers
    may be used; None when no event statement read it, or this transaction changed it."""
    if changed_here(session, user_id):
        return None
    versions: dict[uuid.UUID, int] | None = session.info.get(VERSIONS_KEY)
    return None if versions is None else versions.get(user_id)


def changed_here(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether this transaction changed ``user_id``'s rules or endpoints (its own writes count)."""
    changed: set[uuid.UUID] | None = session.info.get(CHANGED_KEY)
    return changed is not None and user_id in changed


class VersionedCache(Generic[T]):
    """One answer per user, valid for one ``config_version``; least recently used go first."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one user")
        self.size = size
        self._entries: OrderedDict[uuid.UUID, tuple[int, T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, user_id: uuid.UUID, version: int) -> T | None:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(user_id)
        return entry[1]

    def put(self, user_id: uuid.UUID, version: int, value: T) -> None:
        self._entries[user_id] = (version, value)
        self._entries.move_to_end(user_id)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
