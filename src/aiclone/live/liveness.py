"""Whether a serving instance is alive, as PostgreSQL sees it: a lock held by its own session.

Presence rows (see :mod:`aiclone.live.hub`) carry a heartbeat written every
``AICLONE_SSE_PRESENCE_SECONDS`` (10 s by default), and an instance is declared gone only after
three missed beats. Left at that, a crashed instance's streams keep counting toward their users'
cap for up to 30 s, and the cap refuses exactly the reconnects the crash caused.

A process that dies, even by ``kill -9``, has its sockets closed by the kernel; PostgreSQL then
ends its sessions and releases their locks at once. So each instance holds a session-level
advisory lock, keyed by its instance id, on a connection of its own for as long as it lives.
"Its lock is held" (a look at ``pg_locks``) turns false within moments of a crash. The key is
``(LOCK_NAMESPACE, hashtext(instance_id))``, computed by the server on both sides, so holder and
checkers agree without sharing code. A hash collision between two live instances (odds of
2^-32 per pair) leaves the second without the lock; its streams are then counted by heartbeat
alone for the refusal decision, which only errs on the side of admitting.

A host that vanishes without closing its sockets (power loss, partition) is noticed through the
TCP keepalives set on this session (~15 s); the heartbeat expiry remains the backstop. While this
connection is down (the database restarts), the lock is re-taken with backoff; meanwhile other
instances do not count this one's streams, so the cap may be overshot for that moment.
"""

from __future__ import annotations

import logging

import asyncpg
from sqlalchemy import (
    Boolean,
    ColumnElement,
    ColumnExpressionArgument,
    Integer,
    cast,
    column,
    exists,
    func,
    literal,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import OID

from aiclone.events.dedicated import DedicatedConnection

logger = logging.getLogger("aiclone.live")

# The first key of every presence lock ("AIC1"): keeps them apart from other advisory locks.
LOCK_NAMESPACE = 0x41494331
# The server probes this session so a silently vanished host releases its lock within ~15 s.
_KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "5"}

_pg_locks = table(
    "pg_locks",
    column("locktype"),
    column("classid", OID),
    column("objid", OID),
    column("objsubid", Integer),
    column("granted", Boolean),
)


def lock_held(instance_id: ColumnExpressionArgument[str]) -> ColumnElement[bool]:
    """SQL: the instance whose id is ``instance_id`` holds its liveness lock (PostgreSQL only)."""
    return exists(
        select(literal(1))
        .select_from(_pg_locks)
        .where(
            _pg_locks.c.locktype == "advisory",
            _pg_locks.c.classid == cast(literal(LOCK_NAMESPACE), OID),
            _pg_locks.c.objid == cast(func.hashtext(instance_id), OID),
            _pg_locks.c.objsubid == 2,  # the two-key form of pg_advisory_lock
            _pg_locks.c.granted.is_(True),
        )
    )


class LivenessLock:
    """Holds this instance's liveness lock on a dedicated connection, re-taken when lost."""

    def __init__(self, url: str, instance_id: str, *, connect_timeout: float = 10.0) -> None:
        self.instance_id = instance_id
        self._connection = DedicatedConnection(
            url,
            application_name="aiclone-liveness",
            what="liveness lock",
            logger=logger,
            on_open=self._take,
            connect_timeout=connect_timeout,
            server_settings=_KEEPALIVES,
        )

    @property
    def held(self) -> bool:
        return self._connection.up

    async def start(self) -> None:
        # Taken before this instance's first heartbeat, so nobody sees the row unlocked.
        await self._connection.start()

    async def stop(self) -> None:
        """Release the lock (closing the session does it)."""
        await self._connection.stop()

    async def _take(self, conn: asyncpg.Connection) -> bool:
        taken = bool(
            await conn.fetchval(
                "SELECT pg_try_advisory_lock($1::int4, hashtext($2::text))", LOCK_NAMESPACE, self.instance_id
            )
        )
        if not taken:
            logger.warning("liveness lock of instance %s is taken by another session", self.instance_id)
        return taken
