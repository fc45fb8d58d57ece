"""Readiness: can this process serve requests that touch the database?

Ready means the database answers within a bounded time and its schema is at the migration
heads this code was built for. A server that is up but behind on migrations is not ready, so a
load balancer keeps traffic away until ``aiclone db upgrade`` has run.
"""

from __future__ import annotations

import logging

import anyio
import msgspec
from sqlalchemy import text

from aiclone.db import Database
from aiclone.health.schemas import DatabaseState, SchemaState
from aiclone.migrate import current_revisions

logger = logging.getLogger("aiclone.health")

# A readiness probe that hangs is worse than one that fails: probes have their own timeouts.
READY_TIMEOUT_SECONDS = 5.0


class ReadinessReport(msgspec.Struct, frozen=True):
    ready: bool
    database: DatabaseState
    schema: SchemaState
    detail: str


class HealthService:
    def __init__(self, db: Database, heads: set[str], *, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        self.db = db
        self.heads = heads
        self.timeout = timeout

    async def readiness(self) -> ReadinessReport:
        try:
            with anyio.fail_after(self.timeout):
                # A read transaction: on SQLite it must not queue behind writers for the lock.
                async with self.db.read_session() as session:
                    conn = await session.connection()
                    await conn.execute(text("SELECT 1"))
                    applied = await conn.run_sync(current_revisions)
        except TimeoutError:
            return ReadinessReport(
                ready=False,
                database="unreachable",
                schema="unknown",
                detail=f"The database did not answer within {self.timeout:g} s.",
            )
        except Exception as exc:  # noqa: BLE001 - any failure here means "not ready"
            # The driver's message may name hosts or users: it goes to the log, not the response.
            logger.warning("readiness check failed: %s: %s", type(exc).__name__, exc)
            return ReadinessReport(
                ready=False, database="unreachable", schema="unknown", detail="The database is unreachable."
            )
        if applied != self.heads:
            expected = ", ".join(sorted(self.heads))
            if applied:
                detail = (
                    f"The database schema is at {', '.join(sorted(applied))}, expected {expected};"
                    " run `aiclone db upgrade`."
                )
            else:
                detail = f"The database has no schema (expected {expected}); run `aiclone db upgrade`."
            return ReadinessReport(
                ready=False, database="ok", schema="behind" if applied else "empty", detail=detail
            )
        return ReadinessReport(ready=True, database="ok", schema="head", detail="")
