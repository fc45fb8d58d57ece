"""What the rate limiter costs: GET /api/auth/me with the limiter off, on (memory) and on (Redis).

Each variant runs ``aiclone serve`` (uvicorn, one worker) in its own subprocess on the same
migrated SQLite database; the load comes from a separate process (a small keep-alive HTTP/1.1
client on asyncio) holding N connections, each sending the next request as soon as the last
answer is in. The limits are set far above what the run can reach, so every request is
counted and none is refused. All servers start first; then the variants take turns, round
after round, and the medians are compared, so a neighbour's burst of CPU hits every variant
alike.

    python bench/ratelimit.py [--seconds 4] [--rounds 6] [--connections 32] [--no-redis]

Goal: the limiter (memory storage, the default) costs at most 15% of throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-" + "x" * 40
PASSWORD = "a long enough passphrase 42"
HIGH_LIMIT = "1000000000/minute"
OFF = "limiter off"
MEMORY = "limiter on (memory)"
REDIS = "limiter on (redis)"


# --- the load generator (runs in its own process) ---------------------------------------------


async def _connection(host: str, port: int, request: bytes, stop_at: float, counts: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


async def _load(host: str, port: int, token: str, seconds: float, connections: int) -> dict[str, object]:
    request = (
        f"GET /api/auth/me HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    counts: dict[int, int] = {}
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_connection(host, port, request, stop_at, counts) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "statuses": counts, "requests": sum(counts.values())}


def load_main(argv: list[str]) -> None:
    host, port, token, seconds, connections = argv[0], int(argv[1]), argv[2], float(argv[3]), int(argv[4])
    try:
        import uvloop  # noqa: PLC0415 - the client is faster on uvloop when it is installed

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(host, port, token, seconds, connections))))


# --- the orchestration ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = _free_port()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
        full_env.update(env)
        full_env["PYTHONPATH"] = f"{ROOT / 'src'}:{ROOT}"
        self.log = (workdir / f"server-{self.port}.log").open("wb")
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
            cwd=workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited; see " + self.log.name)
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _token(port: int, email: str) -> str:
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as http:
        http.post("/api/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Bench"})
        login = http.post("/api/auth/login", data={"username": email, "password": PASSWORD})
        login.raise_for_status()
        token: str = login.json()["access_token"]
        return token


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(port: int, pid: int, token: str, seconds: float, connections: int) -> dict[str, object]:
    # Warm up (connections, caches, the JIT-less interpreter's own caches), then measure.
    cpu_before = 0.0
    for duration in (1.0, seconds):
        cpu_before = _cpu_seconds(pid)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--load",
                "127.0.0.1",
                str(port),
                token,
                str(duration),
                str(connections),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, object] = json.loads(out.stdout)
    result["server_cpu"] = _cpu_seconds(pid) - cpu_before
    return result


def _drop_keys(prefix: str) -> None:
    import redis  # noqa: PLC0415 - only when the Redis variant ran

    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one measured run")
    parser.add_argument("--rounds", type=int, default=6, help="runs per variant, interleaved")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis variant")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from aiclone import migrate  # noqa: PLC0415 - after the path is set

    workdir = Path(tempfile.mkdtemp(prefix="aiclone-bench-"))
    database = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    migrate.upgrade(database)
    base_env = {
        "AICLONE_ENV": "test",
        "AICLONE_DATABASE_URL": database,
        "AICLONE_DATA_DIR": str(workdir),
        "AICLONE_SECRET_KEY": SECRET,
        "AICLONE_LOG_LEVEL": "WARNING",
        "AICLONE_RATE_LIMIT": HIGH_LIMIT,
        "AICLONE_RATE_LIMIT_USER": HIGH_LIMIT,
        "AICLONE_RATE_LIMIT_LOGIN": HIGH_LIMIT,
        "AICLONE_RATE_LIMIT_REGISTER": HIGH_LIMIT,
    }
    variants: dict[str, dict[str, str]] = {
        OFF: {"AICLONE_RATE_LIMIT_ENABLED": "false"},
        MEMORY: {"AICLONE_RATE_LIMIT_ENABLED": "true"},
    }
    if not args.no_redis and _redis_up():
        variants[REDIS] = {
            "AICLONE_RATE_LIMIT_ENABLED": "true",
            "AICLONE_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0",
            "AICLONE_RATE_LIMIT_KEY_PREFIX": f"aiclone-bench-{uuid.uuid4().hex[:8]}",
        }
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    servers: dict[str, Server] = {}
    try:
        for name, extra in variants.items():
            servers[name] = Server({**base_env, **extra}, workdir)
        tokens = {name: _token(server.port, email) for name, server in servers.items()}
        rates: dict[str, list[float]] = {name: [] for name in variants}
        cpu_us: dict[str, list[float]] = {name: [] for name in variants}
        print(
            f"GET /api/auth/me, {args.connections} connections, {args.seconds:.0f} s per run, "
            f"{args.rounds} interleaved rounds, {os.cpu_count()} CPUs"
        )
        for round_number in range(1, args.rounds + 1):
            for name, server in servers.items():
                result = _measure(
                    server.port, server.process.pid, tokens[name], args.seconds, args.connections
                )
                requests = float(result["requests"])  # type: ignore[arg-type]
                rate = requests / float(result["elapsed"])  # type: ignore[arg-type]
                per_request = float(result["server_cpu"]) / requests * 1e6  # type: ignore[arg-type]
                rates[name].append(rate)
                cpu_us[name].append(per_request)
                print(
                    f"  round {round_number}  {name:<20} {rate:8.0f} req/s  {per_request:6.0f} us server CPU/request"
                    f"  statuses {result['statuses']}"
                )
    finally:
        for server in servers.values():
            server.stop()
        if REDIS in variants:
            _drop_keys(variants[REDIS]["AICLONE_RATE_LIMIT_KEY_PREFIX"])

    baseline = _median(rates[OFF])
    print("\nmedian of rounds (overhead = throughput lost against the limiter off):")
    for name, values in rates.items():
        rate = _median(values)
        paired = [(off - on) / off * 100 for off, on in zip(rates[OFF], values, strict=True)]
        note = "" if name == OFF else f"  overhead {(baseline - rate) / baseline * 100:5.1f}%"
        note += "" if name == OFF else f"  (median of per-round overheads {_median(paired):5.1f}%)"
        print(f"  {name:<20} {rate:8.0f} req/s{note}")
    cpu_baseline = _median(cpu_us[OFF])
    print("\nmedian server CPU per request (less sensitive to other load on the machine):")
    for name, values in cpu_us.items():
        cost = _median(values)
        extra = cost - cpu_baseline
        note = "" if name == OFF else f"  {extra:+6.0f} us ({extra / cpu_baseline * 100:+5.1f}%)"
        print(f"  {name:<20} {cost:8.0f} us{note}")
    overhead = (baseline - _median(rates[MEMORY])) / baseline * 100
    cpu_overhead = (_median(cpu_us[MEMORY]) - cpu_baseline) / cpu_baseline * 100
    verdict = "met" if max(overhead, cpu_overhead) <= 15 else "NOT met"
    print(
        f"\ngoal: memory limiter costs <= 15%: {verdict} "
        f"(throughput {overhead:.1f}%, CPU per request {cpu_overhead:.1f}%)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load_main(sys.argv[2:])
    else:
        main()
