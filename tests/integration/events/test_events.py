"""The event backbone: seq allocation, same-transaction writes, publish-after-commit, fan-out."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from aiclone.container import Services
from aiclone.events.broker import EventBroker, Overflow, PostgresBroker, Resync, Subscription
from aiclone.events.log import EventTooLarge, events_after, latest_seq
from aiclone.events.models import Event
from aiclone.events.types import EventRecord, EventType
from aiclone.workers import EventRetentionJob

ROOT = Path(__file__).resolve().parents[3]


async def _new_user(services: Services) -> uuid.UUID:
    user = await services.auth.register(
        email=f"ev-{uuid.uuid4().hex[:10]}@example.com", password="a long enough passphrase 42", full_name="E"
    )
    return user.id


async def _record(services: Services, user_id: uuid.UUID, n: int = 1, **data: object) -> list[EventRecord]:
    async with services.db.session() as session:
        return [
            await services.events.record(
                session, user_id=user_id, type=EventType.ACTIVITY, data={"i": i, **data}
            )
            for i in range(n)
        ]


async def _drain(sub: Subscription, count: int, timeout: float = 10.0) -> list[object]:
    got: list[object] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.append(await sub.get())
    return got


async def test_seq_is_per_user_and_gapless(services: Services) -> None:
    alice, bob = await _new_user(services), await _new_user(services)
    await _record(services, alice, 3)
    await _record(services, bob, 2)
    await _record(services, alice, 1)
    async with services.db.read_session() as session:
        assert [e.seq for e in await events_after(session, alice, 0)] == [1, 2, 3, 4]
        assert [e.seq for e in await events_after(session, bob, 0)] == [1, 2]
        assert [e.seq for e in await events_after(session, alice, 2)] == [3, 4]
        assert await latest_seq(session, alice) == 4
        assert await latest_seq(session, uuid.uuid4()) == 0


async def test_rolled_back_change_leaves_no_event_and_publishes_nothing(services: Services) -> None:
    await services.broker.start()
    user = await _new_user(services)
    sub = services.broker.subscribe(user)
    with pytest.raises(RuntimeError, match="boom"):
        async with services.db.session() as session:
            await services.events.record(session, user_id=user, type=EventType.ACTIVITY, data={"x": 1})
            raise RuntimeError("boom")
    committed = await _record(services, user, 1, marker="after")
    # The committed event gets seq 1: the rolled-back one neither stayed nor used up a number.
    assert committed[0].seq == 1
    first = await _drain(sub, 1)
    assert isinstance(first[0], EventRecord)
    assert first[0].data["marker"] == "after"
    async with services.db.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Event).where(Event.user_id == user)) == 1
    sub.close()


async def test_concurrent_writers_are_numbered_in_commit_order(services: Services) -> None:
    """Subscribers see 1..N in order with no gap, however the writers interleave."""
    await services.broker.start()
    user = await _new_user(services)
    sub = services.broker.subscribe(user)
    writers, per_writer = 4, 15

    async def writer(w: int) -> None:
        for i in range(per_writer):
            async with services.db.session() as session:
                await services.events.record(
                    session, user_id=user, type=EventType.ACTIVITY, data={"w": w, "i": i}
                )
                # Hold the transaction open a little so commits interleave.
                await asyncio.sleep(random.random() / 200)

    await asyncio.gather(*(writer(w) for w in range(writers)))
    got = await _drain(sub, writers * per_writer, timeout=30)
    seqs = [m.seq for m in got if isinstance(m, EventRecord)]
    assert seqs == list(range(1, writers * per_writer + 1))
    sub.close()


async def test_payload_over_limit_is_refused_and_nothing_written(services: Services) -> None:
    user = await _new_user(services)
    with pytest.raises(EventTooLarge):
        async with services.db.session() as session:
            await services.events.record(
                session, user_id=user, type=EventType.ACTIVITY, data={"blob": "x" * (300 * 1024)}
            )
    async with services.db.read_session() as session:
        assert await latest_seq(session, user) == 0


async def test_unknown_event_type_is_a_programming_error(services: Services) -> None:
    user = await _new_user(services)
    with pytest.raises(ValueError, match="unknown event type"):
        async with services.db.session() as session:
            await services.events.record(session, user_id=user, type="made_up", data={})


async def test_users_only_hear_their_own_events(services: Services) -> None:
    await services.broker.start()
    alice, bob = await _new_user(services), await _new_user(services)
    alice_sub, everyone = services.broker.subscribe(alice), services.broker.subscribe(None)
    await _record(services, bob, 2)
    await _record(services, alice, 1)
    got = await _drain(alice_sub, 1)
    assert isinstance(got[0], EventRecord)
    assert got[0].user_id == alice
    assert alice_sub.queue.empty()
    all_events = await _drain(everyone, 3)
    assert {m.user_id for m in all_events if isinstance(m, EventRecord)} == {alice, bob}
    alice_sub.close()
    everyone.close()


async def test_slow_subscriber_is_closed_with_overflow_not_silently_dropped() -> None:
    broker = EventBroker(queue_size=3)
    user = uuid.uuid4()
    sub = broker.subscribe(user)
    for seq in range(1, 6):
        broker.dispatch(EventRecord(user, seq, "activity", {}, dt.datetime.now(dt.UTC)))
    assert sub.closed
    assert isinstance(await sub.get(), Overflow)
    assert sub.queue.empty()
    sub.close()
    assert broker.subscriber_counts() == {}


async def test_retention_prunes_old_events_but_never_reuses_seq(services: Services) -> None:
    user = await _new_user(services)
    await _record(services, user, 3)
    async with services.db.session() as session:
        await session.execute(
            update(Event)
            .where(Event.user_id == user, Event.seq <= 2)
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
        )
    job = EventRetentionJob(services.db, max_age=dt.timedelta(days=30))
    assert await job.prune_once() == 2
    new = await _record(services, user, 1)
    assert new[0].seq == 4
    async with services.db.read_session() as session:
        assert [e.seq for e in await events_after(session, user, 0)] == [3, 4]


LISTENER_SCRIPT = """
import asyncio, json, sys
from aiclone.db import Database
from aiclone.events.broker import PostgresBroker
from aiclone.events.types import EventRecord

async def main(url, expected):
    db = Database(url)
    broker = PostgresBroker(db.engine, url)
    await broker.start()
    sub = broker.subscribe(None)
    print("ready", flush=True)
    seen = 0
    try:
        async with asyncio.timeout(30):
            while seen < expected:
                message = await sub.get()
                if isinstance(message, EventRecord):
                    seen += 1
                    print(json.dumps({"user": str(message.user_id), "seq": message.seq, "data": message.data}), flush=True)
        # Linger briefly: anything arriving now would be an event that should not exist.
        await asyncio.sleep(0.5)
        while not sub.queue.empty():
            message = sub.queue.get_nowait()
            if isinstance(message, EventRecord):
                print(json.dumps({"user": str(message.user_id), "seq": message.seq, "data": message.data}), flush=True)
    finally:
        await broker.stop()
        await db.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_subscriber_in_another_process_gets_every_committed_event_only(
    services: Services, backend: str, database_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("cross-process fan-out is the PostgreSQL broker's job; SQLite is single-process")
    user = await _new_user(services)
    committed_count = 20
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{os.environ.get('PYTHONPATH', '')}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LISTENER_SCRIPT,
        database_url,
        str(committed_count),
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(20):
            assert (await proc.stdout.readline()).strip() == b"ready"
        for i in range(committed_count):
            if i % 4 == 0:
                with pytest.raises(RuntimeError):
                    async with services.db.session() as session:
                        await services.events.record(
                            session, user_id=user, type=EventType.ACTIVITY, data={"rolled_back": True}
                        )
                        raise RuntimeError("abort")
            async with services.db.session() as session:
                await services.events.record(session, user_id=user, type=EventType.ACTIVITY, data={"n": i})
        async with asyncio.timeout(40):
            output, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    received = [json.loads(line) for line in output.decode().splitlines() if line.strip()]
    assert [r["seq"] for r in received] == list(range(1, committed_count + 1))
    assert [r["data"]["n"] for r in received] == list(range(committed_count))
    assert not any(r["data"].get("rolled_back") for r in received)


async def test_a_transactions_notifications_go_in_one_statement_in_order_without_rolled_back_savepoints(
    services: Services, backend: str, database_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL only")
    import asyncpg

    from aiclone.events.broker import NOTIFY_CHANNEL

    user = await _new_user(services)
    heard: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    listener = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.put_nowait(json.loads(args[3])))
    statements: list[str] = []
    try:
        async with services.db.session() as session:
            raw = (await (await session.connection()).get_raw_connection()).driver_connection
            log = lambda record: statements.append(record.query)  # noqa: E731
            raw.add_query_logger(log)
            first = await services.events.record(
                session, user_id=user, type=EventType.ACTIVITY, data={"n": 1}
            )
            with pytest.raises(RuntimeError):
                async with services.events.savepoint(session):
                    await services.events.record(
                        session, user_id=user, type=EventType.ACTIVITY, data={"n": 0}
                    )
                    raise RuntimeError("the savepoint rolls back")
            second = await services.events.record(
                session, user_id=user, type=EventType.ACTIVITY, data={"n": 2}
            )
            third = await services.events.record(
                session, user_id=user, type=EventType.ACTIVITY, data={"n": 3}
            )
            assert not [q for q in statements if "pg_notify" in q], "nothing is notified before the end"
            await asyncio.sleep(0.2)
            assert heard.empty()
        raw.remove_query_logger(log)  # the connection goes back to the pool
        async with asyncio.timeout(10):
            got = [await heard.get() for _ in range(3)]
        await asyncio.sleep(0.2)
        assert heard.empty()
    finally:
        await listener.close()
    assert [g["seq"] for g in got] == [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert [g["data"] for g in got] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert len([q for q in statements if "pg_notify" in q]) == 1


async def test_listener_recovers_after_its_connection_is_killed(services: Services, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL only")
    broker = services.broker
    assert isinstance(broker, PostgresBroker)
    await broker.start()
    user = await _new_user(services)
    sub = broker.subscribe(user)
    await _record(services, user, 1)
    assert isinstance((await _drain(sub, 1))[0], EventRecord)

    async with services.db.session() as session:
        killed = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'aiclone-listener' AND datname = current_database()"
            )
        )
    assert killed == 1
    async with asyncio.timeout(15):
        message = await sub.get()
    assert isinstance(message, Resync)
    assert broker.reconnects == 1
    await _record(services, user, 1)
    after = await _drain(sub, 1)
    assert isinstance(after[0], EventRecord)
    assert after[0].seq == 2
    sub.close()


# --- the one event-type catalogue and its copies ------------------------------------------------


def _js_string_array(source: str, name: str) -> list[str]:
    """The strings of ``export const NAME = [...]`` (or ``Object.freeze([...])``) in a JS/TS source."""
    import re

    match = re.search(rf"export const {name} = (?:Object\.freeze\()?\[(.*?)\]", source, re.DOTALL)
    assert match, f"{name} not found"
    return re.findall(r'"([a-z_]+)"', match.group(1))


def test_the_dashboards_event_type_module_is_the_catalogue() -> None:
    from aiclone.dashboard.event_types import MODULE_PATH, render_module

    # Rewritten by `python -m aiclone.dashboard.event_types` after a change of the catalogue.
    assert MODULE_PATH.read_text(encoding="utf-8") == render_module()


def test_every_copy_of_the_event_types_matches_the_catalogue() -> None:
    import re

    from aiclone.automations.schemas import TRIGGER_EVENTS
    from aiclone.events.types import AUTOMATION_TRIGGERS

    every = [t.value for t in EventType]
    triggers = [t.value for t in AUTOMATION_TRIGGERS]
    assert set(triggers) == TRIGGER_EVENTS
    assert set(triggers) <= set(every)
    assert not {EventType.AUTOMATION_TRIGGERED, EventType.ACTIVITY, EventType.NOTIFICATION} & set(triggers)
    client = ROOT / "clients" / "typescript" / "src"
    dashboard = ROOT / "src" / "aiclone" / "dashboard" / "static" / "js"
    # The live-stream client, in TypeScript and as compiled into the dashboard.
    for source in (client / "eventStream.ts", dashboard / "vendor" / "eventStream.js"):
        assert _js_string_array(source.read_text(encoding="utf-8"), "EVENT_TYPES") == every, source
    # The REST client's compiled unions of a rule's trigger (create, update, list filter).
    generated = (client / "generated" / "openapi.d.ts").read_text(encoding="utf-8")
    unions = re.findall(r"trigger_event\??: ((?:\"[a-z_]+\"(?: \| )?)+);", generated)
    assert len(unions) >= 3
    for union in unions:
        assert re.findall(r'"([a-z_]+)"', union) == triggers
    # The dashboard takes its lists from the generated module: no other module spells one out.
    for module in dashboard.rglob("*.js"):
        if module.name != "event-types.js" and "vendor" not in module.parts:
            text = module.read_text(encoding="utf-8")
            assert not re.search(r'"prospect_added",\s*"prospect_updated",\s*"research_completed"', text), (
                module
            )
