"""A database that goes away or stalls: bounded waits, 503 problems, one log line per outage.

PostgreSQL is reached through a TCP proxy of ours (tests/support/tcp_proxy.py) that can cut or stall
the connections; SQLite is made unavailable by another connection holding the write lock past
the busy timeout.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from aiclone.app import create_app
from aiclone.container import Services
from aiclone.errors import DatabaseUnavailable
from aiclone.events.broker import PostgresBroker
from tests.conftest import make_settings
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.tcp_proxy import TcpProxy

UNAVAILABLE = "https://aiclone.dev/problems/database-unavailable"
TIMEOUT = 1.0
STALL_LIMIT = 20.0
Client = AsyncTestClient[Litestar]


def _outage_lines(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database unavailable")]
    ended = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database available again")]
    return started, ended


def _metric(app: Litestar, name: str) -> float:
    services: Services = app.state.services
    value = services.metrics.registry.get_sample_value(name)
    assert value is not None, name
    return value


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["type"] == UNAVAILABLE
    assert body["status"] == 503
    text = response.text.lower()
    for leak in ("select", "asyncpg", "sqlalchemy", "sqlite", "errno", "127.0.0.1", "traceback"):
        assert leak not in text, leak


async def _sign_in(client: Client) -> dict[str, str]:
    email = f"outage-{time.monotonic_ns()}@example.com"
    registered = await client.post(
        "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Outage"}
    )
    assert registered.status_code == 201, registered.text
    login = await client.post("/api/auth/login", data={"username": email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _until_ok(client: Client, headers: dict[str, str], *, within: float = 20.0) -> float:
    """Poll a database-backed endpoint until it answers 200; the seconds it took."""
    started = time.monotonic()
    while True:
        response = await client.get("/api/prospects", headers=headers)
        if response.status_code == 200:
            return time.monotonic() - started
        _assert_unavailable(response)
        assert time.monotonic() - started < within, "the service did not recover"
        await asyncio.sleep(0.2)


@pytest.fixture
async def proxied(
    database_url: str, backend: str, tmp_path: Path, clean_tables: None
) -> AsyncIterator[tuple[TcpProxy, Client]]:
    if backend != "postgresql":
        pytest.skip("the network between the service and PostgreSQL")
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    settings = make_settings(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        tmp_path,
        run_workers=False,
        database_connect_timeout_seconds=TIMEOUT,
        database_pool_timeout_seconds=TIMEOUT,
        database_statement_timeout_seconds=TIMEOUT,
    )
    try:
        async with AsyncTestClient(app=create_app(settings)) as client:
            yield proxy, client
    finally:
        proxy.stop()


async def test_a_cut_database_is_a_503_with_one_warning_per_outage(
    proxied: tuple[TcpProxy, Client], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, client = proxied
    headers = await _sign_in(client)
    assert (await client.get("/api/prospects", headers=headers)).status_code == 200
    caplog.set_level(logging.INFO)
    caplog.clear()
    assert _metric(client.app, "aiclone_database_available") == 1

    proxy.cut()
    for _ in range(5):
        started = time.monotonic()
        _assert_unavailable(await client.get("/api/prospects", headers=headers))
        assert time.monotonic() - started < TIMEOUT * 3 + 5
    _assert_unavailable(await client.post("/api/prospects", headers=headers, json={"name": "Ada"}))
    assert _metric(client.app, "aiclone_database_available") == 0
    started_lines, ended_lines = _outage_lines(caplog)
    assert len(started_lines) == 1, started_lines
    assert ended_lines == []
    # One line for the whole outage: no traceback, no error record per request.
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("aiclone"))
    assert "127.0.0.1" not in started_lines[0]

    proxy.heal()
    await _until_ok(client, headers)
    started_lines, ended_lines = _outage_lines(caplog)
    assert len(started_lines) == 1
    assert len(ended_lines) == 1, ended_lines
    assert " after " in ended_lines[0]
    assert _metric(client.app, "aiclone_database_outages_total") == 1
    assert _metric(client.app, "aiclone_database_available") == 1


async def test_a_stalled_database_is_bounded_and_answers_503(
    proxied: tuple[TcpProxy, Client], caplog: pytest.LogCaptureFixture
) -> None:
    proxy, client = proxied
    headers = await _sign_in(client)
    assert (await client.get("/api/prospects", headers=headers)).status_code == 200
    caplog.set_level(logging.INFO)
    caplog.clear()

    proxy.stall()
    # An unbounded wait lasts as long as the stall: end it after a while so such a failure
    # shows up as a long wait, not as a hung test run.
    watchdog = threading.Timer(STALL_LIMIT, proxy.heal)
    watchdog.start()
    try:
        for _ in range(3):
            started = time.monotonic()
            response = await client.get("/api/prospects", headers=headers)
            waited = time.monotonic() - started
            assert waited < TIMEOUT * 3 + 5, waited
            _assert_unavailable(response)
    finally:
        watchdog.cancel()
    started_lines, ended_lines = _outage_lines(caplog)
    assert len(started_lines) == 1, started_lines
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

    proxy.heal()
    await _until_ok(client, headers)
    _, ended_lines = _outage_lines(caplog)
    assert len(ended_lines) == 1, ended_lines
    assert _metric(client.app, "aiclone_database_outages_total") == 1


async def test_a_constraint_violation_is_not_an_outage(
    proxied: tuple[TcpProxy, Client], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = proxied
    caplog.set_level(logging.INFO)
    email = f"twice-{time.monotonic_ns()}@example.com"
    body = {"email": email, "password": DEFAULT_PASSWORD, "full_name": "Twice"}
    assert (await client.post("/api/auth/register", json=body)).status_code == 201
    again = await client.post("/api/auth/register", json=body)
    assert again.status_code == 409
    assert again.json()["type"] == "https://aiclone.dev/problems/conflict"
    assert _outage_lines(caplog) == ([], [])
    assert _metric(client.app, "aiclone_database_available") == 1


@pytest.fixture
async def sqlite_client(
    database_url: str, backend: str, tmp_path: Path, clean_tables: None
) -> AsyncIterator[Client]:
    # Built in a fixture: the app installs its log handlers, which must come before caplog's.
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    settings = make_settings(
        database_url, tmp_path, run_workers=False, database_statement_timeout_seconds=TIMEOUT
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def test_sqlite_locked_past_the_busy_timeout_is_a_503(
    sqlite_client: Client, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = sqlite_client
    headers = await _sign_in(client)
    caplog.set_level(logging.INFO)
    caplog.clear()
    holder = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = await client.post("/api/prospects", headers=headers, json={"name": "Locked out"})
        waited = time.monotonic() - started
        _assert_unavailable(response)
        assert waited < TIMEOUT * 3 + 5, waited
        assert _metric(client.app, "aiclone_database_available") == 0
    finally:
        holder.rollback()
        holder.close()
    created = await client.post("/api/prospects", headers=headers, json={"name": "Let in"})
    assert created.status_code == 201, created.text
    started_lines, ended_lines = _outage_lines(caplog)
    assert len(started_lines) == 1, started_lines
    assert len(ended_lines) == 1, ended_lines
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert _metric(client.app, "aiclone_database_outages_total") == 1


async def test_a_programming_error_is_not_an_outage(services: Services) -> None:
    # On SQLite a missing table is an OperationalError too: only the lock means unavailable.
    with pytest.raises(DBAPIError) as raised:
        async with services.db.read_connection() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, DatabaseUnavailable)
    assert services.db.outages.available


async def test_the_idle_listener_outlives_the_statement_timeout(proxied: tuple[TcpProxy, Client]) -> None:
    _, client = proxied
    services: Services = client.app.state.services
    broker = services.broker
    assert isinstance(broker, PostgresBroker)
    assert broker.listening
    await asyncio.sleep(TIMEOUT * 3)  # idle well past the statement bound
    assert broker.listening
    assert broker.reconnects == 0
