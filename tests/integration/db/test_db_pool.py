"""Pooled PostgreSQL connections that died while idle are replaced, not handed to a request."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from aiclone import db as db_module
from aiclone.db import Database
from aiclone.errors import DatabaseUnavailable


async def _kill_backend(database_url: str, pid: int) -> bool:
    url = make_url(database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        if not await conn.fetchval("SELECT pg_terminate_backend($1)", pid):
            return False
        async with asyncio.timeout(10):  # wait until the backend is really gone
            while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                await asyncio.sleep(0.01)
        return True
    finally:
        await conn.close()


@pytest.mark.parametrize("idle_ping_seconds", [0.0, 3600.0])
async def test_idle_connection_killed_by_the_server(
    database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch, idle_ping_seconds: float
) -> None:
    if backend != "postgresql":
        pytest.skip("connection liveness checks are for PostgreSQL pools")
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", idle_ping_seconds)
    database = Database(database_url, pool_size=1)
    try:
        async with database.read_connection() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert await _kill_backend(database_url, pid)
        if idle_ping_seconds == 0.0:
            # Idle past the threshold: pinged at checkout, found dead, replaced.
            async with database.read_connection() as conn:
                assert (await conn.execute(text("SELECT 2"))).scalar_one() == 2
        else:
            # Not idle long enough to be pinged: the dead connection surfaces as an error once,
            # the pool is invalidated, and the next checkout gets a fresh connection. The error
            # reaches the caller as a database outage (a 503), the driver's error as its cause.
            with pytest.raises(DatabaseUnavailable) as raised:
                async with database.read_connection() as conn:
                    await conn.execute(text("SELECT 2"))
            cause = raised.value.__cause__
            assert isinstance(cause, DBAPIError)
            assert cause.connection_invalidated
            async with database.read_connection() as conn:
                assert (await conn.execute(text("SELECT 3"))).scalar_one() == 3
    finally:
        await database.dispose()
