"""Metrics of ``aiclone serve --workers 2``: one view of the whole server, as real processes.

Each test starts the real command (uvicorn or granian, two workers) on SQLite; the database
plays no part in what is tested. ``TMPDIR`` points into the test's directory so the test can
see the server's private metrics directory: that is how it knows that both workers served
requests (their own counter files), and that the directory is gone after the server exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.live_support import ROOT, http, open_stream, server_env, sign_up
from tests.support.ports import free_port
from tests.support.serving_harness import MARKER

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SERVERS = ["uvicorn", "granian"]
START_TIMEOUT = 60.0


class Serve:
    def __init__(self, tmp_path: Path, database_url: str, server: str, **settings: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "serve.log"
        self.env = server_env(database_url, tmp_path / "data", **settings)
        self.env["TMPDIR"] = str(tmp_path)
        self.args = [
            sys.executable,
            *("-m", "tests.support.serving_harness", "serve", "--port", str(self.port)),
            *("--no-migrate", "--no-worker", "--workers", "2", "--server", server),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.proc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        async with http(timeout=2) as client:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, self.log()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise AssertionError(f"not ready:\n{self.log()}")

    async def exit_status(self, timeout: float = START_TIMEOUT) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            self.kill()
            raise AssertionError(f"still running:\n{self.log()}")
        return self.proc.returncode

    def kill(self) -> None:
        """The server and its workers (its own session), so no worker outlives a failed test."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
        return await self.exit_status(30)


@contextlib.asynccontextmanager
async def serving(serve: Serve) -> AsyncIterator[Serve]:
    serve.start()
    try:
        await serve.ready()
        yield serve
    finally:
        serve.kill()


def _health_count(counter_file: Path) -> float:
    for family in MultiProcessCollector.merge([str(counter_file)]):  # type: ignore[no-untyped-call]
        for sample in family.samples:
            if sample.name == "aiclone_http_requests_total" and sample.labels.get("route") == "/health":
                return float(sample.value)
    return 0.0


async def _hit_both_workers(url: str, shared: Path, *, limit: int = 400) -> int:
    """GET /health on new connections until both workers' own files show some; returns the count."""
    hits = 0
    async with http(url, timeout=10) as client:
        while hits < limit:
            for _ in range(10):
                response = await client.get("/health", headers={"Connection": "close"})
                assert response.status_code == 200
                hits += 1
            counts = [_health_count(path) for path in shared.glob("counter_*.db")]
            if len([count for count in counts if count > 0]) >= 2:
                return hits
    raise AssertionError(f"{limit} requests did not reach both workers")


async def _scrape_until(url: str, *expected: str, timeout: float = 15) -> str:
    """A request is counted just after its response (a stream once the server sees the client
    go): wait (bounded) for the counts."""
    deadline = time.monotonic() + timeout
    async with http(timeout=5) as client:
        while True:
            text = (await client.get(url)).text
            if all(line in text for line in expected) or time.monotonic() > deadline:
                return text
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("server", SERVERS)
async def test_two_workers_are_one_view_on_the_metrics_port(
    server: str, database_url: str, tmp_path: Path
) -> None:
    metrics_port = free_port()
    serve = Serve(
        tmp_path, database_url, server, metrics_bind=f"127.0.0.1:{metrics_port}", sse_heartbeat_seconds=0.3
    )
    async with serving(serve):
        [shared] = tmp_path.glob("aiclone-metrics-*")
        hits = await _hit_both_workers(serve.url, shared)
        # An event stream is counted, but its duration stays out of the latency histogram.
        account = await sign_up(serve.url)
        async with open_stream(serve.url, headers=account.headers) as stream:
            assert stream.status == 200
        expected = f'aiclone_http_requests_total{{method="GET",route="/health",status="200"}} {float(hits)}'
        streamed = 'aiclone_http_requests_total{method="GET",route="/api/events",status="200"} 1.0'
        text = await _scrape_until(f"http://127.0.0.1:{metrics_port}/metrics", expected, streamed)
        async with http(serve.url) as client:
            on_app = await client.get("/metrics")
        assert await serve.stop() == 0, serve.log()
    assert expected in text
    assert (
        f'aiclone_http_request_duration_seconds_count{{method="GET",route="/health"}} {float(hits)}' in text
    )
    assert "aiclone_http_requests_in_flight 0.0" in text  # livesum over both workers
    assert "aiclone_database_available 1.0" in text
    assert "aiclone_server_processes 3.0" in text  # the parent and two workers
    assert "process_resident_memory_bytes " in text
    assert "python_info{" in text
    assert streamed in text
    assert 'aiclone_http_request_duration_seconds_count{method="GET",route="/api/events"}' not in text
    assert on_app.status_code == 404  # served on the metrics port only
    assert "Address already in use" not in serve.log()
    assert not shared.exists()


@pytest.mark.parametrize("server", SERVERS)
async def test_a_worker_that_fails_to_start_fails_the_server(
    server: str, database_url: str, tmp_path: Path
) -> None:
    serve = Serve(tmp_path, database_url, server)
    serve.env[MARKER] = str(tmp_path / "first-worker")
    serve.start()
    status = await serve.exit_status()
    assert status != 0, serve.log()
    assert "refuses to start" in serve.log()
    assert not list(tmp_path.glob("aiclone-metrics-*"))


async def test_a_metrics_port_in_use_fails_the_server(database_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = Serve(tmp_path, database_url, "uvicorn", metrics_bind=f"127.0.0.1:{port}")
        serve.start()
        status = await serve.exit_status()
    assert status != 0, serve.log()
    assert f"cannot serve metrics on ('127.0.0.1', {port})" in serve.log()
    assert not list(tmp_path.glob("aiclone-metrics-*"))
