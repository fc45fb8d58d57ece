"""Point reads on the embedded SQLite database, run on the calling thread.

Behind every authenticated request sits one primary-key lookup. Through SQLAlchemy's async
engine it costs a round trip to aiosqlite's worker thread and the full execution machinery;
SQLite itself answers it in a few microseconds. So :class:`SQLitePointReader` keeps one
read-only, autocommit ``sqlite3`` connection per thread and runs such statements directly:

- SQLAlchemy still writes the SQL: each statement is compiled once for the SQLite dialect, and
  values go in and out through the column types' own bind and result processors, so a row reads
  back exactly as a session would return it (UUIDs, UTC datetimes, booleans).
- In WAL mode a reader never waits for writers, so running on the event loop's thread does not
  block it behind a write. ``query_only`` makes the connection unable to write at all.
- Each read is its own implicit read transaction; the cursor is drained at once, so it never
  holds a WAL snapshot open.

Only indexed single-row lookups belong here. Statements must be built once (module constants);
the compiled forms are remembered in a bounded map.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVarTuple, cast

from sqlalchemy import Select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

# A WAL reader only waits in rare cases (recovery after a crash); never for long on the loop.
BUSY_TIMEOUT_MS = 250
MAX_PREPARED = 256

Processor = Callable[[Any], Any] | None
_Ts = TypeVarTuple("_Ts")


class _Prepared(NamedTuple):
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    bind: tuple[Processor, ...]
    result: tuple[Processor, ...]


class SQLitePointReader:
    def __init__(self, url: str) -> None:
        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("point reads need an SQLite database file")
        self._path = database
        self._dialect = sqlite.dialect(paramstyle="qmark")
        self._prepared: dict[Select[*tuple[Any, ...]], _Prepared] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []

    def first(self, statement: Select[*_Ts], parameters: Mapping[str, Any]) -> tuple[*_Ts] | None:
        prepared = self._prepared.get(statement) or self._prepare(statement)
        values = [
            value if process is None else process(value)
            for process, value in zip(
                prepared.bind,
                (
                    parameters[name] if name in parameters else prepared.defaults[name]
                    for name in prepared.names
                ),
                strict=True,
            )
        ]
        cursor = self._connection().execute(prepared.sql, values)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        processed = tuple(
            value if process is None else process(value)
            for process, value in zip(prepared.result, row, strict=True)
        )
        return cast("tuple[*_Ts]", processed)

    def dispose(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only=ON")
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def _prepare(self, statement: Select[*tuple[Any, ...]]) -> _Prepared:
        dialect = self._dialect
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        binds = compiled.binds
        prepared = _Prepared(
            sql=str(compiled),
            names=names,
            defaults=dict(compiled.params),
            bind=tuple(binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names),
            result=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            ),
        )
        if len(self._prepared) >= MAX_PREPARED:
            self._prepared.clear()
        self._prepared[statement] = prepared
        return prepared
