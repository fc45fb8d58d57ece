"""Live fan-out of committed events to subscribers in this process.

Two implementations of one interface:

* :class:`MemoryBroker` — SQLite / single process: events are handed over after commit.
* :class:`PostgresBroker` — every process LISTENs on one dedicated connection; events reach it
  through the ``pg_notify`` issued inside the writing transaction, so an event committed by any
  instance reaches the subscribers of every instance, and a rolled-back one reaches nobody.

Contract for consumers (SSE streams, workers):

* A subscription has a bounded queue. When it is full the subscription is closed with an
  :class:`Overflow` marker instead of dropping events silently; the consumer resumes from the
  ``events`` table by seq.
* Consumers that keep their own lean buffer (the SSE streams, thousands per process) register
  any object satisfying :class:`Subscriber` with :meth:`EventBroker.attach`; the same rules
  apply to them: bounded, and closed rather than silently lossy.
* Live messages can skip seqs (an event too large for NOTIFY arrives as an :class:`EventRef`; a
  listener reconnect sends :class:`Resync`). Consumers track the last seq they delivered and read
  the table for anything between; the table is the source of truth, the broker is the doorbell.

Identity signals travel the same way on a channel of their own (``aiclone_identity``): a
service that ends sessions or changes an account calls :meth:`EventBroker.signal_identity`
inside its transaction; every instance's identity listeners (the auth gate) hear an
:class:`IdentityChange` once it commits, and a :class:`Resync` when the listener reconnected.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Protocol

import asyncpg
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aiclone.db import after_commit
from aiclone.events.dedicated import DedicatedConnection
from aiclone.events.types import Ephemeral, EventRecord

logger = logging.getLogger("aiclone.events.broker")

NOTIFY_CHANNEL = "aiclone_events"
EPHEMERAL_CHANNEL = "aiclone_ephemeral"
IDENTITY_CHANNEL = "aiclone_identity"


class EventRef(msgspec.Struct, frozen=True):
    """A committed event known only by reference; read it from the table."""

    user_id: uuid.UUID
    seq: int
    type: str


class Resync(msgspec.Struct, frozen=True):
    """Notifications may have been missed (listener reconnected): re-read the table."""


class Overflow(msgspec.Struct, frozen=True):
    """The subscriber fell behind and was closed; resume from the table."""


Message = EventRecord | EventRef | Ephemeral | Resync | Overflow


class IdentityChange(msgspec.Struct, frozen=True):
    """A user's sessions, role or active state changed: forget what you remember of them."""

    user_id: uuid.UUID


IdentityListener = Callable[[IdentityChange | Resync], None]


class Subscriber(Protocol):
    """What the broker needs from a subscriber: whose messages it wants, and a non-blocking offer.

    ``offer`` runs inside the dispatch loop for every subscriber of a user, so it must not block
    or await; a subscriber that cannot keep up closes itself instead of buffering without bound.
    """

    user_id: uuid.UUID | None
    closed: bool

    def offer(self, message: Message) -> None: ...


class Subscription:
    def __init__(self, broker: EventBroker, user_id: uuid.UUID | None, maxsize: int) -> None:
        self.broker = broker
        self.user_id = user_id
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self.closed = False

    def offer(self, message: Message) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.closed = True
            # Free the memory now; the consumer resumes from the table after the marker.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(Overflow())

    async def get(self) -> Message:
        return await self.queue.get()

    def close(self) -> None:
        self.broker.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class EventBroker:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._by_user: dict[uuid.UUID, set[Subscriber]] = defaultdict(set)
        self._all: set[Subscriber] = set()
        self._identity_listeners: list[IdentityListener] = []

    def subscribe(self, user_id: uuid.UUID | None) -> Subscription:
        """Subscribe to one user's messages, or to everyone's with ``None`` (workers)."""
        sub = Subscription(self, user_id, self.queue_size)
        self.attach(sub)
        return sub

    def attach(self, sub: Subscriber) -> None:
        """Register a subscriber; it receives every message dispatched after this call."""
        if sub.user_id is None:
            self._all.add(sub)
        else:
            self._by_user[sub.user_id].add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.closed = True
        if sub.user_id is None:
            self._all.discard(sub)
            return
        subs = self._by_user.get(sub.user_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_user[sub.user_id]

    def subscriber_counts(self) -> dict[uuid.UUID, int]:
        return {user: len(subs) for user, subs in self._by_user.items()}

    def dispatch(self, message: Message) -> None:
        targets: Iterable[Subscriber]
        if isinstance(message, Resync | Overflow):
            targets = [*self._all, *(s for subs in self._by_user.values() for s in subs)]
        else:
            targets = [*self._all, *self._by_user.get(message.user_id, ())]
        for sub in targets:
            sub.offer(message)

    def add_identity_listener(self, listener: IdentityListener) -> None:
        """``listener`` runs in the dispatch loop: it must not block or await."""
        self._identity_listeners.append(listener)

    def dispatch_identity(self, message: IdentityChange | Resync) -> None:
        for listener in self._identity_listeners:
            listener(message)

    @property
    def listening(self) -> bool:
        """Whether signals from other processes reach this one right now."""
        return True

    async def signal_identity(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        """Announce, in the caller's transaction, that ``user_id``'s identity changed.

        Heard by this process right after the commit and by every other one through the
        backbone; a rolled-back transaction announces nothing.
        """
        message = IdentityChange(user_id)

        async def announce() -> None:
            self.dispatch_identity(message)

        after_commit(session, announce)

    async def publish(self, events: list[EventRecord]) -> None:
        """Called after the writing transaction committed."""

    async def publish_ephemeral(self, message: Ephemeral) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class MemoryBroker(EventBroker):
    async def publish(self, events: list[EventRecord]) -> None:
        for event in events:
            self.dispatch(event)

    async def publish_ephemeral(self, message: Ephemeral) -> None:
        self.dispatch(message)


class PostgresBroker(EventBroker):
    """One LISTEN connection per process, reconnected with backoff when lost."""

    def __init__(
        self, engine: AsyncEngine, url: str, *, queue_size: int = 1000, connect_timeout: float = 10.0
    ) -> None:
        super().__init__(queue_size=queue_size)
        self._engine = engine
        self._listener = DedicatedConnection(
            url,
            application_name="aiclone-listener",
            what="event listener",
            logger=logger,
            on_open=self._listen,
            on_reopen=self._resync,
            connect_timeout=connect_timeout,
        )

    @property
    def reconnects(self) -> int:
        return self._listener.reconnects

    async def start(self) -> None:
        # Subscribers made right after start must not miss events: it waits for the first LISTEN.
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    async def _listen(self, conn: asyncpg.Connection) -> bool:
        for channel in (NOTIFY_CHANNEL, EPHEMERAL_CHANNEL, IDENTITY_CHANNEL):
            await conn.add_listener(channel, self._on_notify)
        return True

    def _resync(self) -> None:
        logger.warning("event listener reconnected; subscribers resync from the table")
        self.dispatch(Resync())
        self.dispatch_identity(Resync())

    @property
    def listening(self) -> bool:
        return self._listener.up

    async def signal_identity(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        # Delivered by the server to every listener (this process's too) only on commit.
        await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": IDENTITY_CHANNEL, "p": str(user_id)})
        await super().signal_identity(session, user_id)

    async def publish_ephemeral(self, message: Ephemeral) -> None:
        payload = msgspec.json.encode(message).decode()
        if len(payload) >= 7900:
            logger.warning("ephemeral message too large for NOTIFY; dropped (type=%s)", message.type)
            return
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": EPHEMERAL_CHANNEL, "p": payload})
            await conn.commit()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        try:
            if channel == IDENTITY_CHANNEL:
                self.dispatch_identity(IdentityChange(uuid.UUID(payload)))
                return
            if channel == EPHEMERAL_CHANNEL:
                self.dispatch(msgspec.json.decode(payload, type=Ephemeral))
                return
            raw = msgspec.json.decode(payload)
            if "data" in raw:
                self.dispatch(msgspec.convert(raw, EventRecord))
            else:
                self.dispatch(msgspec.convert(raw, EventRef))
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError):
            logger.exception("undecodable notification on %s", channel)
