"""Database plumbing: declarative base, engine construction and sessions.

SQLite is used in WAL mode with foreign keys on. Its transactions that write are opened with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail with
SQLITE_BUSY when another writer got in between, and ``busy_timeout`` does not help in that
case. Taking the write lock up front turns that into a plain wait. Read-only work uses
:meth:`Database.read_session`, which stays deferred and runs beside writers.

SQLite has one writer at a time, and its busy handler waits for the lock by sleeping and
polling (with sleeps growing to 100 ms), in no particular order: under 16 concurrent writers a
create's p99 was seconds while its p50 was milliseconds. So the write sessions of one process
queue on an in-process lock (:class:`WriterQueue`, first come first served) before they open
their transaction; ``BEGIN IMMEDIATE`` then waits only on other processes (the command line,
a second server), where ``busy_timeout`` still applies. The wait for the in-process lock is
bounded by the same statement timeout and then ends in a 503, as a busy database does.

Hot point reads (the user lookup behind every authenticated request) use
:meth:`Database.read_row`: one Core statement, no transaction, no ORM. On PostgreSQL that is a
single round trip on an autocommit connection; on SQLite it runs on the calling thread (see
aiclone.sqlite_reader). Only indexed single-row lookups belong there; anything that can scan
goes through a session.

PostgreSQL connections are pinged only after sitting idle in the pool (:data:`IDLE_PING_SECONDS`):
``pool_pre_ping`` would cost three round trips per checkout on asyncpg (bench/README.md). A
connection that breaks in use is still detected by the driver, which invalidates the pool.

Every wait on the database is bounded (see also aiclone.db_outage): connecting
(``connect_timeout``), checking a connection out of the pool (``pool_timeout``) and each
statement (``statement_timeout``). On PostgreSQL a statement is bounded twice: the server's
``statement_timeout`` cancels a slow query cleanly, and asyncpg's client-side
``command_timeout`` (a little longer) also bounds a network that stopped carrying bytes. On
SQLite the statement bound is the busy timeout: how long a writer waits for the write lock.
The bound is per statement: an export on a server-side cursor fetches batch by batch, each
fetch bounded, so a long download is fine while a stalled one ends. The LISTEN connection of
aiclone.events.broker has no command timeout (it sits idle by design) and probes itself.
Past a bound, or when the database cannot be reached, the session helpers raise
:class:`~aiclone.errors.DatabaseUnavailable` (a 503 with ``Retry-After``) and the outage is
logged once by :class:`~aiclone.db_outage.OutageTracker`.

JSON columns are encoded and decoded with msgspec (faster than json on the rows of lists).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypedDict, TypeVarTuple, Unpack, cast

import msgspec
from sqlalchemy import DateTime, ForeignKey, MetaData, Select, TypeDecorator, Uuid, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

from aiclone.db_outage import RETRY_AFTER_SECONDS, OutageTracker, is_database_outage
from aiclone.driver import DriverStatement
from aiclone.errors import DatabaseUnavailable
from aiclone.sqlite_reader import SQLitePointReader
from aiclone.sqlite_writers import WriterQueue

logger = logging.getLogger("aiclone.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # asyncpg returns timestamptz values as aware UTC datetimes already: skipping the
        # per-value conversion call matters on the hot path of lists (three per row).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is dt.UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), uuid.UUID: Uuid()}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class OwnedByUser:
    """A row of one user's: it goes with the user (``ON DELETE CASCADE``)."""

    # First in the table, where each table declared it before: the account export lists a
    # table's columns in their order.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), sort_order=-1)


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


IDLE_PING_SECONDS = 10.0
_IDLE_SINCE = "aiclone.idle_since"


def _json_dumps(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# The client-side bound waits this much longer than the server's, so a slow query is cancelled
# by the server (the connection stays usable) and only a silent network hits the client bound.
COMMAND_TIMEOUT_MARGIN_SECONDS = 1.0


class EngineOptions(TypedDict, total=False):
    """The keywords of :func:`build_engine` after the URL (its defaults apply to those left out)."""

    pool_size: int
    connect_timeout: float
    pool_timeout: float
    statement_timeout: float


def build_engine(
    url: str,
    *,
    pool_size: int = 10,
    connect_timeout: float = 10.0,
    pool_timeout: float = 10.0,
    statement_timeout: float = 15.0,
) -> AsyncEngine:
    # hide_parameters: a statement error never carries the bound values (hashes, tokens) to a log.
    json_codec: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": msgspec.json.decode,
        "hide_parameters": True,
    }
    if url.startswith("sqlite"):
        db_path = url.split(":///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": statement_timeout}, **json_codec)
        _configure_sqlite(engine, busy_timeout_ms=int(statement_timeout * 1000))
        return engine
    # A fixed pool: under a burst, waiting a moment for a free connection costs far less than
    # opening (and, with overflow, closing again) a new one for each extra request. Connections
    # are pinged only after sitting idle (see the module docstring); pool_recycle retires them
    # before server-side idle timeouts.
    # connect_timeout bounds a server that accepts the connection and then says nothing (asyncpg
    # would wait 60 s), so requests, workers and shutdown are not held up that long.
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        connect_args={
            "timeout": connect_timeout,
            "command_timeout": statement_timeout + COMMAND_TIMEOUT_MARGIN_SECONDS,
            "server_settings": {"statement_timeout": str(max(1, int(statement_timeout * 1000)))},
        },
        **json_codec,
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError("idle connection failed its ping") from exc


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _track_successes(engine: AsyncEngine, outages: OutageTracker) -> None:
    # A statement that completed ends an outage. Cheap when there is none: one attribute test.
    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after_execute(*_args: Any) -> None:
        if outages.down_since is not None:
            outages.succeeded()


AFTER_COMMIT_KEY = "aiclone.after_commit"
BEFORE_COMMIT_KEY = "aiclone.before_commit"


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` after this session's transaction commits (only via Database.session)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def before_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` as the last work of this session's transaction, once its block exited
    cleanly and just before the commit (only via Database.session). A failure rolls back."""
    session.info.setdefault(BEFORE_COMMIT_KEY, []).append(callback)


async def _run_before_commit(session: AsyncSession) -> None:
    callbacks = session.info.pop(BEFORE_COMMIT_KEY, None)
    while callbacks:  # a callback may register another
        for callback in callbacks:
            await callback()
        callbacks = session.info.pop(BEFORE_COMMIT_KEY, None)


_Ts = TypeVarTuple("_Ts")


# Point reads (the identity gate's verdict on every request, ``me``) run on the driver
# (aiclone.driver); each statement is compiled once, on its first read.
_DRIVER_STATEMENTS: dict[int, DriverStatement] = {}


def _on_driver(statement: Select[*tuple[Any, ...]]) -> DriverStatement:
    found = _DRIVER_STATEMENTS.get(id(statement))
    if found is None or found.statement is not statement:
        if len(_DRIVER_STATEMENTS) >= 256:  # statements built per call (not meant for this path)
            _DRIVER_STATEMENTS.clear()
        found = _DRIVER_STATEMENTS[id(statement)] = DriverStatement(statement)
    return found


class Database:
    """Owns the engine and hands out sessions; one per process, built by the app factory."""

    def __init__(self, url: str, **options: Unpack[EngineOptions]) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._writers = WriterQueue(options.get("statement_timeout", 15.0)) if self.is_sqlite else None
        self.engine = build_engine(url, **options)
        self.outages = OutageTracker("sqlite" if self.is_sqlite else "postgresql")
        _track_successes(self.engine, self.outages)
        self._write = async_sessionmaker(self.engine, expire_on_commit=False)
        read_engine = (
            self.engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else self.engine
        )
        self._read = async_sessionmaker(read_engine, expire_on_commit=False)
        self._autocommit = (
            None if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        in_memory = make_url(url).database in (None, "", ":memory:")
        self._point_reader = SQLitePointReader(url) if self.is_sqlite and not in_memory else None
        # Single-statement reads need no transaction: on PostgreSQL, autocommit saves the
        # BEGIN and ROLLBACK round trips; SQLite keeps its cheap deferred transaction.
        self._statement_engine = (
            read_engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    async def read_row(
        self, statement: Select[*_Ts], parameters: Mapping[str, Any] | None = None
    ) -> tuple[*_Ts] | None:
        """The first row of one read-only statement, outside any transaction (see the module doc).

        Build the statement once, with ``bindparam`` placeholders, and pass the values in
        ``parameters``: constructing a select costs more than running it on this path.
        """
        values = parameters or {}
        if self._point_reader is not None:
            try:
                found = self._point_reader.first(statement, values)
            except Exception as exc:
                raise self._unavailable(exc) from exc
            self.outages.succeeded()
            return found
        if self._autocommit is None:  # an in-memory SQLite database has a single connection
            async with self.read_session() as session:
                row = (await session.execute(statement, values)).first()
        else:
            async with self._outage_guard(), self._autocommit.connect() as connection:
                rows = await _on_driver(statement).rows(connection, values)
            return cast("tuple[*_Ts]", tuple(rows[0])) if rows else None
        return None if row is None else cast("tuple[*_Ts]", tuple(row))

    def _unavailable(self, exc: BaseException) -> BaseException:
        """``exc`` itself, or DatabaseUnavailable when it means an outage (recorded once)."""
        if not is_database_outage(exc):
            return exc
        self.outages.failed(exc)
        return DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS)

    @asynccontextmanager
    async def _outage_guard(self) -> AsyncIterator[None]:
        try:
            yield
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            translated = self._unavailable(exc)
            if translated is exc:
                raise
            raise translated from exc

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block exits cleanly, rolled back otherwise.

        Callbacks registered with :func:`before_commit` run last inside the transaction (a failure
        rolls it back); those registered with :func:`after_commit` run once the commit succeeded
        (never after a rollback), and their failures are logged, since the data is already committed.
        """
        if self._writers is None:
            async with self._outage_guard(), self._write() as session, session.begin():
                yield session
                await _run_before_commit(session)
        else:
            async with self._writers.turn(), self._outage_guard(), self._write() as session, session.begin():
                yield session
                await _run_before_commit(session)
        for callback in session.info.pop(AFTER_COMMIT_KEY, []):
            try:
                await callback()
            except Exception:
                logger.exception("after-commit callback failed")

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        async with self._outage_guard(), self._read() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection for hot read paths: one SELECT, Core statements, no ORM session.

        Each statement sees its own snapshot (no transaction spans them on PostgreSQL), so use
        it for a single query, such as one page of a list.
        """
        async with self._outage_guard(), self._statement_engine.connect() as connection:
            yield connection

    async def dispose(self) -> None:
        if self._point_reader is not None:
            self._point_reader.dispose()
        await self.engine.dispose()
