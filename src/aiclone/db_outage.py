"""Telling a database outage from a bug, and reporting each outage once.

An outage is anything that says "the database cannot be reached or did not answer in time":
a refused or reset connection, a connect, pool-checkout or statement timeout, a connection
invalidated under us, PostgreSQL shutting down or out of connection slots, SQLite's write lock
still held past its busy timeout. A constraint violation, a syntax error, a missing table or a
bad value is NOT an outage: those stay errors of ours (409, 422 or a logged 500).

:class:`OutageTracker` turns the stream of failures and successes into two log lines per
outage (one when it starts, one when it ends, with its duration), a counter of outages and a
gauge of availability. Requests in between answer 503 ``database-unavailable`` with
``Retry-After`` and log nothing more, so an outage no longer writes a traceback per request.
The tracker only flips state under the GIL from synchronous code, so it needs no lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

import asyncpg
from sqlalchemy import exc as sa_exc

logger = logging.getLogger("aiclone.db")

# What a client is told to wait before retrying during an outage.
RETRY_AFTER_SECONDS = 5

_PG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.PostgresConnectionError,  # 08xxx and "connection does not exist"
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
_NOT_OUTAGES: tuple[type[BaseException], ...] = (
    sa_exc.IntegrityError,
    sa_exc.ProgrammingError,
    sa_exc.DataError,
    sa_exc.NotSupportedError,
    asyncpg.exceptions.IntegrityConstraintViolationError,
    asyncpg.exceptions.SyntaxOrAccessError,
    asyncpg.exceptions.DataError,
)
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def _is_outage_cause(exc: BaseException) -> bool:
    if isinstance(exc, _NOT_OUTAGES):
        return False
    if (
        isinstance(exc, (sa_exc.TimeoutError, *_PG_OUTAGES))  # TimeoutError: no pooled connection in time
        or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
    ):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        return "connection is closed" in str(exc) or "connection was closed" in str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).startswith(_SQLITE_BUSY)
    # ConnectionRefusedError, ConnectionResetError, socket errors, connect/command timeouts.
    return isinstance(exc, OSError | TimeoutError)


def is_database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) means the database is unreachable or too slow."""
    seen: BaseException | None = exc
    for _ in range(6):  # SQLAlchemy wraps the adapter's error, which wraps the driver's
        if seen is None:
            return False
        if isinstance(seen, _NOT_OUTAGES):
            return False
        if _is_outage_cause(seen):
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else (seen.__cause__ or seen.__context__)
    return False


class OutageTracker:
    """Availability of one database as seen by this process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.down_since: float | None = None
        self._on_change: list[Callable[[bool], None]] = []

    @property
    def available(self) -> bool:
        return self.down_since is None

    def on_change(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(available)`` at every start and end of an outage (metrics)."""
        self._on_change.append(callback)

    def failed(self, exc: BaseException) -> None:
        if self.down_since is not None:
            return
        self.down_since = time.monotonic()
        # The exception's class only: a driver message can name hosts, users or SQL.
        logger.warning("database unavailable (%s): %s; requests answer 503", self.name, type(exc).__name__)
        for callback in self._on_change:
            callback(False)

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        lasted = time.monotonic() - self.down_since
        self.down_since = None
        logger.warning("database available again (%s) after %.1f s", self.name, lasted)
        for callback in self._on_change:
            callback(True)
