"""Database plumbing: declarative base, engine construction and sessions.

SQLite is used in WAL mode with foreign keys on. Its transactions that write are opened with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail with
SQLITE_BUSY when another writer got in between, and ``busy_timeout`` does not help in that
case. Taking the write lock up front turns that into a plain wait. Read-only work uses
:meth:`Database.read_session`, which stays deferred and runs beside writers.

Hot point reads (the user lookup behind every authenticated request) use
:meth:`Database.read_row`: one Core statement, no transaction, no ORM. On PostgreSQL that is a
single round trip on an autocommit connection. On SQLite the statement runs synchronously on the
calling thread over a dedicated read-only connection: a primary-key lookup takes a few
microseconds, far less than handing it to aiosqlite's thread and back, and in WAL mode a reader
never waits for writers. Only indexed single-row lookups belong there; anything that can scan
goes through a session.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Row,
    Select,
    TypeDecorator,
    Uuid,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

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

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), uuid.UUID: Uuid()}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def build_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        db_path = url.split(":///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


_Ts = TypeVarTuple("_Ts")


class _SQLitePointReader:
    """One read-only, autocommit SQLite connection per thread, for :meth:`Database.read_row`."""

    # A reader in WAL mode only waits in rare cases (WAL recovery after a crash); never for long.
    BUSY_TIMEOUT_MS = 250

    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(
            make_url(url).set(drivername="sqlite+pysqlite"),
            connect_args={"check_same_thread": False},
        )

        @event.listens_for(self._engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
            cursor.close()

        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Connection] = []

    def first(self, statement: Select[*_Ts], parameters: Mapping[str, Any]) -> Row[*_Ts] | None:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        # first() closes the cursor, which ends SQLite's implicit read transaction.
        return connection.execute(statement, parameters).first()

    def dispose(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            connection.close()
        self._local = threading.local()
        self._engine.dispose()


class Database:
    """Owns the engine and hands out sessions; one per process, built by the app factory."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = build_engine(url, pool_size=pool_size)
        self._write = async_sessionmaker(self.engine, expire_on_commit=False)
        read_engine = (
            self.engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else self.engine
        )
        self._read = async_sessionmaker(read_engine, expire_on_commit=False)
        self._autocommit = (
            None if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        in_memory = make_url(url).database in (None, "", ":memory:")
        self._point_reader = _SQLitePointReader(url) if self.is_sqlite and not in_memory else None

    async def read_row(
        self, statement: Select[*_Ts], parameters: Mapping[str, Any] | None = None
    ) -> Row[*_Ts] | None:
        """The first row of one read-only statement, outside any transaction (see the module doc).

        Build the statement once, with ``bindparam`` placeholders, and pass the values in
        ``parameters``: constructing a select costs more than running it on this path.
        """
        values = parameters or {}
        if self._point_reader is not None:
            return self._point_reader.first(statement, values)
        if self._autocommit is None:  # an in-memory SQLite database has a single connection
            async with self.read_session() as session:
                return (await session.execute(statement, values)).first()
        async with self._autocommit.connect() as connection:
            return (await connection.execute(statement, values)).first()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block exits cleanly, rolled back otherwise."""
        async with self._write() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self._point_reader is not None:
            self._point_reader.dispose()
        await self.engine.dispose()
