"""The compose topology of ``deploy/compose.yaml``, run as real processes on this machine.

Each service's ``command`` and ``environment`` are read from the file and started as they are,
with only what must differ on one machine substituted: this machine's PostgreSQL (a fresh
database) and Redis (a key prefix of its own) for the ``postgres``/``redis`` hosts, 127.0.0.1 and
free ports for ``0.0.0.0:8000``, the test key for ``${AICLONE_SECRET_KEY}``, and
``AICLONE_ENV=test`` with ``AICLONE_WEBHOOK_ALLOW_PRIVATE=true`` so the worker may deliver to the
local receiver (production rightly refuses loopback targets). The start order follows
``depends_on``: the one-shot migration must exit 0, then the app instances and the worker start,
and an instance counts as up when its compose healthcheck URL answers 200.

Through that topology: an event written via one instance reaches a stream on the other, a
webhook endpoint gets exactly one delivery per event, and requests spread over both instances
count against one rate-limit window in Redis.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from tests.conftest import TEST_SECRET, create_pg_database, drop_pg_database
from tests.support.live_support import ROOT, StreamClient, http, sign_up
from tests.support.ports import free_port
from tests.support.ratelimit_support import clear_of_window_edge
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.slow

COMPOSE = ROOT / "deploy" / "compose.yaml"
REDIS_URL = "redis://127.0.0.1:6379/0"
RATELIMIT_FIELD = re.compile(r'^"default";r=(\d+);t=(\d+)$')
ON_THIS_MACHINE = ("postgres", "redis")  # the services this machine already runs


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    health_url: str | None = None
    base_url: str | None = None
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _substitute(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}``."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in variables:
            return variables[name]
        if op == ":-":
            return rest or ""
        raise KeyError(f"compose.yaml needs {name}: {rest}")

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[-?])([^}]*))?\}", one, value)


def topology(database_url: str, key_prefix: str, folder: Path) -> dict[str, tuple[Process, dict[str, str]]]:
    """Every aiclone service of compose.yaml as a process, with its depends_on conditions."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    variables = {"AICLONE_SECRET_KEY": TEST_SECRET, "POSTGRES_PASSWORD": "unused-here"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    base["PYTHONPATH"] = f"{ROOT / 'src'}"
    processes: dict[str, tuple[Process, dict[str, str]]] = {}
    for name, service in services.items():
        if name in ON_THIS_MACHINE:
            continue
        env = {**base, **{k: _substitute(str(v), variables) for k, v in service["environment"].items()}}
        assert "@postgres:5432/" in env["AICLONE_DATABASE_URL"]
        env["AICLONE_DATABASE_URL"] = database_url
        assert env["AICLONE_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0"
        env["AICLONE_RATE_LIMIT_STORAGE"] = REDIS_URL
        env["AICLONE_RATE_LIMIT_KEY_PREFIX"] = key_prefix
        assert env["AICLONE_ENV"] == "production"
        env["AICLONE_ENV"] = "test"
        env["AICLONE_WEBHOOK_ALLOW_PRIVATE"] = "true"
        env["AICLONE_DATA_DIR"] = str(folder / name)
        # Sign-ups in a test need not cost 64 MiB of argon2 each.
        env.update(
            AICLONE_ARGON2_TIME_COST="2",
            AICLONE_ARGON2_MEMORY_KIB=str(19 * 1024),
            AICLONE_ARGON2_PARALLELISM="1",
        )
        argv = [str(part) for part in service["command"]]
        assert argv[0] == "aiclone"
        argv = [sys.executable, "-m", "aiclone", *argv[1:]]
        process = Process(name, argv, env, folder / f"{name}.log")
        if "--port" in argv:
            port = free_port()
            argv[argv.index("--port") + 1] = str(port)
            if "--host" in argv:
                argv[argv.index("--host") + 1] = "127.0.0.1"
            health = " ".join(service["healthcheck"]["test"])
            (url,) = re.findall(r"http://127\.0\.0\.1:8000(/[\w/]+)", health)
            process.base_url = f"http://127.0.0.1:{port}"
            process.health_url = process.base_url + url
        conditions = {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        processes[name] = (process, conditions)
    return processes


async def _healthy(process: Process, deadline: float) -> None:
    assert process.proc is not None
    async with http(timeout=2) as client:
        while True:
            if process.proc.poll() is not None:
                raise RuntimeError(f"{process.name} exited early:\n{process.log()}")
            try:
                if process.health_url and (await client.get(process.health_url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.name} did not become healthy:\n{process.log()}")
            await asyncio.sleep(0.1)


async def _completed(process: Process, deadline: float) -> None:
    assert process.proc is not None
    while process.proc.poll() is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not finish:\n{process.log()}")
        await asyncio.sleep(0.1)
    assert process.proc.returncode == 0, f"{process.name} exited {process.proc.returncode}:\n{process.log()}"


async def start_in_order(processes: dict[str, tuple[Process, dict[str, str]]], timeout: float = 50) -> None:
    """Start each process once its depends_on conditions hold, as compose does."""
    deadline = time.monotonic() + timeout
    done: dict[str, asyncio.Task[None]] = {}

    async def bring_up(name: str) -> None:
        process, conditions = processes[name]
        for dependency, condition in conditions.items():
            if dependency in ON_THIS_MACHINE:
                assert condition == "service_healthy"
                continue  # this machine's PostgreSQL and Redis are up (the fixtures checked)
            await done[dependency]
        process.start()
        if process.health_url:
            await _healthy(process, deadline)
        elif any(
            cond == "service_completed_successfully"
            for _, conds in processes.values()
            for dep, cond in conds.items()
            if dep == name
        ):
            await _completed(process, deadline)

    for name in processes:
        done[name] = asyncio.ensure_future(bring_up(name))
    await asyncio.gather(*done.values())


@dataclass
class Topology:
    apps: list[Process]
    worker: Process
    startup_seconds: float


@pytest.fixture
def key_prefix() -> Iterator[str]:
    prefix = f"aiclone-topology-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def running(pg_admin_url: str, key_prefix: str, tmp_path: Path) -> AsyncIterator[Topology]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({exc}); .ci/run starts it")
    finally:
        client.close()
    database_url = await create_pg_database(pg_admin_url)
    processes = topology(database_url, key_prefix, tmp_path)
    started = time.monotonic()
    try:
        await start_in_order(processes)
        startup = time.monotonic() - started
        apps = [p for p, _ in processes.values() if p.health_url]
        (worker,) = [p for p, _ in processes.values() if p.argv[-1] == "worker"]
        print(f"\ntopology: migrate + {len(apps)} app instances + worker up in {startup:.1f} s")
        yield Topology(apps, worker, startup)
    finally:
        for process, _ in processes.values():
            await asyncio.to_thread(process.stop)
        await drop_pg_database(pg_admin_url, database_url)


def _check_the_processes(running: Topology) -> None:
    assert len(running.apps) == 2
    assert all("--no-worker" in app.argv for app in running.apps)
    assert running.worker.proc is not None
    assert running.worker.proc.poll() is None, running.worker.log()
    assert "aiclone worker: running" in running.worker.log()


async def _check_one_rate_limit_window(running: Topology) -> None:
    a, b = running.apps
    await clear_of_window_edge(60)
    remaining: list[int] = []
    async with http() as client:
        for n in range(200):
            response = await client.get(f"{(a, b)[n % 2].base_url}/api/auth/me")
            if response.status_code == 429:
                break
            assert response.status_code == 401
            match = RATELIMIT_FIELD.match(response.headers["ratelimit"])
            assert match, response.headers["ratelimit"]
            remaining.append(int(match.group(1)))
        refused_elsewhere = await client.get(f"{(a, b)[(n + 1) % 2].base_url}/api/auth/me")
    # One window: each answer, from either instance, has one request fewer left than the one before.
    assert remaining, "the first request was already refused"
    assert remaining == list(range(remaining[0], remaining[0] - len(remaining), -1)), remaining
    assert remaining[-1] == 0
    assert response.status_code == 429
    assert refused_elsewhere.status_code == 429
    print(f"\ntopology: {len(remaining)} requests over 2 instances, then 429 on both")


async def _check_cross_instance_stream(running: Topology) -> None:
    a, b = running.apps
    assert a.base_url
    assert b.base_url
    account = await sign_up(a.base_url)
    latencies: list[float] = []
    for writer, reader in ((a, b), (b, a)):
        assert writer.base_url
        assert reader.base_url
        stream = await StreamClient(reader.base_url, headers=account.headers).open()
        try:
            name = f"Cross {uuid.uuid4().hex[:8]}"
            async with http(writer.base_url) as client:
                sent = time.monotonic()
                created = await client.post("/api/prospects", json={"name": name}, headers=account.headers)
            assert created.status_code == 201, created.text
            await stream.wait_for(
                lambda client, name=name: any(
                    f.event == "prospect_added" and name in f.data for f in client.frames
                ),
                timeout=15,
            )
            latencies.append(time.monotonic() - sent)
        finally:
            await stream.close()
    print(
        f"\ntopology: cross-instance SSE latency A->B {latencies[0] * 1000:.0f} ms, B->A {latencies[1] * 1000:.0f} ms"
    )


async def _check_one_delivery_per_event(running: Topology) -> None:
    a, b = running.apps
    assert a.base_url
    assert b.base_url
    account = await sign_up(b.base_url)
    receiver = Receiver()
    try:
        async with http(a.base_url) as client:
            hook = await client.post(
                "/api/webhooks",
                json={"url": receiver.url(), "event_types": ["prospect_added"]},
                headers=account.headers,
            )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        names = []
        for n in range(6):
            instance = (a, b)[n % 2]
            name = f"Hooked {n} {uuid.uuid4().hex[:6]}"
            async with http(instance.base_url) as client:
                created = await client.post("/api/prospects", json={"name": name}, headers=account.headers)
            assert created.status_code == 201, created.text
            names.append(name)
        sent = time.monotonic()
        await receiver.wait_for(len(names), timeout=20)
        took = time.monotonic() - sent
        # Give a second sender, if there were one, time to show itself.
        await asyncio.sleep(2)
        received = receiver.received()
        assert len(received) == len(names), [r.body for r in received]
        assert len({r.msg_id for r in received}) == len(names)
        delivered = sorted(r.verify(secret)["data"]["name"] for r in received)
        assert delivered == sorted(names)
        print(
            f"\ntopology: {len(names)} events via 2 instances, {len(received)} deliveries by the worker"
            f" (the last {took * 1000:.0f} ms after the last write)"
        )
    finally:
        receiver.close()


async def test_the_compose_topology_as_processes(running: Topology) -> None:
    """One topology, one test: the rate-limit check spends the address's window, so it goes last
    (and a test split across workers would start the topology twice)."""
    _check_the_processes(running)
    await _check_cross_instance_stream(running)
    await _check_one_delivery_per_event(running)
    await _check_one_rate_limit_window(running)
