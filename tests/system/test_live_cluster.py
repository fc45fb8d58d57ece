"""Several server processes on one PostgreSQL: fan-out, presence, listener loss and chaos."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from aiclone.container import Services
from aiclone.events.log import events_after
from aiclone.events.types import EventType
from tests.conftest import make_settings
from tests.support.live_support import ROOT, Server, StreamClient, http, open_stream, server_env, sign_up

pytestmark = pytest.mark.slow

CAP = 4


@pytest.fixture(scope="module")
def pg_url(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        pytest.skip("several instances share PostgreSQL; the SQLite deployment is one process")
    return database_url


@pytest.fixture(scope="module")
async def direct(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    services = Services(make_settings(pg_url, tmp_path_factory.mktemp("direct-cluster")))
    try:
        yield services
    finally:
        await services.stop()


@pytest.fixture(scope="module")
async def cluster(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, Server]]:
    folder = tmp_path_factory.mktemp("cluster")
    options = {"sse_presence_seconds": 0.5, "sse_max_streams_per_user": CAP, "sse_heartbeat_seconds": 1}
    a = Server(pg_url, folder, name="a", **options)
    b = Server(pg_url, folder, name="b", **options)
    await asyncio.gather(a.start(), b.start())
    try:
        yield a, b
    finally:
        await asyncio.gather(a.stop(), b.stop())


async def kill_listeners(direct: Services) -> int:
    async with direct.db.session() as session:
        killed = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'aiclone-listener' AND datname = current_database()"
            )
        )
    return int(killed or 0)


async def test_a_client_on_one_instance_gets_events_committed_through_another(
    cluster: tuple[Server, Server], direct: Services
) -> None:
    a, b = cluster
    user = await sign_up(a.url)
    async with (
        open_stream(a.url, headers=user.headers) as on_a,
        open_stream(b.url, headers=user.headers) as on_b,
    ):
        assert on_a.frames[0].json["instance_id"] != on_b.frames[0].json["instance_id"]
        await b.write_events(user.id, 5)
        async with direct.db.session() as session:
            await direct.events.record(
                session, user_id=user.id, type=EventType.ACTIVITY, data={"from": "worker"}
            )
        await a.write_events(user.id, 2)
        expected = list(range(1, 9))
        assert await on_a.wait_seqs(8) == expected
        assert await on_b.wait_seqs(8) == expected
        assert on_a.events[5].json["data"] == {"from": "worker"}


async def test_status_and_the_stream_cap_count_every_instance(
    cluster: tuple[Server, Server], direct: Services
) -> None:
    a, b = cluster
    admin = await sign_up(a.url, admin_via=direct)
    user = await sign_up(a.url)
    streams = [
        await StreamClient(a.url, headers=user.headers).open(),
        await StreamClient(a.url, headers=user.headers).open(),
        await StreamClient(b.url, headers=user.headers).open(),
    ]
    try:
        async with http(b.url) as client:
            for _ in range(100):
                mine = (await client.get("/api/events/status", headers=user.headers)).json()
                if mine["streams"] == 3:
                    break
                await asyncio.sleep(0.1)
            assert mine["streams"] == 3
            overview = (await client.get("/api/events/status", headers=admin.headers)).json()["cluster"]
            by_instance = {i["instance_id"]: i for i in overview["instances"]}
            ids = {streams[0].frames[0].json["instance_id"], streams[2].frames[0].json["instance_id"]}
            assert ids <= set(by_instance)
            assert by_instance[streams[0].frames[0].json["instance_id"]]["streams"] >= 2
            assert by_instance[streams[2].frames[0].json["instance_id"]]["streams"] >= 1
            assert {"user_id": str(user.id), "streams": 3} in overview["per_user"]
            assert overview["total_streams"] >= 3

            streams.append(await StreamClient(b.url, headers=user.headers).open())
            assert streams[-1].status == 200
            for _ in range(100):
                if (await client.get("/api/events/status", headers=user.headers)).json()["streams"] == CAP:
                    break
                await asyncio.sleep(0.1)
        # The fifth stream is refused on either instance: the cap counts the other one's streams.
        async with open_stream(a.url, headers=user.headers) as fifth:
            assert fifth.status == 429
    finally:
        for stream in streams:
            await stream.close()


async def test_a_crashed_instances_streams_stop_counting_within_seconds(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """kill -9 of the instance holding a user's streams; their reconnects go to the other one.

    Presence at its default interval (10 s): waiting for the crashed instance's heartbeat to
    go stale would refuse the reconnects for up to 30 s.
    """
    folder = tmp_path_factory.mktemp("crash")
    cap = 2
    a = Server(pg_url, folder, name="crash-a", sse_max_streams_per_user=cap)
    b = Server(pg_url, folder, name="crash-b", sse_max_streams_per_user=cap)
    await a.start()
    await b.start()
    streams: list[StreamClient] = []
    try:
        user = await sign_up(a.url)
        streams = [await StreamClient(a.url, headers=user.headers).open() for _ in range(cap)]
        assert [s.status for s in streams] == [200] * cap
        # B counts A's streams once A has written them (a fraction of a second): refused.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            async with open_stream(b.url, headers=user.headers) as probe:
                if probe.status == 429:
                    break
            assert loop.time() < deadline, "B never counted A's streams"
            await asyncio.sleep(0.1)
        assert probe.response_headers is not None
        assert int(probe.response_headers["retry-after"]) >= 1
        assert json.loads(probe.body)["type"].endswith("/rate-limited")

        await a.stop(signal.SIGKILL)
        crashed = loop.time()
        resume = {**user.headers, "Last-Event-ID": streams[0].parser.last_event_id}
        while True:
            async with open_stream(b.url, headers=resume) as reconnect:
                if reconnect.status == 200:
                    break
                assert reconnect.status == 429, reconnect.body
            assert loop.time() - crashed < 60, "the crashed instance's streams were never counted out"
            await asyncio.sleep(0.1)
        took = loop.time() - crashed
        print(f"reconnect accepted after crash: {took:.2f} s")
        assert took < 5, f"reconnect refused for {took:.1f} s after the crash"

        # The cap still holds for the user's streams on the instances that are alive.
        streams += [await StreamClient(b.url, headers=resume).open() for _ in range(cap + 1)]
        assert [s.status for s in streams[-cap - 1 :]] == [200] * cap + [429]
    finally:
        for stream in streams:
            await stream.close()
        await asyncio.gather(a.stop(signal.SIGKILL), b.stop())


async def test_streams_recover_without_loss_after_the_listener_is_killed(
    cluster: tuple[Server, Server], direct: Services
) -> None:
    a, b = cluster
    user = await sign_up(a.url)
    async with (
        open_stream(a.url, headers=user.headers) as on_a,
        open_stream(b.url, headers=user.headers) as on_b,
    ):
        await b.write_events(user.id, 3)
        await on_a.wait_seqs(3)
        assert await kill_listeners(direct) >= 2
        # Committed while the listeners are down or reconnecting.
        await b.write_events(user.id, 4)
        async with direct.db.session() as session:
            for _ in range(3):
                await direct.events.record(session, user_id=user.id, type=EventType.ACTIVITY, data={})
        await a.write_events(user.id, 2)
        expected = list(range(1, 13))
        assert await on_a.wait_seqs(12, timeout=30) == expected
        assert await on_b.wait_seqs(12, timeout=30) == expected
        await asyncio.sleep(0.3)
        assert on_a.seqs == on_b.seqs == expected
    assert "event listener reconnected" in a.log()
    assert "event listener reconnected" in b.log()


WRITER = """
import asyncio, json, random, sys, time, uuid
from aiclone.container import Services
from aiclone.settings import load_settings

async def main(writer: int, users: list[uuid.UUID], seconds: float) -> None:
    services = Services(load_settings())
    rng = random.Random(writer)
    deadline = time.monotonic() + seconds
    written = 0
    try:
        while time.monotonic() < deadline:
            # One user per transaction: two writers locking counters in opposite orders deadlock.
            user = rng.choice(users)
            async with services.db.session() as session:
                for _ in range(rng.randint(1, 3)):
                    await services.events.record(session, user_id=user, type="activity", data={"w": writer, "i": written})
                    written += 1
            await asyncio.sleep(rng.random() * 0.01)
    finally:
        await services.db.dispose()
    print(written)

asyncio.run(main(int(sys.argv[1]), [uuid.UUID(u) for u in sys.argv[2].split(",")], float(sys.argv[3])))
"""


async def test_chaos_random_disconnects_two_writers_two_instances_nothing_lost_or_doubled(
    cluster: tuple[Server, Server], direct: Services, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    a, b = cluster
    rng = random.Random(7)
    users = [await sign_up(a.url) for _ in range(3)]
    env = server_env(pg_url, tmp_path_factory.mktemp("writers"))
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            str(n),
            ",".join(str(u.id) for u in users),
            "6",
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
        )
        for n in range(2)
    ]
    received: dict[int, list[tuple[int, dict[str, int]]]] = {}
    stop = asyncio.Event()
    reconnects = 0

    async def client(n: int) -> None:
        nonlocal reconnects
        account = users[n % len(users)]
        got = received.setdefault(n, [])
        while not stop.is_set():
            server = rng.choice((a, b))
            resume = str(got[-1][0]) if got else "0"
            stream = StreamClient(server.url, headers={**account.headers, "Last-Event-ID": resume})
            await stream.open()
            assert stream.status == 200, stream.body
            await asyncio.sleep(rng.uniform(0.05, 0.8))
            await stream.close()  # killed mid-stream, whatever it was doing
            reconnects += 1
            got.extend((int(f.id), f.json["data"]) for f in stream.events if f.id is not None)

    clients = [asyncio.create_task(client(n)) for n in range(6)]
    try:
        await asyncio.sleep(3)
        assert await kill_listeners(direct) >= 2
        outputs = [await asyncio.wait_for(w.communicate(), timeout=30) for w in writers]
        assert all(w.returncode == 0 for w in writers)
        written = sum(int(out.decode().strip()) for out, _ in outputs)
        assert written > 100
    finally:
        stop.set()
        await asyncio.gather(*clients)
        for w in writers:
            if w.returncode is None:
                w.kill()
                await w.wait()

    for n, got in received.items():
        account = users[n % len(users)]
        async with direct.db.read_session() as session:
            committed = await events_after(session, account.id, 0, limit=100_000)
        # One last resume collects what the killed connection had not delivered yet.
        resume = got[-1][0] if got else 0
        async with open_stream(a.url, headers={**account.headers, "Last-Event-ID": str(resume)}) as final:
            await final.wait_seqs(len(committed) - resume, timeout=30)
            got.extend((int(f.id), f.json["data"]) for f in final.events if f.id is not None)
        assert [seq for seq, _ in got] == [e.seq for e in committed], f"client {n}"
        assert [data for _, data in got] == [e.data for e in committed], f"client {n}"
    assert reconnects > 20
