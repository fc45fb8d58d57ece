"""The two servers of the live-events benchmark (see sse.py): ours with a publish route, and the
naive baseline. Each runs as its own process, started by sse.py.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def create_bench_app() -> Any:
    """The real app plus ``POST /_bench/publish``: one transaction per listed user."""
    import msgspec  # noqa: PLC0415 - server role only
    from litestar import get, post  # noqa: PLC0415
    from litestar.datastructures import State  # noqa: PLC0415
    from litestar.params import JSONBody  # noqa: PLC0415

    from aiclone.app import create_app_from_env  # noqa: PLC0415

    class Publish(msgspec.Struct):
        user_ids: list[uuid.UUID]
        pad: int = 0
        # Unstamped events are side traffic: the load client does not time them.
        stamp: bool = True

    @post(
        "/_bench/publish",
        exclude_from_auth=True,
        include_in_schema=False,
        signature_namespace={"Publish": Publish, "JSONBody": JSONBody, "State": State},
    )
    async def publish(data: JSONBody[Publish], state: State) -> dict[str, list[Any]]:
        """Stamped as the event is recorded; the answer says when each commit returned."""
        services = state.services
        commits: list[list[Any]] = []
        for user_id in data.user_ids:
            stamp = time.time()
            async with services.db.session() as session:
                event = await services.events.record(
                    session,
                    user_id=user_id,
                    type="activity",
                    data={"t" if data.stamp else "side": stamp, "u": user_id.hex, "pad": "x" * data.pad},
                )
            commits.append([user_id.hex, event.seq, stamp, time.time()])
        return {"commits": commits}

    pauses: list[tuple[int, float, float]] = []
    started: list[float] = [0.0, 0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        # Wall clock and the thread's CPU time: on a loaded machine the wall-clock pause also
        # counts the time the process waited for a core.
        if phase == "start":
            started[0], started[1] = time.perf_counter(), time.thread_time()
        else:
            pauses.append(
                (info["generation"], time.perf_counter() - started[0], time.thread_time() - started[1])
            )

    gc.callbacks.append(on_gc)

    @get("/_bench/gc", exclude_from_auth=True, include_in_schema=False)
    async def gc_pauses(objects: bool = False) -> dict[str, Any]:
        """Collector pauses since the last call (the tail of the latency figures lives here)."""
        taken = list(pauses)
        pauses.clear()
        tracked = gc.get_objects() if objects else []
        kinds: dict[str, int] = {}
        for obj in tracked:
            name = type(obj).__qualname__
            kinds[name] = kinds.get(name, 0) + 1
        del tracked[:]
        return {
            "tracked": sum(kinds.values()) if objects else None,
            "top_types": sorted(kinds.items(), key=lambda kv: -kv[1])[:15],
            "collections": len(taken),
            "gen2": sum(1 for g, _, _ in taken if g == 2),
            "max_ms": max((p for _, p, _ in taken), default=0.0) * 1000,
            "total_ms": sum(p for _, p, _ in taken) * 1000,
            "gen2_max_ms": max((p for g, p, _ in taken if g == 2), default=0.0) * 1000,
            "max_cpu_ms": max((c for _, _, c in taken), default=0.0) * 1000,
            "total_cpu_ms": sum(c for _, _, c in taken) * 1000,
            "frozen": gc.get_freeze_count(),
            "gen_counts": list(gc.get_count()),
        }

    app = create_app_from_env()
    app.register(publish)
    app.register(gc_pauses)
    return app


def run_server(argv: list[str]) -> None:
    raise_fd_limit()
    sys.path.insert(0, str(BENCH_DIR))
    from aiclone import cli  # noqa: PLC0415

    cli.APP_FACTORY = "sse_servers:create_bench_app"
    sys.exit(cli.main(["serve", *argv]))


def run_naive(port: int) -> None:
    """The baseline the issue names: ServerSentEvent over an asyncio.Queue per stream."""
    raise_fd_limit()
    import uvicorn  # noqa: PLC0415
    from litestar import Litestar, get  # noqa: PLC0415
    from litestar.response import ServerSentEvent, ServerSentEventMessage  # noqa: PLC0415

    queues: dict[str, set[asyncio.Queue[ServerSentEventMessage]]] = {}

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/naive/events", signature_namespace={"ServerSentEvent": ServerSentEvent})
    async def events(u: str) -> ServerSentEvent:
        queue: asyncio.Queue[ServerSentEventMessage] = asyncio.Queue()
        queues.setdefault(u, set()).add(queue)

        async def stream() -> Any:
            try:
                yield ServerSentEventMessage(event="connection", data="{}")
                while True:
                    yield await queue.get()
            finally:
                queues.get(u, set()).discard(queue)

        return ServerSentEvent(stream())

    uvicorn.run(
        Litestar([events, health]),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )
