"""Liveness never touches the database; readiness tells why the service cannot serve yet."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from aiclone import migrate
from aiclone.app import Services, create_app
from aiclone.db import build_engine
from tests.conftest import make_settings

Client = AsyncTestClient[Litestar]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _assert_not_ready(response: object, *, database: str, schema: str) -> dict[str, object]:
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == 503
    assert str(body["type"]).endswith("/not-ready")
    assert body["database"] == database
    assert body["schema"] == schema
    assert body["detail"]
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    return body


@pytest.fixture
async def client_for(tmp_path: Path) -> AsyncIterator[object]:
    """Open a test client on an app built for a given database URL (connections give up after 1 s)."""
    clients: list[Client] = []

    async def open_client(url: str) -> Client:
        settings = make_settings(url, tmp_path, database_connect_timeout_seconds=1.0)
        client = AsyncTestClient(app=create_app(settings))
        await client.__aenter__()
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await client.__aexit__(None, None, None)


async def test_liveness_and_readiness_at_head(client: Client) -> None:
    live = await client.get("/health")
    assert live.status_code == 200
    assert live.json()["status"] == "ok"
    assert live.headers["cache-control"] == "no-store"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "schema": "head"}
    assert ready.headers["cache-control"] == "no-store"


async def test_liveness_does_no_database_io_and_readiness_reports_unreachable(client_for: object) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/nothing"
    client = await client_for(url)  # type: ignore[operator]
    live = await client.get("/health")
    assert live.status_code == 200, "liveness must not depend on the database"
    body = _assert_not_ready(await client.get("/health/ready"), database="unreachable", schema="unknown")
    assert "unreachable" in str(body["detail"])
    # The driver's own message (host, port, user) stays in the log.
    assert "127.0.0.1" not in str(body)
    assert "postgres@" not in str(body)


async def test_readiness_is_503_on_an_unmigrated_database(
    client_for: object, empty_database_url: str
) -> None:
    client = await client_for(empty_database_url)  # type: ignore[operator]
    body = _assert_not_ready(await client.get("/health/ready"), database="ok", schema="empty")
    assert "aiclone db upgrade" in str(body["detail"])
    assert (await client.get("/health")).status_code == 200


async def test_readiness_is_503_when_the_schema_is_not_at_head(
    client_for: object, empty_database_url: str
) -> None:
    await asyncio.to_thread(migrate.upgrade, empty_database_url)
    engine = build_engine(empty_database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    finally:
        await engine.dispose()
    client = await client_for(empty_database_url)  # type: ignore[operator]
    body = _assert_not_ready(await client.get("/health/ready"), database="ok", schema="behind")
    assert "older" in str(body["detail"])
    for head in migrate.head_revisions():
        assert head in str(body["detail"])


async def test_readiness_gives_up_on_a_database_that_never_answers(client_for: object) -> None:
    """A server that accepts the connection and then stays silent must not hang the probe."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = await client_for(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/silent")  # type: ignore[operator]
        client.app.state.services.health.timeout = 0.5
        body = _assert_not_ready(await client.get("/health/ready"), database="unreachable", schema="unknown")
        assert "did not answer" in str(body["detail"])
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_readiness_does_not_wait_for_a_writer(client: Client, services: Services) -> None:
    """A long write transaction holds SQLite's write lock; the probe must still answer.

    A probe that queued behind the writer would wait for as long as the block below holds the
    lock, so any bound tells the two apart; a generous one keeps a loaded machine's scheduling
    delays (7.7 s once, on 2 cores) out of the verdict.
    """
    async with services.db.session() as session:
        await session.execute(text("UPDATE users SET full_name = full_name"))
        client.app.state.services.health.timeout = 30.0
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text


async def test_probes_are_public(client: Client) -> None:
    for path in ("/health", "/health/ready"):
        response = await client.get(path, headers={"Authorization": "Bearer garbage"})
        assert response.status_code == 200, path
