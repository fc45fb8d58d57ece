"""``GET /api/events``: one user's events as a Server-Sent Events stream, resumable by seq.

The contract a client may rely on (credentials, resume point, filters, refusals, the frames
in order, buffering and reconnects) is ``docs/events.md``; this module keeps it.

How the guarantee is kept
=========================
The stream attaches to the broker *before* it reads the table, remembers the last seq it has
delivered (or skipped by filter), drops live events at or below it, and reads the table for any
gap (a seq jump, an :class:`~aiclone.events.broker.EventRef`, a
:class:`~aiclone.events.broker.Resync`). The table is the truth; the broker is the doorbell.

Per-connection cost is kept small on purpose (thousands of streams per process): one
``__slots__`` object that is itself the broker subscriber, a plain list as its bounded buffer,
one timer handle for heartbeat and expiry, and one small task that waits for the client to go
away. Frames of live events are encoded once per process (:class:`~aiclone.live.frames.FrameCache`).
Database connections are taken only while a replay or backfill batch is read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Protocol

from litestar.types import Message as ASGIMessage
from litestar.types import Receive, Scope, Send

from aiclone.db import Database
from aiclone.events.broker import EventBroker, EventRef, Message, Overflow, Resync
from aiclone.events.log import events_after, latest_seq
from aiclone.events.types import Ephemeral, EventRecord
from aiclone.live.frames import HEARTBEAT, FrameCache, close_frame, event_frame
from aiclone.live.schemas import CloseReason

logger = logging.getLogger("aiclone.live")


class StreamHost(Protocol):
    """What a stream uses of the process-wide hub that holds it (:class:`~aiclone.live.hub.StreamHub`)."""

    db: Database
    broker: EventBroker
    frames: FrameCache
    queue_size: int
    heartbeat_seconds: float
    write_timeout: float
    replay_batch_size: int

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def close(self, stream: EventStream) -> None: ...


def _start_message() -> ASGIMessage:
    # A fresh message per stream: middleware (CORS) appends to the header list in place.
    return {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ],
    }


# Reasons to wake the stream besides new messages (bit flags).
_HEARTBEAT = 1
_DISCONNECTED = 2
_SHUTDOWN = 4
_EXPIRED = 8
_RESYNC = Resync()
WRITE_SLICE = 64 * 1024


class EventStream:
    """One open stream: a broker subscriber with a bounded buffer, and the ASGI app that drains it."""

    __slots__ = (
        "_deadline",
        "_expires_at",
        "_flags",
        "_next_beat",
        "_pending",
        "_send",
        "_sending_since",
        "_task",
        "_timer",
        "_waiter",
        "_watcher",
        "closed",
        "evicted",
        "hub",
        "key_id",
        "last_seq",
        "preamble",
        "replay",
        "session_id",
        "types",
        "user_id",
    )

    def __init__(
        self,
        hub: StreamHost,
        user_id: uuid.UUID,
        *,
        types: frozenset[str] | None,
        expires_at: dt.datetime,
        session_id: uuid.UUID | None = None,
        key_id: uuid.UUID | None = None,
    ) -> None:
        self.hub = hub
        self.user_id: uuid.UUID | None = user_id
        self.session_id = session_id
        self.key_id = key_id
        self.types = types
        self.closed = False
        self.evicted = False
        # The seq up to which this client has everything it asked for.
        self.last_seq = 0
        self.preamble = b""
        # Whether stored events follow the resume point (a fresh connect starts at the present).
        self.replay = False
        self._expires_at = expires_at
        self._pending: list[Message] = []
        self._flags = 0
        self._waiter: asyncio.Future[None] | None = None
        self._send: Send | None = None
        self._sending_since = 0.0
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._next_beat = 0.0
        self._deadline = 0.0

    # --- the broker side (runs inside the broker's dispatch loop: never blocks) ---

    def offer(self, message: Message) -> None:
        if self.closed:
            return
        if len(self._pending) < self.hub.queue_size and not isinstance(message, Overflow):
            self._pending.append(message)
            self._wake()
            return
        # Over the bound: hold nothing more than one marker, whatever happens next.
        if self._sending_since:
            # Writing to this client is blocked: it is the one falling behind. Drop it; it
            # resumes by id from the table.
            self._pending = []
            self.hub.broker.unsubscribe(self)
            self.evict()
        else:
            # A burst (one transaction of many events): read it back from the table instead.
            # Ephemeral messages in the burst are dropped; they are live-only by definition.
            self._pending = [_RESYNC]
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- control, from the hub and the timer ---

    def end(self, *, shutdown: bool = False) -> None:
        if shutdown:
            self._flags |= _SHUTDOWN
            if self._sending_since:
                self.evict()
        self._wake()

    def expire(self) -> None:
        """End the stream as if its credential had expired (its session ended, or the account is gone)."""
        self._flags |= _EXPIRED
        self._wake()

    def evict(self) -> None:
        """Abandon a stream whose client stopped reading (its write is blocked)."""
        if not self.evicted and self._task is not None:
            self.evicted = True
            self._task.cancel()

    def _on_timer(self) -> None:
        loop = self.hub.loop
        now = loop.time()
        if self._sending_since and now - self._sending_since >= self.hub.write_timeout:
            self.evict()
            return
        if now >= self._deadline:
            self._flags |= _EXPIRED
            self._wake()
            return
        if now >= self._next_beat:
            self._flags |= _HEARTBEAT
            self._next_beat = now + self.hub.heartbeat_seconds
            self._wake()
        self._arm(now)

    def _arm(self, now: float) -> None:
        due = min(self._next_beat, self._deadline)
        self._timer = self.hub.loop.call_at(max(due, now), self._on_timer)

    # --- the ASGI side ---

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        self._task = asyncio.current_task()
        self._send = send
        loop = self.hub.loop
        self._watcher = loop.create_task(self._watch_disconnect(receive))
        now = loop.time()
        self._next_beat = now + self.hub.heartbeat_seconds
        self._deadline = now + (self._expires_at - dt.datetime.now(dt.UTC)).total_seconds()
        self._arm(now)
        try:
            await send(_start_message())
            await self._write(self.preamble)
            self.preamble = b""
            reason = await self._run()
            if reason is not None:
                await self._write(close_frame(reason))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            task = self._task
            if not self.evicted or task is None or task.uncancel() > 0:
                raise
            logger.info("event stream of user %s evicted: the client stopped reading", self.user_id)
        finally:
            self._release()

    async def _watch_disconnect(self, receive: Receive) -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except Exception:  # whatever the server raises, the client is gone
            logger.debug("receive failed; treating the client as gone", exc_info=True)
        self._flags |= _DISCONNECTED
        self._wake()

    async def _write(self, body: bytes) -> None:
        assert self._send is not None
        message: ASGIMessage = {"type": "http.response.body", "body": body, "more_body": True}
        self._sending_since = self.hub.loop.time()
        await self._send(message)
        self._sending_since = 0.0

    async def _write_frames(self, frames: Iterable[bytes]) -> None:
        """Write frames in slices of about WRITE_SLICE bytes.

        Each write waits while the server's buffer for this client is full, so a slow client
        holds at most about one slice beyond that buffer, whatever the size of a replay batch.
        """
        pending: list[bytes] = []
        size = 0
        for frame in frames:
            pending.append(frame)
            size += len(frame)
            if size >= WRITE_SLICE:
                await self._write(b"".join(pending))
                pending, size = [], 0
        if pending:
            await self._write(b"".join(pending))

    async def _run(self) -> CloseReason | None:
        try:
            if self.replay:
                await self._backfill()
        except Exception:
            logger.exception("event stream replay failed for user %s", self.user_id)
            return "error"
        while True:
            if not self._pending and not self._flags:
                self._waiter = self.hub.loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            flags = self._flags
            if flags & _DISCONNECTED:
                return None
            if flags & _SHUTDOWN:
                return "shutdown"
            if flags & _EXPIRED:
                return "credential_expired"
            pending, self._pending = self._pending, []
            try:
                await self._deliver(pending)
            except Exception:
                logger.exception("event stream backfill failed for user %s", self.user_id)
                return "error"
            if self._flags & _HEARTBEAT:
                self._flags &= ~_HEARTBEAT
                await self._write(HEARTBEAT)

    async def _deliver(self, pending: Sequence[Message]) -> None:
        """Send what can be sent straight away; read the table once if anything is missing."""
        frames: list[bytes] = []
        gap = False
        for message in pending:
            if isinstance(message, Ephemeral):
                if self.types is None or message.type in self.types:
                    frames.append(self.hub.frames.frame(message))
            elif not gap:
                gap = self._take(message, frames)
        if frames:
            await self._write_frames(frames)
        if gap:
            await self._backfill()

    def _take(self, message: Message, frames: list[bytes]) -> bool:
        """Account one live message in seq order; True when the table must fill a gap."""
        if isinstance(message, Resync | Overflow):
            return True
        if not isinstance(message, EventRecord | EventRef) or message.seq <= self.last_seq:
            return False  # already delivered (or skipped by the filter)
        if message.seq > self.last_seq + 1:
            return True
        wanted = self.types is None or message.type in self.types
        if isinstance(message, EventRef) and wanted:
            return True  # too large for NOTIFY: its data is in the table
        self.last_seq = message.seq
        if wanted and isinstance(message, EventRecord):
            frames.append(self.hub.frames.frame(message))
        return False

    async def _backfill(self) -> None:
        """Send every stored event after ``last_seq``, in batches, a connection per batch."""
        hub = self.hub
        assert self.user_id is not None
        while True:
            async with hub.db.read_session() as session:
                # Read first: every event up to the counter is committed, so once the batches
                # below run dry the client has everything it asked for up to here.
                floor = await latest_seq(session, self.user_id) if self.types is not None else 0
                batch = await events_after(
                    session,
                    self.user_id,
                    self.last_seq,
                    limit=hub.replay_batch_size,
                    types=sorted(self.types) if self.types is not None else (),
                )
            if batch:
                self.last_seq = batch[-1].seq
                await self._write_frames(event_frame(event) for event in batch)
            if len(batch) < hub.replay_batch_size:
                self.last_seq = max(self.last_seq, floor)
                return

    def _release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
        self._watcher = None
        self._pending = []
        self.hub.close(self)
