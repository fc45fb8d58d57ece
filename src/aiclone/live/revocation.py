"""Ending open streams whose credential no longer stands.

A stream is authenticated once, when it opens; it then runs for as long as its credential
lives. When a session ends or an account is deactivated, demoted or deleted, the identity
signal reaches every instance (see :mod:`aiclone.auth.identity`): here, each instance checks
again, from the tables, the streams it holds for that user, and ends those whose session (or,
for a ticket, whose user) no longer stands with ``event: close`` reason ``credential_expired``.
A listener reconnect (``Resync``: signals may have been lost) rechecks every user with a stream.

The listener runs inside the broker's dispatch loop, so it only schedules the check; the checks
of one signal run one after the other, a point read each.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiclone.auth.identity import IdentityGate
from aiclone.events.broker import IdentityChange, Resync
from aiclone.live.hub import StreamHub

logger = logging.getLogger("aiclone.live.revocation")


class StreamRevocation:
    def __init__(self, hub: StreamHub, gate: IdentityGate) -> None:
        self.hub = hub
        self.gate = gate
        self._tasks: set[asyncio.Task[None]] = set()

    def on_signal(self, message: IdentityChange | Resync) -> None:
        if isinstance(message, Resync):
            users = {stream.user_id for stream in self.hub.streams()} - {None}
        elif self.hub.streams_of(message.user_id):
            users = {message.user_id}
        else:
            return
        task = asyncio.get_running_loop().create_task(self._recheck([u for u in users if u is not None]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recheck(self, users: list[uuid.UUID]) -> None:
        for user_id in users:
            for stream in self.hub.streams_of(user_id):
                try:
                    stands = await self.gate.stands(user_id, stream.session_id, key_id=stream.key_id)
                except Exception:  # noqa: BLE001 - the database is unreachable: the next signal retries
                    logger.warning("could not recheck the streams of a user after an identity change")
                    return
                if not stands:
                    stream.expire()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
