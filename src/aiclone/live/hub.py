"""This process's open event streams: per-user counts, shutdown, and presence in the database.

Presence is how instances know about each other's streams (for the per-user cap and the admin
status). Each instance keeps one ``stream_instances`` row with a heartbeat and one
``stream_presence`` row per user it holds streams for. Counts are written when they change
(batched, a fraction of a second later) rather than on every connect, so opening a stream costs
no write; an instance whose heartbeat is older than three intervals is treated as gone, and the
next instance to notice deletes its rows.

A crash must not hold its users' slots that long: their clients reconnect to another instance at
once, and the cap would refuse them. On PostgreSQL each instance also holds a liveness lock
(:mod:`aiclone.live.liveness`), released by the database the moment the process dies. A refusal is
decided only after counting, among the other instances, just those that still hold their lock;
every heartbeat also deletes the rows of instances that lost it. So after a ``kill -9`` the
crashed instance's streams stop counting within moments, while the cap keeps counting every
stream of every live instance. The alternatives were weaker: a shorter expiry costs a write per
instance every second or two and still waits for it; letting a reconnect that carries a
``Last-Event-ID`` take a slot lets any client that sends the header open streams without limit.
The cheap heartbeat count still decides every admission that is under the cap; the lock is looked
up (``pg_locks``) only when that count would refuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
import uuid

from aiclone.db import Database, utcnow
from aiclone.events.broker import EventBroker
from aiclone.live.frames import FrameCache
from aiclone.live.liveness import LivenessLock
from aiclone.live.repository import PresenceRepository
from aiclone.live.stream import EventStream
from aiclone.settings import LiveSettings

logger = logging.getLogger("aiclone.live")

STALE_AFTER_BEATS = 3
_FLUSH_DELAY = 0.1


def new_instance_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


class StreamHub:
    def __init__(
        self, db: Database, broker: EventBroker, settings: LiveSettings, *, connect_timeout: float
    ) -> None:
        self.db = db
        self.broker = broker
        self.instance_id = new_instance_id()
        self.frames = FrameCache()
        self.queue_size = settings.queue_size
        self.heartbeat_seconds = settings.heartbeat_seconds
        self.write_timeout = settings.write_timeout_seconds
        self.replay_batch_size = settings.replay_batch_size
        self.max_streams_per_user = settings.max_streams_per_user
        self.presence_seconds = settings.presence_seconds
        self.stopping = False
        # Other live instances, as of the last heartbeat: the cap only asks the database when
        # streams elsewhere are possible.
        self.peers = 0
        # Reads that run on every connect: a plain connection, deferred on SQLite (no write lock).
        self.read_engine = db.engine.execution_options(sqlite_begin="DEFERRED") if db.is_sqlite else db.engine
        # One process on SQLite: nobody else's streams to count out.
        self.liveness = (
            None if db.is_sqlite else LivenessLock(db.url, self.instance_id, connect_timeout=connect_timeout)
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: set[EventStream] = set()
        self._counts: dict[uuid.UUID, int] = {}
        self._dirty: set[uuid.UUID] = set()
        self._dirty_event = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._drained = asyncio.Event()
        self._drained.set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    # --- streams of this process ---

    def register(self, stream: EventStream) -> bool:
        """Count the stream and attach it to the broker; False when this process alone hits the cap.

        No await between the check and the increment, so concurrent opens cannot both pass.
        """
        user_id = stream.user_id
        assert user_id is not None
        count = self._counts.get(user_id, 0)
        if count >= self.max_streams_per_user:
            return False
        self._counts[user_id] = count + 1
        self._mark(user_id)
        self._streams.add(stream)
        self._drained.clear()
        self.broker.attach(stream)
        return True

    def close(self, stream: EventStream) -> None:
        """Forget a stream (idempotent): detach it and uncount it."""
        if stream not in self._streams:
            return
        self._streams.discard(stream)
        if not self._streams:
            self._drained.set()
        self.broker.unsubscribe(stream)
        user_id = stream.user_id
        assert user_id is not None
        remaining = self._counts.get(user_id, 1) - 1
        if remaining > 0:
            self._counts[user_id] = remaining
        else:
            self._counts.pop(user_id, None)
        self._mark(user_id)

    def local_streams(self, user_id: uuid.UUID) -> int:
        return self._counts.get(user_id, 0)

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def shutdown(self) -> None:
        """End every stream now (the server is stopping); new ones are refused from here on."""
        if not self.stopping:
            logger.info("closing %d event streams for shutdown", len(self._streams))
        self.stopping = True
        for stream in list(self._streams):
            stream.end(shutdown=True)

    def streams(self) -> list[EventStream]:
        return list(self._streams)

    def streams_of(self, user_id: uuid.UUID) -> list[EventStream]:
        return [stream for stream in self._streams if stream.user_id == user_id]

    def end_user_streams(self, user_id: uuid.UUID) -> int:
        """End this process's streams of one user (the account is gone); returns how many.

        Each ends with ``event: close`` reason ``credential_expired``: reconnecting needs a new
        credential, which a deleted account cannot get.
        """
        ended = 0
        for stream in list(self._streams):
            if stream.user_id == user_id:
                stream.expire()
                ended += 1
        return ended

    # --- lifecycle ---

    async def start(self) -> None:
        self.stopping = False
        self._loop = asyncio.get_running_loop()
        if self.liveness is not None:
            await self.liveness.start()
        try:
            await self._heartbeat()
        except Exception:
            logger.exception("could not register this instance's stream presence; retrying in the background")
        self._task = asyncio.create_task(self._maintain_presence(), name="aiclone-stream-presence")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        self.shutdown()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout=grace_seconds)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with self.db.session() as session:
                await PresenceRepository(session).remove_instance(self.instance_id)
        except Exception:
            logger.exception("could not remove this instance's stream presence; it expires by itself")
        if self.liveness is not None:
            await self.liveness.stop()

    # --- presence ---

    def fresh_since(self) -> dt.datetime:
        return utcnow() - dt.timedelta(seconds=self.presence_seconds * STALE_AFTER_BEATS)

    def _mark(self, user_id: uuid.UUID) -> None:
        self._dirty.add(user_id)
        self._dirty_event.set()

    async def flush(self) -> None:
        """Write the changed per-user counts of this instance."""
        async with self._flush_lock:
            if not self._dirty:
                return
            dirty, self._dirty = self._dirty, set()
            counts = {user_id: self._counts.get(user_id, 0) for user_id in dirty}
            try:
                async with self.db.session() as session:
                    await PresenceRepository(session).write(self.instance_id, counts)
            except BaseException:
                self._dirty |= dirty
                raise

    async def _heartbeat(self) -> None:
        now = utcnow()
        async with self.db.session() as session:
            presence = PresenceRepository(session)
            known = await presence.heartbeat(self.instance_id, now)
            stale = now - dt.timedelta(seconds=self.presence_seconds * STALE_AFTER_BEATS)
            await presence.prune_instances(
                stale, unlocked_except=self.instance_id if self.liveness is not None else None
            )
            self.peers = await presence.peers(self.instance_id, fresh_since=stale)
        if not known:
            # First beat, or our rows were pruned while we were unreachable: write every count.
            self._dirty |= set(self._counts)

    async def _maintain_presence(self) -> None:
        next_beat = self.loop.time() + self.presence_seconds
        while True:
            try:
                if self.loop.time() >= next_beat:
                    next_beat = self.loop.time() + self.presence_seconds
                    await self._heartbeat()
                if self._dirty:
                    await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("stream presence update failed; retrying", exc_info=True)
                await asyncio.sleep(min(1.0, self.presence_seconds))
            self._dirty_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._dirty_event.wait(), timeout=max(0.0, next_beat - self.loop.time())
                )
            # Let a burst of connects or disconnects settle into one write.
            await asyncio.sleep(_FLUSH_DELAY)
