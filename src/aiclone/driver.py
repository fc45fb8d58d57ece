"""Write-path statements run on the database driver, underneath the session's transaction.

Every change records its event, its feed line, its counters and its look-ups in the caller's
transaction: ten statements for one ``POST /api/prospects``, each of them small. Through
SQLAlchemy each costs about 100 µs of CPU more than the same statement on the asyncpg
connection (bench/README.md, "Write path"), several times the database's own work. A
:class:`DriverStatement` is compiled once for PostgreSQL (the SQL with its ``$n`` parameters,
their order and each one's bind processor, so values are encoded exactly as SQLAlchemy encodes
them) and then runs straight on asyncpg, on the connection and inside the transaction of the
session that SQLAlchemy manages: it begins that transaction if no statement has yet, takes the
adapter's lock as SQLAlchemy's own cursor does, and turns a driver error into the
``sqlalchemy.exc`` error SQLAlchemy would have raised (``IntegrityError`` for a unique index,
say), with the parameters hidden. Savepoints, commit and rollback stay SQLAlchemy's.

On SQLite a statement runs through SQLAlchemy as before: there the cost is aiosqlite's hop to its
thread, which this would not remove.

It reaches into SQLAlchemy's asyncpg adapter (``_execute_mutex``, ``_transaction``,
``_start_transaction``, ``_connection``), whose version the lock files pin;
``tests/integration/db/test_driver.py`` fails if that surface changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any] | None


class _Compiled:
    __slots__ = ("binds", "fixed", "names", "results", "sql")

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a driver statement cannot expand parameters (IN lists)")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Column defaults computed in Python run in SQLAlchemy's execution context, not here.
            raise ValueError("a driver statement must be given every column with a Python default")
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors  # the encoding SQLAlchemy itself uses
        self.binds: tuple[tuple[str, Processor], ...] = tuple(
            (name, processors.get(name)) for name in self.names
        )
        # Values written into the statement (``column == "active"``) are bound parameters too.
        self.fixed: dict[str, Any] = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        columns = getattr(statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        self.results: tuple[Processor, ...] | None = results if any(results) else None


class DriverStatement:
    """A Core or text statement of the write path; see the module's docstring."""

    __slots__ = ("_pg", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._pg: _Compiled | None = None

    async def rows(
        self, session: AsyncSession | AsyncConnection, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """The statement's rows (each indexable by position), in the session's transaction."""
        connection = session if isinstance(session, AsyncConnection) else await session.connection()
        if connection.dialect.name != "postgresql":
            result = await connection.execute(self.statement, dict(params))
            return result.all() if result.returns_rows else ()
        compiled = self._pg
        if compiled is None:
            compiled = self._pg = _Compiled(self.statement, connection.dialect)
        values = {**compiled.fixed, **params} if compiled.fixed else params
        args = [
            values[name] if process is None else process(values[name]) for name, process in compiled.binds
        ]
        adapted: Any = (await connection.get_raw_connection()).dbapi_connection
        async with adapted._execute_mutex:
            try:
                if adapted._transaction is None:
                    await adapted._start_transaction()
                records = await adapted._connection.fetch(compiled.sql, *args)
            except Exception as error:
                translated = _translated(error, compiled.sql, args, adapted, connection.dialect)
                if translated.connection_invalidated:
                    # As SQLAlchemy does on a lost connection: the pool must not hand it out again.
                    await connection.invalidate(translated)
                raise translated from error
        if compiled.results is None:
            return records  # type: ignore[no-any-return]
        return [_processed(record, compiled.results) for record in records]

    async def scalar(self, session: AsyncSession | AsyncConnection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None when there is no row."""
        rows = await self.rows(session, params)
        return rows[0][0] if rows else None

    async def execute(self, session: AsyncSession | AsyncConnection, params: Mapping[str, Any]) -> None:
        await self.rows(session, params)


def _processed(record: Sequence[Any], processors: Sequence[Processor]) -> tuple[Any, ...]:
    return tuple(
        value if process is None else process(value)
        for value, process in zip(record, processors, strict=True)
    )


def _translated(
    error: Exception, sql: str, args: Sequence[Any], adapted: Any, dialect: Dialect
) -> DBAPIError:
    """The ``sqlalchemy.exc`` error SQLAlchemy raises for ``error`` (its parameters hidden)."""
    try:
        adapted._handle_exception(error)  # raises the adapter's DBAPI error
    except Exception as dbapi_error:  # noqa: BLE001 - whatever it raised is wrapped below
        error = dbapi_error
    lost = isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(error, adapted, None)
    translated = DBAPIError.instance(
        sql,
        tuple(args),
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )
    assert isinstance(translated, DBAPIError)  # a DBAPI error is never wrapped as anything else
    return translated
