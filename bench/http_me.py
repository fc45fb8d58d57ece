"""Benchmark: ``GET /api/auth/me`` (JWT check + user lookup) against a bare Litestar endpoint.

Starts the real server (``aiclone serve``) in a subprocess on a free port with a fresh SQLite
database (and, with ``--postgres``, a throwaway PostgreSQL database), registers a user, and
drives ``/api/auth/me`` with concurrent keep-alive clients from a separate load process. In the
same run it serves ``bench/bare_app.py`` with the same server code and settings and drives that.
Both servers (uvicorn and granian) are measured. The load generator is ``wrk`` when installed,
otherwise bench/loadgen.py.

    python bench/http_me.py                     # 10 s per measurement, 32 connections
    python bench/http_me.py --rounds 3          # median of 3 interleaved rounds (shared machines)
    python bench/http_me.py --postgres          # also on PostgreSQL (AICLONE_TEST_POSTGRES_URL)
    python bench/http_me.py --duration 5 --servers granian --load python
    python bench/http_me.py --baseline /tmp/aiclone-before   # also me from an older tree, same run

Goal: ``me`` at >= 50% of the bare endpoint's requests/s with the same server.

Each ``me`` server is also driven with an API key of the same user (``me (api key)``), and the
ratio ``key/jwt`` is printed per server and database. Goal: >= 90%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench passphrase 1234"
DEFAULT_PG = os.environ.get(
    "AICLONE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
GOAL = 0.5
BASELINE = "me (baseline)"
WITH_KEY = "me (api key)"
KEY_GOAL = 0.9


@dataclass
class Result:
    server: str
    endpoint: str
    database: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def base_env(repo: Path = REPO, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo / "src"), str(repo), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


@contextmanager
def running(cmd: list[str], env: dict[str, str], ready_url: str, cwd: Path = REPO) -> Iterator[None]:
    process = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(cmd)} exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} not ready after 60 s")
            time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_WRK_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load(
    tool: str, url: str, headers: list[str], connections: int, duration: float, threads: int
) -> dict[str, float]:
    if tool == "wrk":
        cmd = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s"]
        for header in headers:
            cmd += ["-H", header]
        out = subprocess.run(
            [*cmd, url], capture_output=True, text=True, check=True, timeout=duration + 60
        ).stdout
        percentiles = {p: float(v) * _UNIT_MS[unit] for p, v, unit in _WRK_LATENCY.findall(out)}
        rps = _WRK_RPS.search(out)
        if rps is None or set(percentiles) != {"50", "99"}:
            raise RuntimeError(f"could not read wrk output:\n{out}")
        non2xx = _WRK_NON2XX.search(out)
        errors = int(non2xx.group(1)) if non2xx else 0
        if socket_errors := _WRK_ERRORS.search(out):
            errors += sum(int(n) for n in socket_errors.groups())
        return {
            "rps": float(rps.group(1)),
            "p50_ms": percentiles["50"],
            "p99_ms": percentiles["99"],
            "errors": errors,
        }
    cmd = [
        sys.executable,
        str(REPO / "bench" / "loadgen.py"),
        url,
        f"--connections={connections}",
        f"--duration={duration}",
    ]
    for header in headers:
        cmd += ["--header", header]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(args: argparse.Namespace, url: str, headers: list[str]) -> dict[str, float]:
    if args.warmup > 0:
        load(args.load, url, headers, args.connections, args.warmup, args.threads)
    return load(args.load, url, headers, args.connections, args.duration, args.threads)


def sign_in(base: str) -> str:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    httpx.post(
        f"{base}/api/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": "Bench"},
        timeout=30,
    ).raise_for_status()
    login = httpx.post(f"{base}/api/auth/login", data={"username": email, "password": PASSWORD}, timeout=30)
    login.raise_for_status()
    token: str = login.json()["access_token"]
    me = httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    me.raise_for_status()
    return token


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"aiclone_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_pg_dsn(admin_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Target:
    server: str
    endpoint: str
    database: str
    url: str
    headers: list[str]


def start_bare(stack: ExitStack, server: str) -> Target:
    port = free_port()
    url = f"http://127.0.0.1:{port}/bare"
    cmd = [sys.executable, str(REPO / "bench" / "bare_app.py"), "--server", server, "--port", str(port)]
    stack.enter_context(running(cmd, base_env(), url))
    return Target(server, "bare /bare", "-", url, [])


def start_me(
    stack: ExitStack, server: str, database: str, database_url: str | None, repo: Path = REPO
) -> Target:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="aiclone-bench-"))
    env = base_env(
        repo,
        AICLONE_DATA_DIR=data_dir,
        AICLONE_LOG_LEVEL="WARNING",
        # OWASP's minimum keeps the one registration quick; it does not touch /me.
        AICLONE_ARGON2_TIME_COST="2",
        AICLONE_ARGON2_MEMORY_KIB=str(19 * 1024),
        AICLONE_ARGON2_PARALLELISM="1",
        # The per-user and per-address quotas would answer most of the load with 429s, and a
        # ratio over refused requests measures the limiter, not the endpoint.
        AICLONE_RATE_LIMIT_ENABLED="false",
        **({"AICLONE_DATABASE_URL": database_url} if database_url else {}),
    )
    cmd = [sys.executable, "-m", "aiclone", "serve", "--server", server, "--port", str(port)]
    stack.enter_context(running(cmd, env, f"{base}/health/ready", cwd=repo))
    token = sign_in(base)
    endpoint = "/api/auth/me" if repo == REPO else BASELINE
    return Target(server, endpoint, database, f"{base}/api/auth/me", [f"Authorization: Bearer {token}"])


def with_key(me: Target) -> Target:
    """The same server and user, authenticated with an API key instead of the access token."""
    base = me.url.removesuffix("/api/auth/me")
    created = httpx.post(
        f"{base}/api/api-keys",
        json={"name": "bench", "scopes": ["prospects:read"]},
        headers=dict([me.headers[0].split(": ", 1)]),
        timeout=10,
    )
    created.raise_for_status()
    key: str = created.json()["key"]
    httpx.get(me.url, headers={"Authorization": f"Bearer {key}"}, timeout=10).raise_for_status()
    return Target(me.server, WITH_KEY, me.database, me.url, [f"Authorization: Bearer {key}"])


def median_result(target: Target, runs: list[dict[str, float]]) -> Result:
    return Result(
        target.server,
        target.endpoint,
        target.database,
        rps=statistics.median(r["rps"] for r in runs),
        p50_ms=statistics.median(r["p50_ms"] for r in runs),
        p99_ms=statistics.median(r["p99_ms"] for r in runs),
        errors=int(sum(r["errors"] for r in runs)),
    )


def report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(
        f"load: {args.load}, {args.connections} connections"
        + (f", {args.threads} threads" if args.load == "wrk" else "")
        + f", {args.duration:g} s per measurement after {args.warmup:g} s warm-up, 1 server worker,"
        + f" median of {args.rounds} round(s)"
    )
    columns = ("req/s", "p50 ms", "p99 ms", "errors", "me/bare")
    print(f"{'server':8} {'endpoint':14} {'database':10} " + " ".join(f"{c:>9}" for c in columns))
    # ("me (api key)" is wider than the column; the rows stay readable.)
    bare = {r.server: r.rps for r in results if r.endpoint.startswith("bare")}
    for r in results:
        # Requests/s over non-2xx answers (429s, 401s) say nothing about the endpoint: no ratio.
        ratio = "" if r.endpoint.startswith("bare") else f"{r.rps / bare[r.server]:.0%}"
        if r.errors:
            ratio = "invalid"
        print(
            f"{r.server:8} {r.endpoint:14} {r.database:10} {r.rps:9.0f} {r.p50_ms:9.2f} {r.p99_ms:9.2f}"
            f" {r.errors:9d} {ratio:>9}"
        )
    for r in results:
        if not r.errors and not r.endpoint.startswith("bare") and r.rps < GOAL * bare[r.server]:
            print(
                f"below goal: {r.server} {r.database} me at {r.rps / bare[r.server]:.0%} of bare (goal {GOAL:.0%})"
            )
    if len(bare) == 2 and not any(r.errors for r in results):
        print(f"granian / uvicorn on bare: {bare['granian'] / bare['uvicorn']:.2f}x")
        for database in sorted({r.database for r in results if r.database != "-"}):
            me = {r.server: r.rps for r in results if r.database == database and r.endpoint == "/api/auth/me"}
            print(f"granian / uvicorn on me ({database}): {me['granian'] / me['uvicorn']:.2f}x")
    for r in results:
        if r.endpoint == BASELINE and not r.errors:
            now = next(
                x
                for x in results
                if x.endpoint == "/api/auth/me" and (x.server, x.database) == (r.server, r.database)
            )
            if not now.errors:
                print(f"me / baseline me: {r.server} {r.database}: {now.rps / r.rps:.2f}x")
    for r in results:
        if r.endpoint == WITH_KEY and not r.errors:
            jwt = next(
                x
                for x in results
                if x.endpoint == "/api/auth/me" and (x.server, x.database) == (r.server, r.database)
            )
            if not jwt.errors:
                ratio = r.rps / jwt.rps
                verdict = "" if ratio >= KEY_GOAL else f"  below goal ({KEY_GOAL:.0%})"
                print(f"key/jwt on me: {r.server} {r.database}: {ratio:.0%}{verdict}")
    if any(r.errors for r in results):
        print("ERROR: some answers were not 2xx; no ratio is printed for those targets")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of unrecorded load first (default 2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every target this many times, interleaved"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--servers", default="uvicorn,granian", help="comma-separated (default uvicorn,granian)"
    )
    parser.add_argument(
        "--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="ADMIN_URL",
        help="also measure on a throwaway PostgreSQL database (default AICLONE_TEST_POSTGRES_URL or local)",
    )  # fmt: skip
    parser.add_argument("--load", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--baseline", type=Path, default=None, metavar="TREE",
        help="also measure me served from another source tree (e.g. a git worktree of an older commit)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.load == "auto":
        args.load = "wrk" if shutil.which("wrk") else "python"
        if args.load == "python":
            print(
                "wrk not found (apt-get install wrk); using the slower Python load generator", file=sys.stderr
            )
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    with ExitStack() as stack:
        # Every server starts once and idles while another is measured; the rounds interleave
        # them, so a slow spell on a shared machine hits all targets alike.
        pg_url = stack.enter_context(postgres_database(args.postgres)) if args.postgres else None
        # The baseline may be at another schema revision: it gets its own database.
        base_pg = (
            stack.enter_context(postgres_database(args.postgres)) if args.postgres and args.baseline else None
        )
        targets: list[Target] = []
        for server in servers:
            print(f"starting {server} servers ...", flush=True)
            targets.append(start_bare(stack, server))
            targets.append(start_me(stack, server, "sqlite", None))
            targets.append(with_key(targets[-1]))
            if pg_url:
                targets.append(start_me(stack, server, "postgresql", pg_url))
                targets.append(with_key(targets[-1]))
            if args.baseline:
                targets.append(start_me(stack, server, "sqlite", None, args.baseline.resolve()))
                if base_pg:
                    targets.append(start_me(stack, server, "postgresql", base_pg, args.baseline.resolve()))
        runs: list[list[dict[str, float]]] = [[] for _ in targets]
        for round_ in range(args.rounds):
            for target, collected in zip(targets, runs, strict=True):
                print(
                    f"round {round_ + 1}: {target.server} {target.endpoint} {target.database} ...", flush=True
                )
                collected.append(measure(args, target.url, target.headers))
    results = [median_result(target, collected) for target, collected in zip(targets, runs, strict=True)]
    report(results, args)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
