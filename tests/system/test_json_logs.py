"""In production every line a process writes is one JSON object: the servers' own lines,
alembic's, the app's, and tracebacks (in an ``exception`` field), as real processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_support import ROOT, http, server_env
from tests.support.ports import free_port

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _production_env(tmp_path: Path, database_url: str, **settings: object) -> dict[str, str]:
    env = server_env(database_url, tmp_path / "data", **settings)
    env["AICLONE_ENV"] = "production"
    env.pop("AICLONE_LOG_FORMAT", None)  # auto: JSON because of production
    return env


def _json_lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # raises on any line that is not JSON
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "aiclone", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_migration_run_and_an_uncaught_error_are_json(tmp_path: Path, database_url: str) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    migrated = _run(["db", "upgrade"], _production_env(tmp_path, fresh))
    assert migrated.returncode == 0, migrated.stderr
    lines = _json_lines(migrated.stdout) + _json_lines(migrated.stderr)
    assert any(
        e["logger"] == "alembic.runtime.migration" and "Running upgrade" in e["message"] for e in lines
    )
    # A database that refuses the connection: an uncaught error, with its traceback.
    unreachable = f"postgresql+asyncpg://aiclone@127.0.0.1:{free_port()}/aiclone"
    failed = _run(["db", "current"], _production_env(tmp_path, unreachable))
    assert failed.returncode != 0
    entries = _json_lines(failed.stdout) + _json_lines(failed.stderr)
    [crash] = [e for e in entries if "exception" in e]
    assert crash["level"] == "CRITICAL"
    assert crash["exception"].startswith("Traceback (most recent call last):")
    assert "\n" in crash["exception"]  # the traceback's lines, inside one JSON line


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
async def test_a_production_server_writes_only_json(server: str, tmp_path: Path, database_url: str) -> None:
    port = free_port()
    env = _production_env(tmp_path, database_url)
    args = [
        "-m",
        "tests.support.serving_harness",
        "serve",
        "--port",
        str(port),
        "--no-migrate",
        "--server",
        server,
    ]
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
    try:
        async with http(f"http://127.0.0.1:{port}", timeout=2) as client:
            for _ in range(300):
                assert proc.poll() is None, err.read_text()
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except Exception:
                    pass
                await asyncio.sleep(0.2)
            failed = await client.get("/_test/fail")
        assert failed.status_code == 500
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    entries = _json_lines(out.read_text()) + _json_lines(err.read_text())
    loggers = {entry["logger"] for entry in entries}
    server_logger = "uvicorn.error" if server == "uvicorn" else "_granian"
    assert server_logger in loggers, loggers
    [crash] = [e for e in entries if "exception" in e]
    assert "ForcedFailure: forced for a test\nwith a second line" in crash["exception"]
    assert not any("color_message" in entry for entry in entries)
