"""The research runner: order, cancel, timeout, leases and recovery, events, and real worker processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.container import Services
from aiclone.errors import InvalidInput
from aiclone.events.log import EventLog, events_after
from aiclone.events.types import Ephemeral, EventRecord
from aiclone.research.engines.base import EngineRegistry, ProgressReporter, ResearchJob
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.research.models import Priority, ResearchTask, SourceType
from aiclone.research.queue import ResearchQueue
from aiclone.research.runner import ResearchRunner, RunnerConfig
from aiclone.research.schemas import Insight, ResearchTaskCreate, ResearchTaskRead
from aiclone.settings import Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.support.factories import UserFactory
from tests.support.localweb import LocalSite, local_site

ROOT = Path(__file__).resolve().parents[3]
T = TypeVar("T")
PAGE = "<html><head><title>{name}</title></head><body><h1>{name}</h1><p>Contact {name}@example.org.</p></body></html>"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        research_allow_private=True,
        research_poll_seconds=0.5,
        research_lease_seconds=3,
    )


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_site() as running:
        yield running


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0) -> T:
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)


async def new_user(services: Services) -> uuid.UUID:
    user = await services.auth.register(
        email=f"rr-{uuid.uuid4().hex[:10]}@example.com", password="a long enough passphrase 42", full_name="R"
    )
    return user.id


async def new_task(
    services: Services,
    user_id: uuid.UUID,
    source: str,
    *,
    priority: Priority = Priority.MEDIUM,
    source_type: SourceType = SourceType.URLS,
    engine: str = "web",
    title: str = "research",
) -> ResearchTaskRead:
    return await services.research.create(
        user_id,
        ResearchTaskCreate(
            title=title, input_source=source, source_type=source_type, priority=priority, engine=engine
        ),
    )


async def task_row(services: Services, user_id: uuid.UUID, task_id: uuid.UUID) -> ResearchTaskRead:
    return await services.research.get(user_id, task_id)


async def events_of(services: Services, user_id: uuid.UUID) -> list[EventRecord]:
    async with services.db.read_session() as session:
        events = await events_after(session, user_id, 0, limit=5000)
    # The activity feed derives its own events from these; test_feed covers them.
    return [e for e in events if e.type != "activity"]


def make_runner(
    services: Services,
    *,
    concurrency: int = 2,
    task_timeout: float = 30.0,
    fetch_timeout: float = 30.0,
    lease: float = 3.0,
) -> ResearchRunner:
    queue = ResearchQueue(services.db, services.events, services.token_counters, lease_seconds=lease)
    engines = EngineRegistry([WebEngine(WebEngineConfig(allow_private=True, fetch_timeout=fetch_timeout))])
    config = RunnerConfig(
        concurrency=concurrency, task_timeout=task_timeout, lease_seconds=lease, poll_seconds=0.5
    )
    return ResearchRunner(queue, services.broker, engines, config)


@asynccontextmanager
async def running(runner: ResearchRunner, services: Services) -> AsyncIterator[asyncio.Event]:
    await services.broker.start()
    stop = asyncio.Event()
    job = asyncio.create_task(runner.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        async with asyncio.timeout(20):
            await job


def finished(services: Services, user_id: uuid.UUID, ids: list[uuid.UUID]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        rows = [await task_row(services, user_id, task_id) for task_id in ids]
        return all(row.status in ("done", "failed", "cancelled") for row in rows)

    return check


def states(events: list[EventRecord], task_id: uuid.UUID) -> list[tuple[str, str]]:
    return [(e.type, e.data.get("status", "")) for e in events if e.data.get("task_id") == str(task_id)]


async def test_runs_a_task_to_done_with_insight_events_and_live_progress(
    services: Services, site: LocalSite
) -> None:
    site.page("/a", PAGE.format(name="alpha"))
    site.page("/b", PAGE.format(name="beta"))
    user = await new_user(services)
    await services.broker.start()
    live = services.broker.subscribe(user)
    task = await new_task(services, user, f"{site.url('/a')} {site.url('/b')}")
    async with running(make_runner(services), services):
        await eventually(finished(services, user, [task.id]))
    row = await task_row(services, user, task.id)
    assert row.status == "done"
    assert row.progress == 100
    assert row.attempts == 1
    assert row.error is None
    assert row.started_at is not None
    assert row.completed_at is not None
    assert row.completed_at >= row.started_at
    assert isinstance(row.insight, Insight)
    assert [s.title for s in row.insight.sources] == ["alpha", "beta"]
    assert "alpha@example.org" in row.insight.sources[0].emails
    events = await events_of(services, user)
    assert states(events, task.id) == [
        ("task_update", "queued"),
        ("task_update", "running"),
        ("task_update", "done"),
        ("task_completed", "done"),
        ("research_completed", ""),
    ]
    completed = events[-1]
    assert completed.data["insight"]["summary"] == row.insight.summary
    assert completed.data["task_id"] == str(task.id)
    assert not any(e.data.get("ephemeral") for e in events)
    # Progress ticks reached live subscribers only.
    ticks: list[int] = []
    while not live.queue.empty():
        message = live.queue.get_nowait()
        if isinstance(message, Ephemeral):
            assert message.type == "task_update"
            assert message.data["ephemeral"] is True
            ticks.append(message.data["progress"])
    assert ticks == [50, 99]
    live.close()


async def test_claims_by_priority_then_age(services: Services, site: LocalSite) -> None:
    user = await new_user(services)
    plan = [
        ("low-1", Priority.LOW),
        ("med-1", Priority.MEDIUM),
        ("high-1", Priority.HIGH),
        ("high-2", Priority.HIGH),
        ("med-2", Priority.MEDIUM),
    ]
    ids = []
    for name, priority in plan:
        site.page(f"/{name}", PAGE.format(name=name))
        ids.append((await new_task(services, user, site.url(f"/{name}"), priority=priority, title=name)).id)
    async with running(make_runner(services, concurrency=1), services):
        await eventually(finished(services, user, ids))
    assert site.order == ["/high-1", "/high-2", "/med-1", "/med-2", "/low-1"]
    events = await events_of(services, user)
    started = [e.data["title"] for e in events if e.type == "task_update" and e.data["status"] == "running"]
    assert started == ["high-1", "high-2", "med-1", "med-2", "low-1"]


@pytest.mark.parametrize("cancelled_from", ["same process", "another process"])
async def test_cancel_while_running_stops_the_run(
    services: Services, site: LocalSite, settings: Settings, cancelled_from: str
) -> None:
    """From another process the broker may not tell the runner (SQLite): its status check does."""
    site.slow("/slow", PAGE.format(name="slow"), delay=60)
    user = await new_user(services)
    task = await new_task(services, user, site.url("/slow"))
    runner = make_runner(services)
    async with running(runner, services):
        await eventually(lambda: _true(site.hits["/slow"] == 1))
        assert runner.running_task_ids == {task.id}
        if cancelled_from == "same process":
            await services.research.cancel(user, task.id)
        else:
            other = Services(settings)
            try:
                await other.research.cancel(user, task.id)
            finally:
                await other.stop()
        await eventually(lambda: _true(not runner.running_task_ids), timeout=10)
        site.release.set()
    row = await task_row(services, user, task.id)
    assert row.status == "cancelled"
    assert row.insight is None
    assert states(await events_of(services, user), task.id) == [
        ("task_update", "queued"),
        ("task_update", "running"),
        ("task_update", "cancelled"),
        ("task_completed", "cancelled"),
    ]


async def _true(value: bool) -> bool:
    return value


async def test_timeout_fails_the_task_with_a_clear_error(services: Services, site: LocalSite) -> None:
    site.slow("/slow", PAGE.format(name="slow"), delay=60)
    user = await new_user(services)
    task = await new_task(services, user, site.url("/slow"))
    async with running(make_runner(services, task_timeout=1.0), services):
        await eventually(finished(services, user, [task.id]))
        site.release.set()
    row = await task_row(services, user, task.id)
    assert row.status == "failed"
    assert row.error == "The research did not finish within 1 seconds."
    events = await events_of(services, user)
    assert states(events, task.id)[-2:] == [("task_update", "failed"), ("task_completed", "failed")]
    assert events[-2].data["error"] == row.error


async def test_unconfigured_engine_fails_clearly_and_keyword_tasks_are_refused(services: Services) -> None:
    user = await new_user(services)
    unknown = await new_task(services, user, "https://example.com/", engine="deep-search")
    with pytest.raises(InvalidInput) as refused:
        await new_task(services, user, "warehouse robots", source_type=SourceType.KEYWORDS)
    assert refused.value.errors is not None
    assert [e.field for e in refused.value.errors] == ["engine"]
    async with running(make_runner(services), services):
        await eventually(finished(services, user, [unknown.id]))
    row = await task_row(services, user, unknown.id)
    assert row.status == "failed"
    assert (
        row.error
        == "The research engine 'deep-search' is not configured on this server (configured engines: web)."
    )


class EchoEngine:
    """A second engine plugged into the registry: engines are looked up by the task's name."""

    name = "echo"
    source_types = frozenset(SourceType)

    async def research(self, job: ResearchJob, progress: ProgressReporter) -> Insight:
        await progress(50, "halfway")
        if job.input_source == "crash":
            raise ValueError("engine bug")
        return Insight(summary=f"echo of {job.input_source} for {job.title}")


async def test_engines_are_pluggable_and_their_crashes_fail_the_task(services: Services) -> None:
    user = await new_user(services)
    ok = await new_task(services, user, "hello", engine="echo", source_type=SourceType.KEYWORDS, title="T")
    crash = await new_task(services, user, "crash", engine="echo", source_type=SourceType.KEYWORDS)
    runner = make_runner(services)
    runner.engines.register(EchoEngine())
    async with running(runner, services):
        await eventually(finished(services, user, [ok.id, crash.id]))
    done = await task_row(services, user, ok.id)
    assert done.status == "done"
    assert done.insight == Insight(summary="echo of hello for T")
    failed = await task_row(services, user, crash.id)
    assert failed.status == "failed"
    assert failed.error == "The research engine failed unexpectedly (ValueError)."


async def test_failed_task_can_be_retried_and_counts_attempts(services: Services, site: LocalSite) -> None:
    user = await new_user(services)
    task = await new_task(services, user, site.url("/later"))
    async with running(make_runner(services), services):
        await eventually(finished(services, user, [task.id]))
        assert (await task_row(services, user, task.id)).status == "failed"
        site.page("/later", PAGE.format(name="later"))
        await services.research.retry(user, task.id)
        await eventually(lambda: _status_is(services, user, task.id, "done"))
    row = await task_row(services, user, task.id)
    assert row.attempts == 2
    assert row.error is None


async def _status_is(services: Services, user: uuid.UUID, task_id: uuid.UUID, status: str) -> bool:
    return (await task_row(services, user, task_id)).status == status


async def _expire_lease(services: Services, task_id: uuid.UUID) -> None:
    async with services.db.session() as session:
        await session.execute(
            update(ResearchTask)
            .where(ResearchTask.id == task_id)
            .values(lease_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


async def test_expired_leases_are_requeued_then_given_up(services: Services) -> None:
    user = await new_user(services)
    task = await new_task(services, user, "https://example.com/")
    queue = ResearchQueue(
        services.db, services.events, services.token_counters, lease_seconds=60, max_interruptions=2
    )
    assert await queue.recover_expired() == 0
    for interruption in (1, 2, 3):
        claim = await queue.claim(f"ghost-{interruption}")
        assert claim is not None
        assert claim.attempt == interruption
        assert await queue.recover_expired() == 0  # lease still valid
        await _expire_lease(services, task.id)
        assert await queue.recover_expired() == 1
        row = await task_row(services, user, task.id)
        assert row.status == ("queued" if interruption < 3 else "failed")
    assert (
        row.error
        == "The worker running this task stopped 3 times; giving up. Retry the task to run it again."
    )
    # A run that lost its claim cannot overwrite the task.
    assert not await queue.complete(claim, Insight(summary="late"))
    events = await events_of(services, user)
    recovered = [e for e in events if e.data.get("detail") == "lease expired; the worker holding it stopped"]
    assert [e.data["status"] for e in recovered if e.type == "task_update"] == ["queued", "queued", "failed"]
    retried = await services.research.retry(user, task.id)
    assert retried.status == "queued"
    assert (await queue.claim("ghost-4")) is not None


async def test_stopping_the_worker_requeues_its_running_task(services: Services, site: LocalSite) -> None:
    site.slow("/slow", PAGE.format(name="slow"), delay=60)
    user = await new_user(services)
    task = await new_task(services, user, site.url("/slow"))
    async with running(make_runner(services), services):
        await eventually(lambda: _true(site.hits["/slow"] == 1))
    site.release.set()
    row = await task_row(services, user, task.id)
    assert row.status == "queued"
    assert row.attempts == 1
    last = (await events_of(services, user))[-1]
    assert (last.type, last.data["status"]) == ("task_update", "queued")
    assert last.data["detail"] == "the worker running it stopped; queued again"


class FailOn:
    def __init__(self, type: str, status: str | None = None) -> None:
        self.type = type
        self.status = status

    async def on_event(self, session: AsyncSession, event: EventRecord) -> None:
        if event.type == self.type and (self.status is None or event.data.get("status") == self.status):
            raise RuntimeError("hook failed after the change")


def failing_queue(services: Services, type: str, status: str | None = None) -> ResearchQueue:
    log = EventLog(services.broker)
    log.add_hook(FailOn(type, status))
    return ResearchQueue(services.db, log, services.token_counters, lease_seconds=60)


async def test_runner_state_changes_and_events_commit_together(services: Services) -> None:
    """A failure after each change (in an event hook) leaves neither the change nor its event."""
    user = await new_user(services)
    task = await new_task(services, user, "https://example.com/")
    good = ResearchQueue(services.db, services.events, services.token_counters, lease_seconds=60)

    async def snapshot() -> tuple[str, int, int]:
        row = await task_row(services, user, task.id)
        return row.status, row.attempts, len(await events_of(services, user))

    with pytest.raises(RuntimeError):
        await failing_queue(services, "task_update", "running").claim("w1")
    assert await snapshot() == ("queued", 0, 1)

    claim = await good.claim("w1")
    assert claim is not None
    assert await snapshot() == ("running", 1, 2)
    with pytest.raises(RuntimeError):
        await failing_queue(services, "research_completed").complete(claim, Insight(summary="s"))
    assert await snapshot() == ("running", 1, 2)
    with pytest.raises(RuntimeError):
        await failing_queue(services, "task_completed", "failed").fail(claim, "boom")
    assert await snapshot() == ("running", 1, 2)
    with pytest.raises(RuntimeError):
        await failing_queue(services, "task_update", "queued").release(claim, "stopping")
    assert await snapshot() == ("running", 1, 2)
    await _expire_lease(services, task.id)
    with pytest.raises(RuntimeError):
        await failing_queue(services, "task_update", "queued").recover_expired()
    assert await snapshot() == ("running", 1, 2)

    assert await good.complete(claim, Insight(summary="s"))
    assert await snapshot() == ("done", 1, 5)


async def test_end_to_end_through_the_api_with_the_in_app_runner(
    client: AsyncTestClient[Litestar], users: UserFactory, site: LocalSite
) -> None:
    site.page("/home", PAGE.format(name="home"))
    user = await users.create()
    created = await client.post(
        "/api/research-tasks",
        json={"title": "Home", "input_source": site.url("/home"), "source_type": "urls", "priority": "high"},
        headers=user.headers,
    )
    assert created.status_code == 201
    task_id = created.json()["id"]

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (
            await client.get(f"/api/research-tasks/{task_id}", headers=user.headers)
        ).json()
        return body if body["status"] == "done" else None

    body = await eventually(done)
    assert body["progress"] == 100
    assert body["insight"]["sources"][0]["title"] == "home"
    assert body["insight"]["sources"][0]["status"] == "ok"


# -- real worker processes


def worker_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    env.update(
        {
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "AICLONE_ENV": "test",
            "AICLONE_DATABASE_URL": database_url,
            "AICLONE_DATA_DIR": str(data_dir),
            "AICLONE_SECRET_KEY": TEST_SECRET,
            "AICLONE_AUTO_MIGRATE": "false",
            "AICLONE_ARGON2_TIME_COST": "2",
            "AICLONE_ARGON2_MEMORY_KIB": str(19 * 1024),
            "AICLONE_ARGON2_PARALLELISM": "1",
            "AICLONE_RESEARCH_ALLOW_PRIVATE": "true",
            "AICLONE_RESEARCH_POLL_SECONDS": "0.5",
            "AICLONE_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                async with asyncio.timeout(20):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start_worker(env: dict[str, str], cwd: Path, name: str) -> Worker:
    log = cwd / f"{name}.log"
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "aiclone", "worker", stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=cwd
        )
    worker = Worker(proc, log)
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
    except TimeoutError:
        await worker.stop(signal.SIGKILL)
        raise AssertionError(f"worker {name} did not start: {log.read_text()}") from None
    assert b"research-runner" in line, line + log.read_bytes()
    return worker


@asynccontextmanager
async def workers(*started: Awaitable[Worker]) -> AsyncIterator[list[Worker]]:
    procs: list[Worker] = []
    try:
        for start in started:
            procs.append(await start)  # noqa: PERF401 - each started one must be stopped if the next fails
        yield procs
    finally:
        for worker in procs:
            await worker.stop()


@pytest.mark.slow
async def test_a_task_of_a_killed_worker_is_recovered_by_another(
    services: Services, site: LocalSite, database_url: str, tmp_path: Path
) -> None:
    site.slow("/slow", PAGE.format(name="slow"), delay=60, first_only=True)
    user = await new_user(services)
    task = await new_task(services, user, site.url("/slow"))
    env = worker_env(database_url, tmp_path, AICLONE_RESEARCH_LEASE_SECONDS="2")
    async with workers(start_worker(env, tmp_path, "first")) as (first,):
        await eventually(lambda: _true(site.hits["/slow"] == 1))
        assert (await task_row(services, user, task.id)).status == "running"
        await first.stop(signal.SIGKILL)  # kill -9: no chance to release the task
        assert first.proc.returncode == -signal.SIGKILL
        assert (await task_row(services, user, task.id)).status == "running"
        async with workers(start_worker(env, tmp_path, "second")):
            await eventually(lambda: _status_is(services, user, task.id, "done"), timeout=60)
    row = await task_row(services, user, task.id)
    assert row.attempts == 2
    assert row.insight is not None
    assert row.insight.sources[0].title == "slow"
    assert site.hits["/slow"] == 2
    events = await events_of(services, user)
    updates = [(e.data["status"], e.data.get("detail") or "") for e in events if e.type == "task_update"]
    assert [status for status, _ in updates] == ["queued", "running", "queued", "running", "done"]
    assert updates[2][1] == "lease expired; the worker holding it stopped"
    assert updates[1][1] != updates[3][1]  # claimed by two different workers


@pytest.mark.slow
async def test_two_workers_never_run_the_same_task(
    services: Services, site: LocalSite, database_url: str, tmp_path: Path
) -> None:
    count = 20
    env = worker_env(
        database_url, tmp_path, AICLONE_RESEARCH_CONCURRENCY="3", AICLONE_RESEARCH_LEASE_SECONDS="10"
    )
    user = await new_user(services)
    async with workers(start_worker(env, tmp_path, "w1"), start_worker(env, tmp_path, "w2")):
        ids = []
        for i in range(count):
            site.slow(f"/t/{i}", PAGE.format(name=f"t{i}"), delay=0.2)
            ids.append((await new_task(services, user, site.url(f"/t/{i}"), title=f"t{i}")).id)
        await eventually(finished(services, user, ids), timeout=120)
    assert all(site.hits[f"/t/{i}"] == 1 for i in range(count)), site.hits
    rows = [await task_row(services, user, task_id) for task_id in ids]
    assert {row.status for row in rows} == {"done"}
    assert {row.attempts for row in rows} == {1}
    events = await events_of(services, user)
    starts = Counter(
        e.data["task_id"] for e in events if e.type == "task_update" and e.data["status"] == "running"
    )
    assert starts == Counter({str(task_id): 1 for task_id in ids})
    claimers = {e.data["detail"] for e in events if e.type == "task_update" and e.data["status"] == "running"}
    assert len(claimers) == 2, claimers


# -- settings


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"AICLONE_RESEARCH_ENGINES": "web,crystal-ball"}, "AICLONE_RESEARCH_ENGINES"),
        ({"AICLONE_RESEARCH_CONCURRENCY": "0"}, "AICLONE_RESEARCH_CONCURRENCY"),
        ({"AICLONE_RESEARCH_CONCURRENCY": "many"}, "AICLONE_RESEARCH_CONCURRENCY"),
        ({"AICLONE_RESEARCH_TIMEOUT_SECONDS": "-1"}, "AICLONE_RESEARCH_TIMEOUT_SECONDS"),
        ({"AICLONE_RESEARCH_LEASE_SECONDS": "0.5"}, "AICLONE_RESEARCH_LEASE_SECONDS"),
        ({"AICLONE_RESEARCH_MAX_REDIRECTS": "50"}, "AICLONE_RESEARCH_MAX_REDIRECTS"),
        ({"AICLONE_RESEARCH_ALLOW_PRIVATE": "maybe"}, "AICLONE_RESEARCH_ALLOW_PRIVATE"),
        (
            {
                "AICLONE_ENV": "production",
                "AICLONE_SECRET_KEY": "k" * 40,
                "AICLONE_RESEARCH_ALLOW_PRIVATE": "true",
            },
            "AICLONE_RESEARCH_ALLOW_PRIVATE",
        ),
    ],
)
def test_bad_research_settings_name_the_variable(environ: dict[str, str], variable: str) -> None:
    from aiclone.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=variable):
        load_settings(environ, dotenv=None)


def test_research_settings_parse() -> None:
    from aiclone.research.engines import build_engines
    from aiclone.settings import load_settings

    settings = load_settings(
        {
            "AICLONE_RESEARCH_ENGINES": " web ",
            "AICLONE_RESEARCH_TIMEOUT_SECONDS": "2.5",
            "AICLONE_RESEARCH_ALLOW_PRIVATE": "true",
        },
        dotenv=None,
    )
    assert settings.research.engines == ("web",)
    assert settings.research.timeout_seconds == 2.5
    assert settings.research.allow_private is True
    assert build_engines(settings.research, settings.llm).names == ["web"]
    nothing = load_settings({"AICLONE_RESEARCH_ENGINES": ""}, dotenv=None)
    assert build_engines(nothing.research, nothing.llm).names == []
