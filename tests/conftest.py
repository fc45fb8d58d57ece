"""Shared fixtures: every app-level test runs once on SQLite and once on PostgreSQL.

The schema always comes from the migrations. PostgreSQL tests get a fresh database per run
(created from AICLONE_TEST_POSTGRES_URL, dropped at the end). When PostgreSQL is unreachable the
PostgreSQL half is skipped, unless AICLONE_TEST_REQUIRE_POSTGRES=1 (as in CI), where it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page
from sqlalchemy.engine import make_url

from aiclone import migrate
from aiclone.app import create_app
from aiclone.container import Services
from aiclone.models import metadata
from aiclone.settings import Settings
from tests.support.factories import UserFactory
from tests.support.webhook_receiver import Receiver

PG_ADMIN_URL = os.environ.get(
    "AICLONE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("AICLONE_TEST_REQUIRE_POSTGRES") == "1"
# 64 bytes: long enough for every HMAC algorithm the settings allow (HS512 included).
TEST_SECRET = "test-secret-key-" + "x" * 48


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_available() -> str | None:
    try:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    # Asked from inside a running loop (the database_url fixture), so probe on a thread.
    with ThreadPoolExecutor(1) as pool:
        reason = pool.submit(asyncio.run, _pg_available()).result()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_ADMIN_URL}: {reason}")
        pytest.skip(f"PostgreSQL unreachable ({reason}); set AICLONE_TEST_REQUIRE_POSTGRES=1 to fail instead")
    return PG_ADMIN_URL


async def create_pg_database(admin_url: str) -> str:
    name = f"aiclone_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def _migrated_databases() -> AsyncIterator[dict[str, str]]:
    """This test process's migrated database of each backend, made on first use, kept to the end.

    ``database_url`` is parametrised, and pytest keeps one value of a parametrised session
    fixture at a time: every time the tests a process runs switch backend, it tears the old
    value down and sets the new one up. Made here, a database outlives those switches, so each
    process migrates each backend once instead of once per switch.
    """
    made: dict[str, str] = {}
    yield made
    if "postgresql" in made:
        await drop_pg_database(PG_ADMIN_URL, made["postgresql"])


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _migrated_databases: dict[str, str],
) -> str:
    if request.param in _migrated_databases:
        return _migrated_databases[request.param]
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'aiclone.db'}"
    else:
        url = await create_pg_database(request.getfixturevalue("pg_admin_url"))
    try:
        # env.py runs its own event loop, so migrations run in a thread.
        await asyncio.to_thread(migrate.upgrade, url)
    except BaseException:
        if request.param == "postgresql":
            await drop_pg_database(PG_ADMIN_URL, url)
        raise
    _migrated_databases[request.param] = url
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database nobody has migrated yet, private to one test (for migration and health tests)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    url = await create_pg_database(admin)
    try:
        yield url
    finally:
        await drop_pg_database(admin, url)


@pytest.fixture
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "data_dir": str(data_dir),
        "secret_key": TEST_SECRET,
        # OWASP's minimum: valid for production, quick enough for a test suite.
        "argon2_time_cost": 2,
        "argon2_memory_kib": 19 * 1024,
        "argon2_parallelism": 1,
        "auto_migrate": False,
        # The suite makes hundreds of requests a minute from one client; rate-limit tests turn
        # limiting on with their own small limits.
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return Settings.compose(values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def clean_tables(database_url: str) -> AsyncIterator[None]:
    """Empties every table after the test, children first.

    DELETE, not TRUNCATE: a test leaves a handful of rows, and on PostgreSQL a TRUNCATE of every
    table gives each table and index a new file (130-150 ms a test here, against under a
    millisecond for the DELETEs). All of them go in one round trip (asyncpg's simple query
    protocol takes several statements).
    """
    yield
    deletes = "; ".join(f'DELETE FROM "{table.name}"' for table in reversed(metadata.sorted_tables))
    if database_url.startswith("postgresql"):
        conn = await asyncpg.connect(_asyncpg_dsn(database_url))
        try:
            await conn.execute(deletes)
        finally:
            await conn.close()
        return
    with contextlib.closing(sqlite3.connect(make_url(database_url).database or "", timeout=30)) as db:
        db.executescript(f"BEGIN IMMEDIATE; {deletes}; COMMIT;")


@pytest.fixture
def app(settings: Settings, clean_tables: None) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def services(settings: Settings, clean_tables: None) -> AsyncIterator[Services]:
    """The real services on their own engine, for reading back what the API committed.

    The test client runs the app on its own event loop, so tests never borrow the app's pool.
    """
    own = Services(settings)
    try:
        yield own
    finally:
        await own.stop()


@pytest.fixture
def users(client: AsyncTestClient[Litestar], services: Services) -> UserFactory:
    return UserFactory(client, services)


@contextlib.asynccontextmanager
async def started_services(settings: Settings, *, workers: bool) -> AsyncIterator[Services]:
    """Services started as ``aiclone serve`` starts them (with or without the background
    workers), stopped on the way out."""
    started = Services(settings)
    await started.start(run_workers=workers)
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that records every request (tests.support.webhook_receiver)."""
    rx = Receiver()
    try:
        yield rx
    finally:
        rx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    # Exposes each phase's report as item.rep_setup / rep_call / rep_teardown, so fixtures can
    # tell whether the test failed (the browser tests keep a screenshot of a failure).
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
    return None


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, one per test module (see tests.support.browser_support)."""
    # Imported here: tests.support.browser_support imports this module (through tests.support.live_support).
    from tests.support.browser_support import launch_browser

    async for item in launch_browser():
        yield item


@pytest.fixture
def page_options() -> dict[str, Any]:
    """Options of the browser context of ``page``; a test module may override this fixture."""
    return {}


@pytest.fixture
async def page(
    browser: Browser, request: pytest.FixtureRequest, page_options: dict[str, Any]
) -> AsyncIterator[Page]:
    from tests.support.browser_support import browser_page

    async with browser_page(browser, request, **page_options) as item:
        yield item
