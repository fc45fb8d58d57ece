"""Helpers shared by the rate-limit, hardening and metrics tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
from litestar import Litestar

from aiclone.app import Services
from tests.support.ports import SERVER_READY_SECONDS, free_port

BASE_URL = "http://testserver.local"
REPO_ROOT = Path(__file__).resolve().parents[2]


def peer_client(app: Litestar, address: str) -> httpx.AsyncClient:
    """A client whose requests reach the app from the socket address ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


DAY_SECONDS = 86_400


async def clear_of_window_edge(window: int, margin: float = 4.0) -> None:
    """Sliding-window-counter windows are aligned to multiples of their length; a test that
    counts up to a limit starts well inside one so no boundary falls in the middle."""
    left = window - time.time() % window
    if left < margin:
        await asyncio.sleep(left + 0.2)


def services_of(app: Litestar) -> Services:
    services: Services = app.state.services
    return services


def sample(app: Litestar, name: str, labels: Mapping[str, str] | None = None) -> float:
    value = services_of(app).metrics.registry.get_sample_value(name, dict(labels or {}))
    return value or 0.0


class ServerProcess:
    """``aiclone serve`` in a subprocess on a free port, its output kept in a file."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
        full_env.update(env)
        full_env["PYTHONPATH"] = f"{REPO_ROOT / 'src'}:{REPO_ROOT}"
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiclone",
                "serve",
                "--port",
                str(self.port),
                "--no-migrate",
                "--no-worker",
            ],
            env=full_env,
            cwd=str(log_path.parent),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = SERVER_READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def start_servers(count: int, env: Mapping[str, str], tmp: Path) -> list[ServerProcess]:
    servers = [ServerProcess(env, tmp / f"server-{i}.log") for i in range(count)]
    try:
        for server in servers:
            server.wait_ready()
    except Exception:
        for server in servers:
            server.stop()
        raise
    return servers


AppFactory = Callable[..., Litestar]
