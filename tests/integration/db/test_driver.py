"""Write-path statements on the driver (aiclone.driver): same values, same transaction, same errors.

Each test works on its own table, made and dropped here, so the statements are checked against
columns of every kind the write path uses: UUIDs, aware datetimes, JSON, a unique index and
constant and computed defaults.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Uuid, bindparam, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from aiclone.db import Database, UTCDateTime, utcnow
from aiclone.driver import DriverStatement
from aiclone.errors import DatabaseUnavailable

_META = MetaData()
_PROBE = Table(
    "driver_probe",
    _META,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("data", JSON(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("hits", Integer(), nullable=False, default=0),
    Column("stamp", UTCDateTime(), nullable=True, default=utcnow),
)
_INSERT = DriverStatement(
    insert(_PROBE)
    .values(
        id=bindparam("id", type_=Uuid()),
        name=bindparam("name", type_=String()),
        data=bindparam("data", type_=JSON()),
        at=bindparam("at", type_=UTCDateTime()),
        hits=0,
        stamp=None,
    )
    .returning(_PROBE.c.id, _PROBE.c.data, _PROBE.c.at)
)
_READ = DriverStatement(
    select(_PROBE.c.id, _PROBE.c.name, _PROBE.c.data, _PROBE.c.at).where(
        _PROBE.c.name == bindparam("name"), _PROBE.c.hits == 0
    )
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2)
    async with database.engine.begin() as conn:
        await conn.run_sync(_META.create_all)
    try:
        yield database
    finally:
        async with database.engine.begin() as conn:
            await conn.run_sync(_META.drop_all)
        await database.dispose()


def _row(name: str) -> dict[str, object]:
    # A non-UTC offset: the column's bind processor turns it into UTC on the way in.
    at = dt.datetime(2026, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    return {"id": uuid.uuid4(), "name": name, "data": {"tags": ["a", "é"], "n": 1}, "at": at}


async def test_rows_are_those_sqlalchemy_returns(database: Database) -> None:
    row = _row("first")
    async with database.session() as session:
        (inserted,) = await _INSERT.rows(session, row)
        assert tuple(inserted) == (row["id"], row["data"], dt.datetime(2026, 5, 1, 12, 30, tzinfo=dt.UTC))
    async with database.read_session() as session:
        through_driver = [tuple(r) for r in await _READ.rows(session, {"name": "first"})]
        through_sqlalchemy = [tuple(r) for r in await session.execute(_READ.statement, {"name": "first"})]
        assert through_driver == through_sqlalchemy == [(row["id"], "first", row["data"], inserted[2])]
        assert through_driver[0][3].tzinfo == dt.UTC
        assert await _READ.scalar(session, {"name": "nobody"}) is None


async def test_a_first_statement_runs_inside_the_sessions_transaction(database: Database) -> None:
    """The driver statement begins the transaction when it is the first; a rollback undoes it."""

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with database.session() as session:
            await _INSERT.execute(session, _row("rolled back"))
            raise Refused
    async with database.session() as session:
        await _INSERT.execute(session, _row("kept"))
        await session.execute(text("SELECT 1"))  # SQLAlchemy's own statement, same transaction
    async with database.read_session() as session:
        names = [r[0] for r in await session.execute(select(_PROBE.c.name))]
    assert names == ["kept"]


async def test_a_rolled_back_savepoint_takes_its_driver_writes_with_it(database: Database) -> None:
    async with database.session() as session:
        await _INSERT.execute(session, _row("outer"))
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await _INSERT.execute(session, _row("inner"))
                await _INSERT.execute(session, _row("outer"))  # the unique name: the savepoint fails
        await _INSERT.execute(session, _row("after"))
    async with database.read_session() as session:
        names = sorted(r[0] for r in await session.execute(select(_PROBE.c.name)))
    assert names == ["after", "outer"]


async def test_a_unique_violation_is_sqlalchemys_integrity_error_without_its_values(
    database: Database,
) -> None:
    async with database.session() as session:
        await _INSERT.execute(session, _row("taken"))
    secret = _row("taken")
    with pytest.raises(IntegrityError) as caught:
        async with database.session() as session:
            await _INSERT.execute(session, secret)
    assert "driver_probe" in str(caught.value.orig)
    assert str(secret["id"]) not in str(caught.value)
    assert "hidden" in str(caught.value)


async def test_a_column_with_a_computed_default_must_be_given(database: Database) -> None:
    missing = DriverStatement(insert(_PROBE).values(id=bindparam("id"), name="x", data={}, at=utcnow()))
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs the statement through SQLAlchemy, which computes the default")
    async with database.session() as session:
        with pytest.raises(ValueError, match="Python default"):
            await missing.execute(session, {"id": uuid.uuid4()})


async def test_a_lost_connection_is_an_outage_and_is_not_pooled_again(
    database_url: str, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("the driver path runs on PostgreSQL's pool")
    database = Database(database_url, pool_size=1)
    admin = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
    try:
        probe = DriverStatement(text("SELECT pg_backend_pid()"))
        with pytest.raises(DatabaseUnavailable) as outage:
            async with database.session() as session:
                pid = await probe.scalar(session, {})
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                async with asyncio.timeout(10):
                    while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                        await asyncio.sleep(0.01)
                await probe.scalar(session, {})
        lost = outage.value.__cause__
        assert isinstance(lost, DBAPIError)
        assert lost.connection_invalidated
        # The one pooled connection was the dead one: the next session gets a new one.
        async with database.session() as session:
            assert await probe.scalar(session, {}) != pid
    finally:
        await admin.close()
        await database.dispose()
