"""Benchmark: CPU per request through the ASGI app itself, no server and no sockets.

Calls the app's ASGI callable in a loop on one event loop, after its lifespan started, and prints
the process CPU per request of ``GET /api/auth/me`` (an access token; also as a browser sends it,
with ``Accept-Encoding``), ``GET /health`` and the bare Litestar endpoint of ``bench/bare_app.py``.
What the HTTP benchmarks (``http_me.py``) cannot separate, this shows: the app's own cost per
request, without the server's parsing and the load generator competing for the two cores.

    python bench/asgi_requests.py                       # SQLite in a temporary directory
    python bench/asgi_requests.py --postgres            # a throwaway PostgreSQL database
    python bench/asgi_requests.py --tree /tmp/before    # the aiclone code of another checkout
    python bench/asgi_requests.py --instructions        # instructions per request (valgrind)

Each round runs every target ``--requests`` times; the medians of ``--rounds`` rounds are printed.
A target that answers anything but 200 stops the run (exit status 1).

``--instructions`` counts CPU instructions instead of CPU time: the measuring interpreter runs
under ``valgrind --tool=callgrind`` with instrumentation off, and switches it on (through
``callgrind_control``) only around each target's requests, after a warm-up of each. The count
does not depend on what else the machine is doing, so two trees compare on a noisy machine
where CPU times drift by 2x between runs. Expect a few minutes: start-up under valgrind is slow.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench passphrase 1234"
WARM_UP = 300  # requests per target before its instructions are counted


def _environment(data_dir: str, database_url: str | None) -> dict[str, str]:
    env = {
        "AICLONE_DATA_DIR": data_dir,
        "AICLONE_RATE_LIMIT_ENABLED": "false",
        "AICLONE_LOG_LEVEL": "WARNING",
        # OWASP's minimum keeps the one registration quick; it does not touch the requests.
        "AICLONE_ARGON2_TIME_COST": "2",
        "AICLONE_ARGON2_MEMORY_KIB": str(19 * 1024),
        "AICLONE_ARGON2_PARALLELISM": "1",
    }
    if database_url:
        env["AICLONE_DATABASE_URL"] = database_url
    return env


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The ASGI lifespan protocol on this loop (a test client would run the app on its own)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def cpu_per_request(app: Any, path: str, headers: list[tuple[bytes, bytes]], count: int) -> float:
    """Microseconds of process CPU per ``GET path``."""
    base = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    started = time.process_time()
    for _ in range(count):
        messages.clear()
        await app(dict(base), receive, send)
    elapsed = time.process_time() - started
    status = messages[0].get("status")
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return elapsed / count * 1e6


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    # Imported here, in the measuring interpreter, whose path starts with the measured tree.
    import httpx  # noqa: PLC0415
    from bench.bare_app import create_app as bare_app  # noqa: PLC0415

    from aiclone.app import create_app_from_env  # noqa: PLC0415

    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app_from_env()
    bare = bare_app()
    transport = httpx.ASGITransport(app=app)
    async with (
        lifespan(app),
        lifespan(bare),
        httpx.AsyncClient(transport=transport, base_url="http://x") as client,
    ):
        email = "asgi-bench@example.com"
        body = {"email": email, "password": PASSWORD, "full_name": "Bench"}
        (await client.post("/api/auth/register", json=body)).raise_for_status()
        login = await client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
        login.raise_for_status()
        bearer = (b"authorization", f"Bearer {login.json()['access_token']}".encode())
        targets = {
            "bare (bench/bare_app.py)": (bare, "/bare", []),
            "/health": (app, "/health", []),
            "me": (app, "/api/auth/me", [bearer]),
            "me, Accept-Encoding": (
                app,
                "/api/auth/me",
                [bearer, (b"accept-encoding", b"gzip, deflate, br")],
            ),
        }
        figures: dict[str, list[float]] = {name: [] for name in targets}
        if args.instructions:
            for index, (name, (target, path, headers)) in enumerate(targets.items()):
                await cpu_per_request(target, path, headers, WARM_UP)
                await counted(f"target-{index}", cpu_per_request(target, path, headers, args.requests))
                figures[name].append(0.0)
            return figures
        for _ in range(args.rounds):
            for name, (target, path, headers) in targets.items():
                figures[name].append(await cpu_per_request(target, path, headers, args.requests))
        return figures


async def counted(label: str, work: Awaitable[float]) -> None:
    """Run ``work`` with callgrind's instrumentation on, then dump its count as ``label``."""
    await _callgrind("--zero")
    await _callgrind("--instr=on")
    await work
    await _callgrind(f"--dump={label}")
    await _callgrind("--instr=off")


async def _callgrind(option: str) -> None:
    # Polled rather than awaited in a blocking wait: the request is taken up while this
    # process runs, so it must not sleep in a system call until the command returns.
    process = subprocess.Popen(["callgrind_control", option, str(os.getpid())], stdout=subprocess.DEVNULL)
    while process.poll() is None:
        await asyncio.sleep(0.005)
    if process.returncode != 0:
        raise RuntimeError(f"callgrind_control {option} failed")


def _instructions(out_prefix: str, labels: list[str], requests: int) -> dict[str, float]:
    """Instructions per request of each label's dump (callgrind writes one file per dump)."""
    found: dict[str, float] = {}
    for path in Path(out_prefix).parent.glob(Path(out_prefix).name + "*"):
        text = path.read_text(errors="replace")
        for label in labels:
            if f"desc: Trigger: Client Request: {label}" in text or f"desc: Trigger: dump {label}" in text:
                totals = next(line for line in text.splitlines() if line.startswith("totals:"))
                found[label] = int(totals.split()[1]) / requests
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    parser.add_argument("--tree", help="measure the aiclone code of another checkout")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under valgrind (one round)",
    )
    args = parser.parse_args()
    source = Path(args.tree).resolve() if args.tree else REPO
    database_url = None
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="aiclone-asgi-bench-"))
        if args.postgres:
            sys.path.insert(0, str(REPO / "bench"))
            from http_me import DEFAULT_PG, postgres_database  # noqa: PLC0415

            database_url = stack.enter_context(postgres_database(DEFAULT_PG))
        env = {**os.environ, **_environment(data_dir, database_url)}
        env["PYTHONPATH"] = os.pathsep.join((str(source / "src"), str(REPO)))
        migrate = [sys.executable, "-m", "aiclone", "db", "upgrade"]
        subprocess.run(migrate, env=env, check=True, capture_output=True)
        # The measurement runs in a fresh interpreter that imports only ``source``'s code.
        env["AICLONE_ASGI_BENCH_CHILD"] = "1"
        command = [sys.executable, __file__, "--requests", str(args.requests), "--rounds", str(args.rounds)]
        if not args.instructions:
            return subprocess.run(command, env=env, check=False).returncode
        return _run_under_callgrind(
            command, env, args.requests, stack.enter_context(tempfile.TemporaryDirectory())
        )


def _run_under_callgrind(command: list[str], env: dict[str, str], requests: int, out_dir: str) -> int:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("ERROR: --instructions needs valgrind (Debian's valgrind package)")
        return 1
    out = os.path.join(out_dir, "callgrind.out")
    env = {**env, "PYTHONHASHSEED": "0"}  # the same dict layouts in both trees' runs
    # valgrind follows only the process it starts: run under a launcher script (a version
    # manager's shim), it would count the launcher. Start this from the interpreter itself.
    python = sys.executable
    traced = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        python,
        *command[1:],
        "--instructions",
    ]
    child_run = subprocess.run(traced, env=env, check=False, capture_output=True, text=True)
    lines = child_run.stdout.splitlines()
    names = [line.removeprefix("target: ") for line in lines if line.startswith("target: ")]
    if child_run.returncode != 0 or not names:
        print(child_run.stdout, child_run.stderr[-2000:])
        return 1
    labels = [f"target-{index}" for index in range(len(names))]
    counts = _instructions(out, labels, requests)
    bare = counts[labels[0]]
    print(f"instructions per request, {lines[0]}, {requests} requests per target after {WARM_UP} of warm-up:")
    for name, label in zip(names, labels, strict=True):
        print(f"  {name:26} {counts[label]:10,.0f}   {counts[label] / bare:5.2f}x bare")
    return 0


def child() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    try:
        figures = asyncio.run(run(args))
    except RuntimeError as exc:
        print(f"ERROR: {exc}")
        return 1
    database = "PostgreSQL" if os.environ.get("AICLONE_DATABASE_URL") else "SQLite"
    if args.instructions:  # the counts are in callgrind's dumps, read by the parent
        print(database)
        for name in figures:
            print(f"target: {name}")
        return 0
    print(f"process CPU per request, medians of {args.rounds} rounds of {args.requests}, {database}:")
    bare = statistics.median(figures["bare (bench/bare_app.py)"])
    for name, values in figures.items():
        median = statistics.median(values)
        print(
            f"  {name:26} {median:8.1f} us   {median / bare:5.2f}x bare"
            f"   (rounds: {', '.join(f'{v:.0f}' for v in values)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(child() if os.environ.get("AICLONE_ASGI_BENCH_CHILD") == "1" else main())
