"""Cold start: from ``aiclone serve`` to the first ``/health`` 200, against a bare Litestar app.

    python bench/cold_start.py                        # 5 interleaved rounds
    python bench/cold_start.py --baseline /tmp/before  # also an older tree, same rounds

Each round starts, as fresh processes polled every 10 ms from this one:

* ``bare``: bench/bare_app.py (one Litestar route, no database) under the same server code;
* ``serve``: ``python -m aiclone serve`` on an SQLite database already at head (a restart:
  the start-up migration check finds nothing to do), workers on, defaults otherwise;
* ``first run``: the same on an empty data directory (creates and migrates the database);
* with ``--baseline``, ``serve`` and ``first run`` of the other tree.

It prints the median seconds of each and the ratio to ``bare``. Goal: ``serve`` <= 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 1.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env_for(tree: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    env["PYTHONPATH"] = f"{tree / 'src'}:{tree}"
    env["AICLONE_DATA_DIR"] = str(data_dir)
    env["AICLONE_LOG_LEVEL"] = "WARNING"
    return env


def time_to_ready(cmd: list[str], env: dict[str, str], url: str, cwd: Path, timeout: float = 180) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with httpx.Client(timeout=1) as client:
            while True:
                if process.poll() is not None:
                    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    raise RuntimeError(f"{' '.join(cmd)} exited: {err[-2000:]}")
                try:
                    if client.get(url).status_code == 200:
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")
                time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bare(_: Path) -> float:
    port = free_port()
    cmd = [sys.executable, str(ROOT / "bench" / "bare_app.py"), "--port", str(port)]
    return time_to_ready(cmd, env_for(ROOT, ROOT), f"http://127.0.0.1:{port}/bare", ROOT)


def serve(tree: Path, data_dir: Path) -> float:
    port = free_port()
    cmd = [sys.executable, "-m", "aiclone", "serve", "--port", str(port)]
    return time_to_ready(cmd, env_for(tree, data_dir), f"http://127.0.0.1:{port}/health", tree)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, metavar="TREE")
    args = parser.parse_args()
    trees = {"": ROOT} | ({" (baseline)": args.baseline.resolve()} if args.baseline else {})
    work = Path(tempfile.mkdtemp(prefix="aiclone-bench-cold-"))
    times: dict[str, list[float]] = {"bare": []}
    print(f"cold start, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}", flush=True)
    try:
        restart_dirs = {}
        for suffix, tree in trees.items():
            restart_dirs[suffix] = work / f"restart{suffix.strip(' ()')}"
            serve(tree, restart_dirs[suffix])  # creates and migrates the database once
            times[f"serve{suffix}"] = []
            times[f"first run{suffix}"] = []
        for round_ in range(args.rounds):
            times["bare"].append(bare(ROOT))
            for suffix, tree in trees.items():
                times[f"serve{suffix}"].append(serve(tree, restart_dirs[suffix]))
                fresh = work / f"fresh-{round_}{suffix.strip(' ()')}"
                times[f"first run{suffix}"].append(serve(tree, fresh))
            print(
                f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(times["bare"])
    print(f"\nmedian of {args.rounds} (load average {os.getloadavg()[0]:.1f} at the end):")
    for name, values in times.items():
        median = statistics.median(values)
        goal = f"  (goal <= {GOAL_S:g} s)" if name.startswith("serve") else ""
        print(f"  {name:<22} {median:6.2f} s  {median / base:5.2f}x bare{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
