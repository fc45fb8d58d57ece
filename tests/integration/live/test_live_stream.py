"""GET /api/events against a real ``aiclone serve`` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from aiclone.container import Services
from aiclone.errors import InvalidInput
from aiclone.events.log import events_after
from aiclone.events.models import Event
from aiclone.events.types import Ephemeral, EventRecord, EventType
from aiclone.live.frames import FrameCache, ephemeral_frame, event_frame
from aiclone.live.liveness import LOCK_NAMESPACE
from aiclone.live.models import StreamInstance, StreamPresence
from aiclone.live.service import parse_resume_point, parse_types
from aiclone.settings import SettingsError, load_settings
from tests.conftest import make_settings
from tests.support.live_support import (
    Account,
    RawStream,
    Server,
    SSEParser,
    StreamClient,
    http,
    open_stream,
    sign_up,
)

pytestmark = pytest.mark.slow

HEARTBEAT = 0.3
CAP = 4
REPLAY_BATCH = 7


@pytest.fixture(scope="module")
async def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    srv = Server(
        database_url,
        tmp_path_factory.mktemp("live-stream"),
        sse_heartbeat_seconds=HEARTBEAT,
        sse_max_streams_per_user=CAP,
        sse_replay_batch_size=REPLAY_BATCH,
        sse_presence_seconds=1,
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture(scope="module")
async def direct(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    """Services in the test process: a second writer, and a way to read back the tables."""
    services = Services(make_settings(database_url, tmp_path_factory.mktemp("direct")))
    try:
        yield services
    finally:
        await services.stop()


@pytest.fixture
async def user(server: Server) -> Account:
    return await sign_up(server.url)


async def test_connection_message_then_heartbeats_and_headers(server: Server, user: Account) -> None:
    await server.write_events(user.id, 3)
    async with open_stream(server.url, headers={**user.headers, "Accept-Encoding": "gzip, br"}) as stream:
        assert stream.status == 200
        headers = stream.response_headers
        assert headers is not None
        assert headers["content-type"] == "text/event-stream"
        assert headers["cache-control"] == "no-store"
        assert headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in headers
        await stream.wait_for(lambda c: c.frames and c.parser.comments >= 2)
        first = stream.frames[0]
        assert first.event == "connection"
        assert first.id == "3"  # the resume point: a reconnect from here misses nothing
        info = first.json
        assert info["status"] == "connected"
        assert info["latest_seq"] == 3
        assert info["resume_from"] is None
        assert info["instance_id"]
        assert info["heartbeat_seconds"] == HEARTBEAT
        assert info["server_time"].endswith("Z")
        assert stream.parser.retry is not None
        assert stream.parser.retry > 0
        # A first connect without a resume point starts at the present: nothing is replayed.
        assert stream.events == []


async def test_replay_after_last_event_id_in_header_or_query(server: Server, user: Account) -> None:
    seqs = await server.write_events(user.id, 20)
    assert seqs == list(range(1, 21))
    async with open_stream(server.url, headers={**user.headers, "Last-Event-ID": "5"}) as stream:
        assert await stream.wait_seqs(15) == list(range(6, 21))
        assert stream.frames[0].json["resume_from"] == 5
        frame = stream.events[0]
        assert frame.event == "activity"
        assert frame.json["seq"] == 6
        assert frame.json["type"] == "activity"
        assert frame.json["data"]["n"] == 5
        assert frame.json["by_automation"] is False
    async with open_stream(server.url, headers=user.headers, params={"last_event_id": "12"}) as stream:
        assert await stream.wait_seqs(8) == list(range(13, 21))
        assert stream.frames[0].id == "12"  # the resume point it was given, not the present
    # The header (what EventSource sends on reconnect) wins over the first-connect query.
    async with open_stream(
        server.url, headers={**user.headers, "Last-Event-ID": "18"}, params={"last_event_id": "2"}
    ) as stream:
        assert await stream.wait_seqs(2) == [19, 20]
        await server.write_events(user.id, 2)
        assert await stream.wait_seqs(4) == [19, 20, 21, 22]


@pytest.mark.parametrize("history", ["new user", "earlier events", "types filter"])
async def test_a_stream_cut_before_its_first_event_resumes_without_loss(server: Server, history: str) -> None:
    """Opened at the present, cut before any event arrives, reconnected as the SSE spec says."""
    user = await sign_up(server.url)
    before = await server.write_events(user.id, 3) if history != "new user" else []
    params = {"types": "notification"} if history == "types filter" else {}
    first = await StreamClient(server.url, headers=user.headers, params=params).open()
    assert first.status == 200
    assert [f.event for f in first.frames] == ["connection"]
    await first.close()  # cut: nothing but the connection frame ever arrived
    # Committed while no stream is open.
    gap = await server.write_events(user.id, 2, type="notification")
    skipped = await server.write_events(user.id, 1) if history == "types filter" else []
    gap += await server.write_events(user.id, 2, type="notification")
    async with open_stream(server.url, headers=first.reconnect_headers(), params=params) as again:
        assert again.status == 200
        assert await again.wait_seqs(len(gap)) == gap
        live = await server.write_events(user.id, 2, type="notification")
        assert await again.wait_seqs(len(gap) + 2) == gap + live
        await asyncio.sleep(0.3)  # room for a duplicate to show up, were there one
        assert again.seqs == gap + live
    # The connection frame carried the resume point: the user's seq when the stream opened.
    latest = len(before)
    assert first.frames[0].id == str(latest)
    assert first.frames[0].json["latest_seq"] == latest
    assert again.frames[0].json["resume_from"] == latest
    assert again.frames[0].id == str(latest)
    assert not set(skipped) & set(again.seqs)


async def test_bad_resume_point_or_types_are_422_before_the_stream(server: Server, user: Account) -> None:
    async with http(server.url) as client:
        for headers, params in (
            ({"Last-Event-ID": "abc"}, {}),
            ({}, {"last_event_id": "-1"}),
            ({}, {"types": "activity,bogus"}),
        ):
            response = await client.get("/api/events", headers={**user.headers, **headers}, params=params)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"


async def test_live_events_follow_in_order(
    server: Server, user: Account, direct: Services, backend: str
) -> None:
    async with open_stream(server.url, headers=user.headers) as stream:
        await stream.wait_for(lambda c: c.frames)
        await server.write_events(user.id, 5)
        assert await stream.wait_seqs(5) == [1, 2, 3, 4, 5]
        await server.write_events(user.id, 4, per_transaction=4)
        expected = list(range(1, 10))
        if backend == "postgresql":
            # Another process committing: heard through LISTEN/NOTIFY.
            async with direct.db.session() as session:
                await direct.events.record(session, user_id=user.id, type=EventType.ACTIVITY, data={"n": 99})
            expected.append(10)
        assert await stream.wait_seqs(len(expected)) == expected


async def test_no_gap_no_duplicate_while_writers_race_the_replay(
    server: Server, user: Account, direct: Services, backend: str
) -> None:
    await server.write_events(user.id, 150, per_transaction=10)
    stop = asyncio.Event()
    written = 150

    async def through_server() -> None:
        nonlocal written
        rng = random.Random()
        while not stop.is_set():
            seqs = await server.write_events(user.id, rng.randint(1, 4), per_transaction=rng.randint(1, 3))
            written += len(seqs)

    async def from_another_process() -> None:
        nonlocal written
        while not stop.is_set():
            async with direct.db.session() as session:
                for _ in range(2):
                    await direct.events.record(
                        session, user_id=user.id, type=EventType.ACTIVITY, data={"d": 1}
                    )
            written += 2
            await asyncio.sleep(0.005)

    writers = [asyncio.create_task(through_server()) for _ in range(3)]
    if backend == "postgresql":
        writers.append(asyncio.create_task(from_another_process()))
    try:
        # Several clients start their replay (in batches of REPLAY_BATCH) while the writers run.
        streams = [
            StreamClient(server.url, headers=user.headers, params={"last_event_id": "0"}) for _ in range(3)
        ]
        for stream in streams:
            await stream.open()
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*writers)
    try:
        for stream in streams:
            assert await stream.wait_seqs(written, timeout=30) == list(range(1, written + 1))
        await asyncio.sleep(0.3)
        assert all(len(s.seqs) == written for s in streams)
    finally:
        for stream in streams:
            await stream.close()


async def test_burst_bigger_than_the_buffer_is_read_back_without_disconnect(
    server: Server, user: Account
) -> None:
    # One transaction of 600 events: more than AICLONE_SSE_QUEUE_SIZE (256) arrive at once.
    async with open_stream(server.url, headers=user.headers) as stream:
        await stream.wait_for(lambda c: c.frames)
        await server.write_events(user.id, 600, per_transaction=600)
        assert await stream.wait_seqs(600, timeout=30) == list(range(1, 601))
        await server.write_events(user.id, 1)
        assert (await stream.wait_seqs(601))[-1] == 601
        assert not stream.ended.is_set()
        assert len(stream.named("connection")) == 1


async def test_client_that_stops_reading_is_dropped_then_resumes_without_loss(
    database_url: str, tmp_path: Path
) -> None:
    srv = Server(
        database_url,
        tmp_path / "slow",
        sse_queue_size=8,
        sse_write_timeout_seconds=5,
        sse_heartbeat_seconds=1,
    )
    await srv.start()
    try:
        account = await sign_up(srv.url)
        raw = await RawStream.open(srv.url, account.headers)
        assert raw.status == 200
        total = 120
        # ~7 MB of events: far more than the socket buffers hold while the client does not read.
        writer = asyncio.create_task(srv.write_events(account.id, total, pad_bytes=60_000))
        async with http(srv.url) as client:
            for _ in range(300):
                status = (await client.get("/api/events/status", headers=account.headers)).json()
                if status["streams"] == 0:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the stalled stream was never dropped")
        await writer
        frames, complete = await raw.read_to_end()
        assert not complete  # cut off, not ended normally
        got = [int(f.id) for f in frames if f.id is not None and f.event != "connection"]
        assert got == list(range(1, len(got) + 1))
        assert len(got) < total
        assert "evicted" in srv.log()
        resume_from = got[-1] if got else 0
        async with open_stream(
            srv.url, headers={**account.headers, "Last-Event-ID": str(resume_from)}
        ) as stream:
            rest = await stream.wait_seqs(total - resume_from, timeout=30)
        assert got + rest == list(range(1, total + 1))
    finally:
        await srv.stop()


async def test_reset_when_the_resume_point_is_gone(server: Server, user: Account, direct: Services) -> None:
    await server.write_events(user.id, 10)
    async with direct.db.session() as session:
        # What the retention job does to old events.
        await session.execute(delete(Event).where(Event.user_id == user.id, Event.seq <= 5))

    async with open_stream(server.url, headers={**user.headers, "Last-Event-ID": "2"}) as stream:
        await stream.wait_for(lambda c: c.named("reset"))
        reset = stream.named("reset")[0]
        assert reset.json == {"reason": "retention", "last_event_id": 2, "latest_seq": 10, "oldest_seq": 6}
        # The connection frame repeats the client's own id; only the reset that follows moves it
        # (a client cut off between the two reconnects with 2 and gets the reset again).
        assert stream.frames[0].id == "2"
        # The reset moves the client's resume point to the present; nothing stale is replayed.
        assert reset.id == "10"
        await server.write_events(user.id, 1)
        assert await stream.wait_seqs(1) == [11]

    # The oldest retained event follows the resume point directly: a plain replay, no reset.
    async with open_stream(server.url, headers={**user.headers, "Last-Event-ID": "5"}) as stream:
        assert await stream.wait_seqs(6) == [6, 7, 8, 9, 10, 11]
        assert stream.named("reset") == []

    async with open_stream(server.url, headers={**user.headers, "Last-Event-ID": "999"}) as stream:
        await stream.wait_for(lambda c: c.named("reset"))
        assert stream.named("reset")[0].json["reason"] == "unknown_id"
        assert stream.frames[0].id == "999"  # echoed; the reset then moves it back to the log
        assert stream.named("reset")[0].id == "11"
        assert stream.parser.last_event_id == "11"


async def test_types_filter_applies_to_replay_and_live(
    server: Server, user: Account, direct: Services
) -> None:
    wanted = ["notification", "task_update"]
    kinds = ["activity", "notification", "task_update", "activity", "notification", "prospect_added"]
    for kind in kinds:
        await server.write_events(user.id, 1, type=kind)
    async with open_stream(
        server.url, headers=user.headers, params={"last_event_id": "0", "types": ",".join(wanted)}
    ) as stream:
        assert await stream.wait_seqs(3) == [2, 3, 5]
        assert stream.frames[0].json["types"] == wanted
        # prospect_added also writes an activity line (and its event) through the feed hook.
        for kind in ["activity", "activity", "task_update", "prospect_added", "notification"]:
            await server.write_events(user.id, 1, type=kind)
        async with direct.db.read_session() as session:
            stored = await events_after(session, user.id, 0, types=wanted)
            everything = await events_after(session, user.id, 0)
        assert len(everything) == 13
        assert await stream.wait_seqs(5) == [e.seq for e in stored] == [2, 3, 5, 10, 13]
        assert {f.event for f in stream.events} == set(wanted)


async def test_ephemeral_messages_carry_no_id(server: Server, user: Account) -> None:
    await server.write_events(user.id, 2)
    async with (
        open_stream(server.url, headers={**user.headers, "Last-Event-ID": "0"}) as everything,
        open_stream(server.url, headers=user.headers, params={"types": "notification"}) as filtered,
    ):
        await everything.wait_seqs(2)
        await filtered.wait_for(lambda c: c.frames)
        await server.publish_ephemeral(user.id, "task_update", {"progress": 40})
        await everything.wait_for(lambda c: c.named("task_update"))
        tick = everything.named("task_update")[0]
        assert tick.id is None
        assert tick.json == {"type": "task_update", "ephemeral": True, "data": {"progress": 40}}
        # The browser's resume point is still the last persisted event.
        assert tick.last_event_id == "2"
        await server.write_events(user.id, 1, type="notification")
        await filtered.wait_seqs(1)
        assert filtered.named("task_update") == []


async def test_per_user_stream_cap_is_429(server: Server, user: Account) -> None:
    streams = [StreamClient(server.url, headers=user.headers) for _ in range(CAP)]
    try:
        for stream in streams:
            await stream.open()
            assert stream.status == 200
        async with http(server.url) as client:
            refused = await client.get("/api/events", headers=user.headers)
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "https://aiclone.dev/problems/rate-limited"
            assert int(refused.headers["retry-after"]) >= 1
            status = (await client.get("/api/events/status", headers=user.headers)).json()
            assert status["streams"] == CAP
            assert status["max_streams"] == CAP
            assert status["cluster"] is None
        # Another user is not affected.
        other = await sign_up(server.url)
        async with open_stream(server.url, headers=other.headers) as stream:
            assert stream.status == 200
        await streams.pop().close()

        async def reopened() -> int:
            async with open_stream(server.url, headers=user.headers) as again:
                return again.status or 0

        for _ in range(50):
            if await reopened() == 200:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("a slot freed by a closed stream was never reusable")
    finally:
        for stream in streams:
            await stream.close()


async def test_broadcast_reaches_online_users_live_and_offline_users_on_resume(
    server: Server, direct: Services
) -> None:
    admin = await sign_up(server.url, admin_via=direct)
    online, offline = await sign_up(server.url), await sign_up(server.url)
    await server.write_events(offline.id, 2)
    async with http(server.url) as client:
        denied = await client.post("/api/events/broadcast", headers=online.headers, json={"title": "x"})
        assert denied.status_code == 403
        async with open_stream(server.url, headers=online.headers) as stream:
            await stream.wait_for(lambda c: c.frames)
            sent = await client.post(
                "/api/events/broadcast",
                headers=admin.headers,
                json={"title": "Maintenance at noon", "body": "Ten minutes", "level": "warning"},
            )
            assert sent.status_code == 200, sent.text
            assert sent.json()["recipients"] >= 3
            await stream.wait_for(lambda c: c.named("notification"))
            note = stream.named("notification")[0].json["data"]
            assert note["action"] == "created"
            assert note["notification"]["title"] == "Maintenance at noon"
            assert note["notification"]["level"] == "warning"
    # The offline user saw seq 2 last; the broadcast waits in the table for the resume.
    async with open_stream(server.url, headers={**offline.headers, "Last-Event-ID": "2"}) as stream:
        await stream.wait_seqs(1)
        frame = stream.events[0]
        assert frame.event == "notification"
        assert frame.json["data"]["notification"]["title"] == "Maintenance at noon"


async def test_status_for_user_and_admin(server: Server, direct: Services) -> None:
    admin = await sign_up(server.url, admin_via=direct)
    user = await sign_up(server.url)
    async with (
        open_stream(server.url, headers=user.headers) as s1,
        open_stream(server.url, headers=user.headers) as s2,
        http(server.url) as client,
    ):
        assert s1.status == s2.status == 200
        mine = (await client.get("/api/events/status", headers=user.headers)).json()
        assert mine["user_id"] == str(user.id)
        assert mine["streams"] == 2
        other = await client.get(
            "/api/events/status", headers=user.headers, params={"user_id": str(admin.id)}
        )
        assert other.status_code == 403
        overview = (await client.get("/api/events/status", headers=admin.headers)).json()
        cluster = overview["cluster"]
        assert cluster["total_streams"] >= 2
        assert {"user_id": str(user.id), "streams": 2} in cluster["per_user"]
        assert [i["instance_id"] for i in cluster["instances"]] == [overview["instance_id"]]
        one = (
            await client.get("/api/events/status", headers=admin.headers, params={"user_id": str(user.id)})
        ).json()
        assert one["streams"] == 2
        assert one["cluster"] is None


@contextlib.asynccontextmanager
async def liveness_lock_of(direct: Services, instance_id: str) -> AsyncIterator[None]:
    """Hold what a live instance holds on PostgreSQL (see aiclone.live.liveness)."""
    if direct.db.is_sqlite:
        yield
        return
    async with direct.db.engine.connect() as conn:
        await conn.execute(
            text("SELECT pg_advisory_lock(:ns, hashtext(:id))"), {"ns": LOCK_NAMESPACE, "id": instance_id}
        )
        await conn.commit()  # a session lock outlives the transaction
        yield


async def test_other_instances_count_toward_the_cap_until_they_go_quiet(
    server: Server, user: Account, direct: Services, backend: str
) -> None:
    """Fresh heartbeats count; on PostgreSQL only while the instance holds its liveness lock."""
    async with liveness_lock_of(direct, "elsewhere"):
        now = dt.datetime.now(dt.UTC)
        async with direct.db.session() as session:
            # One instance still beating (for a few seconds more), one long gone.
            session.add(
                StreamInstance(id="elsewhere", started_at=now, heartbeat_at=now + dt.timedelta(seconds=2))
            )
            session.add(StreamInstance(id="ghost", started_at=now, heartbeat_at=now - dt.timedelta(hours=1)))
            await session.flush()
            session.add(StreamPresence(instance_id="elsewhere", user_id=user.id, streams=CAP - 1))
            session.add(StreamPresence(instance_id="ghost", user_id=user.id, streams=50))
            if backend == "postgresql":
                # Beating by its row, but its session (and lock) is gone: it crashed a moment ago.
                session.add(
                    StreamInstance(id="crashed", started_at=now, heartbeat_at=now + dt.timedelta(seconds=30))
                )
                await session.flush()
                session.add(StreamPresence(instance_id="crashed", user_id=user.id, streams=50))
        async with http(server.url) as client:
            for _ in range(50):
                status = (await client.get("/api/events/status", headers=user.headers)).json()
                if status["streams"] == CAP - 1:
                    break
                await asyncio.sleep(0.1)
            assert status["streams"] == CAP - 1  # the ghost's 50 are not counted
        async with open_stream(server.url, headers=user.headers) as last_slot:
            assert last_slot.status == 200
            # The server learns of the other instance at its next heartbeat (1 s here).
            for _ in range(30):
                async with open_stream(server.url, headers=user.headers) as over:
                    if over.status == 429:
                        break
                await asyncio.sleep(0.1)
            assert over.status == 429
        for _ in range(100):
            async with direct.db.read_session() as session:
                left = set((await session.scalars(select(StreamInstance.id))).all()) & {
                    "elsewhere",
                    "ghost",
                    "crashed",
                }
            if not left:
                break
            await asyncio.sleep(0.1)
        assert not left  # pruned once silent for three heartbeats (or unlocked), presence rows with them
        async with direct.db.read_session() as session:
            rows = (
                await session.scalars(
                    select(StreamPresence.instance_id).where(StreamPresence.user_id == user.id)
                )
            ).all()
        assert set(rows).isdisjoint({"elsewhere", "ghost", "crashed"})


async def test_sigterm_ends_streams_and_the_process_exits(
    database_url: str, tmp_path: Path, direct: Services
) -> None:
    srv = Server(database_url, tmp_path / "sigterm", harness=False, sse_heartbeat_seconds=30)
    await srv.start()
    streams: list[StreamClient] = []
    try:
        accounts = [await sign_up(srv.url) for _ in range(3)]
        for account in accounts * 2:
            streams.append(await StreamClient(srv.url, headers=account.headers).open())  # noqa: PERF401
        for stream in streams:
            await stream.wait_for(lambda c: c.frames)
        took = await srv.stop(timeout=15)
        assert srv.proc is not None
        # Exited by itself within the bound (uvicorn re-raises the signal it handled; a process
        # still running at the bound would have been SIGKILLed), after ending every stream cleanly.
        assert srv.proc.returncode == 0, srv.log()  # a graceful stop exits 0
        assert took < 15
        for stream in streams:
            await asyncio.wait_for(stream.ended.wait(), timeout=5)
            assert stream.named("close")[-1].json == {"reason": "shutdown"}
    finally:
        for stream in streams:
            await stream.close()
        await srv.stop(signal.SIGKILL)


# --- units: the wire format and request parsing, no server needed ---


def _record(seq: int, data: dict[str, object], type: str = "activity") -> EventRecord:
    return EventRecord(
        user_id=uuid.uuid4(),
        seq=seq,
        type=type,
        data=data,
        created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    )


def test_frames_are_single_line_json_with_the_seq_as_id() -> None:
    frame = event_frame(_record(7, {"text": "two\nlines\r\nand \u2028 more"}))
    assert frame.startswith(b"id: 7\nevent: activity\ndata: {")
    assert frame.endswith(b"}\n\n")
    assert frame.count(b"\n") == 4  # id, event, data, blank: nothing in the payload breaks a line
    parsed = SSEParser().feed(frame.decode())
    assert len(parsed) == 1
    assert parsed[0].id == "7"
    assert parsed[0].json == {
        "seq": 7,
        "type": "activity",
        "created_at": "2026-01-02T03:04:05Z",
        "by_automation": False,
        "data": {"text": "two\nlines\r\nand \u2028 more"},
    }


def test_ephemeral_frames_have_no_id_and_a_safe_name() -> None:
    tick = ephemeral_frame(Ephemeral(user_id=uuid.uuid4(), type="task_update", data={"progress": 5}))
    assert (
        tick == b'event: task_update\ndata: {"type":"task_update","ephemeral":true,"data":{"progress":5}}\n\n'
    )
    odd = ephemeral_frame(Ephemeral(user_id=uuid.uuid4(), type="x\nid: 99", data={}))
    assert odd.startswith(b"event: ephemeral\ndata: ")
    assert SSEParser().feed(odd.decode())[0].id is None


def test_frame_cache_encodes_once_and_stays_bounded() -> None:
    cache = FrameCache(max_entries=3, max_bytes=10_000)
    first = _record(1, {"a": 1})
    assert cache.frame(first) is cache.frame(first)
    twin = _record(1, {"a": 1})  # equal, but another object: encoded on its own
    assert cache.frame(twin) == cache.frame(first)
    assert cache.frame(twin) is not cache.frame(first)
    for seq in range(2, 10):
        cache.frame(_record(seq, {"a": seq}))
    assert len(cache) == 3
    huge = _record(99, {"pad": "x" * 5000})
    cache.frame(huge)
    assert len(cache) == 3  # too large to keep (over 1/16 of the byte budget)


def test_types_and_resume_point_parsing() -> None:
    assert parse_types(None) is None
    assert parse_types(" ") is None
    assert parse_types("activity, notification,activity") == {"activity", "notification"}
    with pytest.raises(InvalidInput) as caught:
        parse_types("activity,nope")
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "types"
    assert parse_resume_point(None, None) is None
    assert parse_resume_point(None, 4) == 4
    assert parse_resume_point("9", 4) == 9
    assert parse_resume_point("", 4) == 4
    for bad in ("x", "-1", "1.5", "١٢", "9" * 19):
        with pytest.raises(InvalidInput):
            parse_resume_point(bad, None)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AICLONE_SSE_TICKET_TTL_SECONDS", "61"),
        ("AICLONE_SSE_TICKET_TTL_SECONDS", "0"),
        ("AICLONE_SSE_HEARTBEAT_SECONDS", "0"),
        ("AICLONE_SSE_QUEUE_SIZE", "2"),
        ("AICLONE_SSE_MAX_STREAMS_PER_USER", "0"),
        ("AICLONE_SSE_REPLAY_BATCH_SIZE", "many"),
    ],
)
def test_live_settings_are_validated_by_name(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value}, dotenv=None)
