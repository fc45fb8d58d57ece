"""Every SQL statement a Database sends, handed to a callback: for tests that count round trips."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from aiclone.db import Database


async def watch_statements(db: Database, note: Callable[[str], None]) -> None:
    """Call ``note(sql)`` for each statement ``db`` runs from now on, driver statements included.

    On PostgreSQL the driver statements (``aiclone.driver``) bypass SQLAlchemy's cursor events, so
    asyncpg's own query log is used; the pool is emptied so every connection gets the logger.
    """
    engine = db.engine.sync_engine
    if db.is_sqlite:

        @event.listens_for(engine, "before_cursor_execute")
        def _before(_c: Any, _cu: Any, statement: str, *_: Any) -> None:
            note(statement)

        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda record: note(record.query))

    await db.engine.dispose()
