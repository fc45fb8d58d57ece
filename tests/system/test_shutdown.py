"""Shutdown drain: what clients see between SIGTERM and the end of a real ``aiclone serve``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from aiclone.errors import PROBLEM_JSON, TYPE_BASE
from aiclone.settings import SettingsError, load_settings
from tests.support.edge_support import EdgeServer, RawClient, request_head
from tests.support.live_support import StreamClient, http, sign_up

SERVERS = ["uvicorn", "granian"]
DRAIN = 4
GRACE = 2
SHUTTING_DOWN = TYPE_BASE + "shutting-down"


def _assert_shutting_down(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] == SHUTTING_DOWN
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["connection"].lower() == "close"


async def _first_answer_after_sigterm(client: httpx.AsyncClient, path: str, within: float) -> httpx.Response:
    """Poll ``path`` until it stops answering 200; a refused connection fails the test."""
    deadline = time.monotonic() + within
    while True:
        try:
            response = await client.get(path)
        except httpx.TransportError as exc:
            pytest.fail(f"the server refused a request during the drain: {exc!r}")
        if response.status_code != 200 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
async def test_sigterm_drains_with_503_then_cuts_slow_requests_with_a_problem(
    database_url: str, tmp_path: Path, server: str
) -> None:
    async with EdgeServer(
        database_url,
        tmp_path / "drain",
        server=server,
        shutdown_drain_seconds=DRAIN,
        shutdown_grace_seconds=GRACE,
    ) as srv:
        # A request still being uploaded when the signal comes (its body never completes).
        slow = await RawClient.connect(srv.port)
        head = {"Content-Type": "application/json", "Content-Length": "400"}
        assert await slow.send(request_head("POST", "/api/auth/register", headers=head) + b'{"email": ')
        account = await sign_up(srv.url)
        stream = await StreamClient(srv.url, headers=account.headers).open()
        assert stream.status == 200

        async with http(srv.url, timeout=10) as client:
            assert (await client.get("/health/ready")).status_code == 200
            signalled = time.monotonic()
            srv.terminate()
            ready = await _first_answer_after_sigterm(client, "/health/ready", within=DRAIN)
            _assert_shutting_down(ready)
            # Every new request gets the same answer, including API calls.
            api = await client.get("/api/auth/me")
            _assert_shutting_down(api)
            assert api.json()["instance"] == "/api/auth/me"
        # Event streams end when the drain begins (clients reconnect elsewhere), not at its end.
        await asyncio.wait_for(stream.ended.wait(), timeout=DRAIN + GRACE + 30)
        assert stream.named("close")[-1].json == {"reason": "shutdown"}
        # And the server hangs up after answering, so a keep-alive client reconnects elsewhere.
        during = await RawClient.connect(srv.port)
        assert await during.send(request_head("GET", "/api/prospects"))
        answer = await during.response(timeout=10)
        assert answer is not None, during.received
        assert answer.status == 503
        assert await during.wait_closed(timeout=10)
        await during.close()

        # The upload is cut when the grace period ends, with a problem rather than a bare 500.
        cut = await slow.response(timeout=DRAIN + GRACE + 30)
        assert cut is not None, f"no answer to the request in flight: {slow.received!r}\n{srv.log()}"
        assert cut.status == 503, cut.raw
        assert cut.headers["content-type"].startswith(PROBLEM_JSON)
        assert cut.json()["type"] == SHUTTING_DOWN
        assert cut.headers["connection"].lower() == "close"
        assert await slow.wait_closed(timeout=30)
        await slow.close()

        status = await srv.wait_exit(timeout=DRAIN + GRACE + 30)
        assert status == 0, srv.log()
        # The drain ran its course: the process did not leave before it (event-free lower bound).
        assert time.monotonic() - signalled >= DRAIN
        assert "Traceback" not in srv.log()


@pytest.mark.slow
@pytest.mark.parametrize("server", SERVERS)
async def test_without_a_drain_sigterm_still_stops_promptly(
    database_url: str, tmp_path: Path, server: str
) -> None:
    async with EdgeServer(database_url, tmp_path / "nodrain", server=server) as srv:
        srv.terminate()
        assert await srv.wait_exit(timeout=30) == 0, srv.log()
        assert "Traceback" not in srv.log()


def test_drain_defaults_by_environment_and_bounds() -> None:
    assert load_settings({}, dotenv=None).shutdown_drain == 0
    assert load_settings({"AICLONE_ENV": "test"}, dotenv=None).shutdown_drain == 0
    production = {"AICLONE_ENV": "production", "AICLONE_SECRET_KEY": "k" * 40}
    assert load_settings(production, dotenv=None).shutdown_drain == 5
    assert (
        load_settings({**production, "AICLONE_SHUTDOWN_DRAIN_SECONDS": "0"}, dotenv=None).shutdown_drain == 0
    )
    assert load_settings({"AICLONE_SHUTDOWN_DRAIN_SECONDS": "2.5"}, dotenv=None).shutdown_drain == 2.5
    for variable, value in [
        ("AICLONE_SHUTDOWN_DRAIN_SECONDS", "-1"),
        ("AICLONE_SHUTDOWN_DRAIN_SECONDS", "301"),
        ("AICLONE_SHUTDOWN_DRAIN_SECONDS", "soon"),
        ("AICLONE_SHUTDOWN_GRACE_SECONDS", "0"),
        ("AICLONE_SHUTDOWN_GRACE_SECONDS", "601"),
    ]:
        with pytest.raises(SettingsError, match=variable):
            load_settings({variable: value}, dotenv=None)
