"""Slow clients: a request whose headers or body trickle in is cut at a deadline, under both servers.

Each test drips one byte every half second, well inside any idle timeout, so only a deadline on
the whole header block or the whole body can end it. The bounds asserted are generous multiples
of the configured deadlines; the figures themselves come from bench/slow_clients.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from aiclone.errors import PROBLEM_JSON, TYPE_BASE
from aiclone.settings import SettingsError, load_settings
from tests.support.edge_support import EdgeServer, RawClient, request_head
from tests.support.live_support import Account, sign_up

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 1.5
BODY_TIMEOUT = 1.5
DRIP_EVERY = 0.5
# Far above the deadlines (a loaded machine may be slow to react), far below "forever".
GIVE_UP_AFTER = 25.0
REQUEST_TIMEOUT = TYPE_BASE + "request-timeout"


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
async def edge(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EdgeServer]:
    async with EdgeServer(
        database_url,
        tmp_path_factory.mktemp("slow"),
        server=request.param,
        header_timeout_seconds=HEADER_TIMEOUT,
        body_timeout_seconds=BODY_TIMEOUT,
        sse_heartbeat_seconds=0.5,
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
async def account(edge: EdgeServer) -> Account:
    return await sign_up(edge.url)


async def _drip_body(edge: EdgeServer, path: str, headers: dict[str, str]) -> tuple[float | None, RawClient]:
    client = await RawClient.connect(edge.port)
    head = {"Content-Type": "application/json", "Content-Length": "200", **headers}
    assert await client.send(request_head("POST", path, headers=head))
    took = await client.drip(b'{"name": "' + b"x" * 180, every=DRIP_EVERY, stop_after=GIVE_UP_AFTER)
    return took, client


async def test_dripped_headers_are_cut_at_the_header_deadline(edge: EdgeServer) -> None:
    client = await RawClient.connect(edge.port)
    assert await client.send(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    took = await client.drip(b"X-Slow: " + b"a" * 200, every=DRIP_EVERY, stop_after=GIVE_UP_AFTER)
    assert took is not None, "the connection was still open"
    assert took >= HEADER_TIMEOUT * 0.5
    assert await client.wait_closed(timeout=10)
    answer = await client.response(timeout=1)
    # The app never saw this request, so the answer (if any) is the server's own 408.
    if answer is not None:
        assert answer.status == 408, answer.raw
    await client.close()


async def test_dripped_body_is_a_408_problem_and_the_connection_closes(edge: EdgeServer) -> None:
    took, client = await _drip_body(edge, "/api/auth/register", {})
    assert took is not None, "the connection was still open"
    answer = await client.response(timeout=10)
    assert answer is not None, client.received
    assert answer.status == 408, answer.raw
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert answer.json()["type"] == REQUEST_TIMEOUT
    assert answer.headers["connection"].lower() == "close"
    assert await client.wait_closed(timeout=10)
    await client.close()


async def test_dripped_body_of_an_authenticated_request_is_cut(edge: EdgeServer, account: Account) -> None:
    took, client = await _drip_body(
        edge, "/api/prospects", {"Authorization": f"Bearer {account.access_token}"}
    )
    assert took is not None, "the connection was still open"
    answer = await client.response(timeout=10)
    assert answer is not None, client.received
    assert answer.status == 408, answer.raw
    assert answer.json()["type"] == REQUEST_TIMEOUT
    assert await client.wait_closed(timeout=10)
    await client.close()


async def test_dripped_body_of_an_unauthenticated_request_does_not_hold_the_connection(
    edge: EdgeServer,
) -> None:
    # Refused before the body is read; the rest of the body must not keep the connection open.
    took, client = await _drip_body(edge, "/api/prospects", {})
    assert took is not None, "the connection was still open"
    answer = await client.response(timeout=10)
    assert answer is not None, client.received
    assert answer.status == 401, answer.raw
    assert answer.json()["type"] == TYPE_BASE + "unauthenticated"
    assert await client.wait_closed(timeout=GIVE_UP_AFTER), "the connection was still open after the answer"
    await client.close()


async def test_a_slow_client_within_the_deadlines_is_served(edge: EdgeServer, account: Account) -> None:
    client = await RawClient.connect(edge.port)
    body = json.dumps({"name": "Slow but fine"}).encode()
    head = request_head(
        "POST",
        "/api/prospects",
        headers={
            "Authorization": f"Bearer {account.access_token}",
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
        },
    )
    for part in (head[:20], head[20:-2], head[-2:], body[:5], body[5:]):
        assert await client.send(part)
        await asyncio.sleep(0.1)
    answer = await client.response(timeout=30)
    assert answer is not None, client.received
    assert answer.status == 201, answer.raw
    await client.close()


async def test_an_event_stream_outlives_the_body_deadline(edge: EdgeServer, account: Account) -> None:
    client = await RawClient.connect(edge.port)
    head = request_head("GET", "/api/events", headers={"Authorization": f"Bearer {account.access_token}"})
    assert await client.send(head)
    await asyncio.sleep(BODY_TIMEOUT * 3)
    seen = len(client.received)
    assert client.received.startswith(b"HTTP/1.1 200"), client.received[:200]
    assert not client.closed
    # Heartbeats keep coming well past the body deadline.
    for _ in range(100):
        if len(client.received) > seen:
            break
        await asyncio.sleep(0.1)
    assert len(client.received) > seen
    assert not client.closed
    await client.close()


def test_timeouts_are_validated_by_name() -> None:
    defaults = load_settings({}, dotenv=None)
    assert (defaults.server.header_timeout_seconds, defaults.server.body_timeout_seconds) == (10, 30)
    for variable, value in [
        ("AICLONE_HEADER_TIMEOUT_SECONDS", "0"),
        ("AICLONE_HEADER_TIMEOUT_SECONDS", "301"),
        ("AICLONE_BODY_TIMEOUT_SECONDS", "0"),
        ("AICLONE_BODY_TIMEOUT_SECONDS", "3601"),
    ]:
        with pytest.raises(SettingsError, match=variable):
            load_settings({variable: value}, dotenv=None)
