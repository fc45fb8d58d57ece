"""The migrations are the schema: they agree with the models and run down and up again."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from aiclone import migrate
from aiclone.db import build_engine
from aiclone.models import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


def _tables_and_revision(connection: Connection) -> tuple[set[str], set[str]]:
    return set(inspect(connection).get_table_names()), migrate.current_revisions(connection)


async def _inspect(url: str, fn: Any) -> Any:
    engine = build_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


async def _run(fn: Any, *args: Any) -> None:
    # Alembic's env.py runs its own event loop, so migrations run on a worker thread.
    await asyncio.to_thread(fn, *args)


async def test_models_and_migrations_agree(empty_database_url: str) -> None:
    await _run(migrate.upgrade, empty_database_url)
    assert await _inspect(empty_database_url, _diff) == []


async def test_every_model_table_is_created_by_the_migrations(empty_database_url: str) -> None:
    await _run(migrate.upgrade, empty_database_url)
    tables, revision = await _inspect(empty_database_url, _tables_and_revision)
    assert set(metadata.tables) <= tables
    assert revision == migrate.head_revisions()


async def test_upgrade_downgrade_base_upgrade_round_trip(empty_database_url: str) -> None:
    await _run(migrate.upgrade, empty_database_url)
    await _run(migrate.downgrade, empty_database_url, "base")
    tables, revision = await _inspect(empty_database_url, _tables_and_revision)
    assert revision == set()
    assert tables <= {"alembic_version"}, f"left behind by the downgrades: {tables}"

    await _run(migrate.upgrade, empty_database_url)
    tables, revision = await _inspect(empty_database_url, _tables_and_revision)
    assert revision == migrate.head_revisions()
    assert set(metadata.tables) <= tables
    assert await _inspect(empty_database_url, _diff) == []
