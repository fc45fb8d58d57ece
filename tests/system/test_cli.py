"""The ``aiclone`` command, run as a real subprocess the way an operator runs it."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import inspect

from aiclone import cli, migrate
from aiclone.db import build_engine
from tests.conftest import TEST_SECRET, make_settings
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough passphrase 42"
FAST_ARGON2 = {
    "AICLONE_ARGON2_TIME_COST": "2",
    "AICLONE_ARGON2_MEMORY_KIB": str(19 * 1024),
    "AICLONE_ARGON2_PARALLELISM": "1",
}


def cli_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The caller's environment without any AICLONE_* value, pointed at this checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    env["AICLONE_DATA_DIR"] = str(data_dir)
    env["AICLONE_LOG_LEVEL"] = "WARNING"
    env.update(FAST_ARGON2)
    if database_url:
        env["AICLONE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def aiclone(
    *args: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiclone", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
        check=False,
    )


async def tables(url: str) -> set[str]:
    engine = build_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = aiclone("--help", env=cli_env(tmp_path))
    assert result.returncode == 0
    for command in ("serve", "db", "users"):
        assert command in result.stdout


async def test_db_upgrade_current_downgrade(tmp_path: Path, empty_database_url: str) -> None:
    env = cli_env(tmp_path, empty_database_url)
    (head,) = migrate.head_revisions()

    empty = aiclone("db", "current", env=env)
    assert empty.returncode == 0, empty.stderr
    assert head not in empty.stdout

    up = aiclone("db", "upgrade", env={**env, "AICLONE_LOG_LEVEL": "INFO"})
    assert up.returncode == 0, up.stderr
    assert {"users", "refresh_tokens", "alembic_version"} <= await tables(empty_database_url)
    # Each step is told; Alembic's connection preamble is not.
    assert "Running upgrade" in up.stderr
    assert "Context impl" not in up.stderr
    assert "Will assume" not in up.stderr

    current = aiclone("db", "current", env=env)
    assert current.returncode == 0, current.stderr
    assert head in current.stdout
    assert "(head)" in current.stdout

    down = aiclone("db", "downgrade", "base", env=env)
    assert down.returncode == 0, down.stderr
    assert await tables(empty_database_url) <= {"alembic_version"}
    assert head not in aiclone("db", "current", env=env).stdout


async def test_users_create_admin_then_login_gives_an_admin_token(
    tmp_path: Path, empty_database_url: str
) -> None:
    from litestar.testing import AsyncTestClient

    from aiclone.app import create_app

    env = cli_env(tmp_path, empty_database_url, AICLONE_SECRET_KEY=TEST_SECRET)
    created = aiclone(
        "users", "create", "--email", "Boss@Example.com", "--admin", "--password-stdin",
        env=env, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "created admin boss@example.com" in created.stdout
    assert PASSWORD not in created.stdout + created.stderr

    settings = make_settings(empty_database_url, tmp_path)
    async with AsyncTestClient(app=create_app(settings)) as client:
        login = await client.post(
            "/api/auth/login", data={"username": "boss@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], audience="aiclone-api")
        assert claims["role"] == "admin"
        listing = await client.get("/api/admin/users", headers={"Authorization": f"Bearer {token}"})
        assert listing.status_code == 200

    again = aiclone(
        "users", "create", "--email", "boss@example.com", "--password-stdin", env=env, stdin=PASSWORD + "\n"
    )
    assert again.returncode != 0
    assert "already exists" in again.stderr


def test_users_create_refuses_a_weak_password(tmp_path: Path) -> None:
    result = aiclone(
        "users", "create", "--email", "a@example.com", "--password-stdin",
        env=cli_env(tmp_path), stdin="password1234\n",
    )  # fmt: skip
    assert result.returncode != 0
    assert "password" in result.stderr


def test_users_create_without_a_terminal_asks_for_password_stdin(tmp_path: Path) -> None:
    result = aiclone("users", "create", "--email", "a@example.com", env=cli_env(tmp_path), stdin="")
    assert result.returncode != 0
    assert "--password-stdin" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AICLONE_PORT", "abc"), ("AICLONE_ARGON2_MEMORY_KIB", "1024"), ("AICLONE_ENV", "production")],
)
def test_a_bad_setting_stops_serve_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    # The port comes from the environment so that AICLONE_PORT itself can be the bad value.
    env = cli_env(tmp_path, **{"AICLONE_PORT": str(free_port()), variable: value})
    result = aiclone("serve", env=env, timeout=30)
    assert result.returncode != 0
    named = "AICLONE_SECRET_KEY" if variable == "AICLONE_ENV" else variable
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "aiclone.db").exists(), "nothing may happen before the settings are valid"


def test_a_bad_setting_stops_db_commands_too(tmp_path: Path) -> None:
    result = aiclone("db", "upgrade", env=cli_env(tmp_path, AICLONE_DATABASE_URL="mysql://x/y"))
    assert result.returncode != 0
    assert "AICLONE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


async def test_alembic_upgrade_head_from_the_repo_root(tmp_path: Path, empty_database_url: str) -> None:
    env = cli_env(tmp_path, empty_database_url)
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert {"users", "refresh_tokens"} <= await tables(empty_database_url)


def _wait_ready(base: str, process: subprocess.Popen[str], deadline_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the server exited early ({process.returncode}): {err}")
        try:
            response = httpx.get(f"{base}/health/ready", timeout=2)
        except httpx.TransportError as exc:
            last = exc
        else:
            if response.status_code == 200:
                return response
        time.sleep(0.2)
    pytest.fail(f"the server was not ready in {deadline_s} s: {last}")


@pytest.mark.slow
@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_serve_migrates_a_fresh_data_dir_answers_and_stops_on_sigterm(tmp_path: Path, server: str) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiclone", "serve", "--port", str(port), "--server", server],
        env=cli_env(data_dir),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        ready = _wait_ready(base, process)
        assert ready.json() == {"status": "ok", "database": "ok", "schema": "head"}
        assert (data_dir / "aiclone.db").is_file()
        assert (data_dir / "secret_key").is_file()

        register = httpx.post(
            f"{base}/api/auth/register",
            json={"email": "first@example.com", "password": PASSWORD, "full_name": "First"},
            timeout=10,
        )
        assert register.status_code == 201, register.text
        login = httpx.post(
            f"{base}/api/auth/login", data={"username": "first@example.com", "password": PASSWORD}, timeout=10
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        me = httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert me.status_code == 200
        assert me.json()["email"] == "first@example.com"
        # Signed with the key persisted in the data directory.
        key = (data_dir / "secret_key").read_text().strip()
        assert (
            jwt.decode(token, key, algorithms=["HS256"], audience="aiclone-api")["email"]
            == "first@example.com"
        )

        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_tokens_survive_a_restart(tmp_path: Path) -> None:
    """The development key is persisted, so a restarted server accepts the old tokens."""
    data_dir = tmp_path / "data"
    env = cli_env(data_dir)
    token = ""
    for round_ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "aiclone", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, process)
            if round_ == 0:
                httpx.post(
                    f"{base}/api/auth/register",
                    json={"email": "again@example.com", "password": PASSWORD, "full_name": "Again"},
                    timeout=10,
                ).raise_for_status()
                login = httpx.post(
                    f"{base}/api/auth/login",
                    data={"username": "again@example.com", "password": PASSWORD},
                    timeout=10,
                )
                token = login.json()["access_token"]
            me = httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert me.status_code == 200, (round_, me.text)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_worker_processes_agree_on_the_generated_key(tmp_path: Path, server: str) -> None:
    """Two worker processes, no configured key: a token from one is accepted by the other."""
    data_dir = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiclone", "serve", "--port", str(port), "--workers", "2", "--server", server],
        env=cli_env(data_dir),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process)
        httpx.post(
            f"{base}/api/auth/register",
            json={"email": "many@example.com", "password": PASSWORD, "full_name": "Many"},
            timeout=10,
        ).raise_for_status()
        tokens = [
            httpx.post(
                f"{base}/api/auth/login",
                data={"username": "many@example.com", "password": PASSWORD},
                timeout=10,
            ).json()["access_token"]
            for _ in range(4)
        ]
        # Fresh connections are spread over both workers by the kernel.
        statuses = {
            httpx.get(
                f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
            ).status_code
            for token in tokens
            for _ in range(10)
        }
        assert statuses == {200}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err


def test_python_dash_m_and_the_module_entry_agree(tmp_path: Path) -> None:
    result = aiclone("db", "--help", env=cli_env(tmp_path))
    assert result.returncode == 0
    for sub in ("upgrade", "downgrade", "current", "revision"):
        assert sub in result.stdout


async def test_concurrent_upgrades_on_postgresql_take_turns(tmp_path: Path, pg_admin_url: str) -> None:
    """Instances that start together all run `db upgrade`; none may fail on the other's tables."""
    from tests.conftest import create_pg_database, drop_pg_database

    url = await create_pg_database(pg_admin_url)
    try:
        env = cli_env(tmp_path, url)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "aiclone", "db", "upgrade"],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        assert {"users", "refresh_tokens"} <= await tables(url)
    finally:
        await drop_pg_database(pg_admin_url, url)


async def test_users_delete_erases_the_account_and_refuses_the_last_admin(
    tmp_path: Path, empty_database_url: str
) -> None:
    env = cli_env(tmp_path, empty_database_url, AICLONE_SECRET_KEY=TEST_SECRET)
    assert aiclone("db", "upgrade", env=env).returncode == 0
    for email, admin in (("boss@example.com", ["--admin"]), ("ann@example.com", [])):
        made = aiclone(
            "users", "create", "--email", email, *admin, "--password-stdin", env=env, stdin=PASSWORD + "\n"
        )
        assert made.returncode == 0, made.stderr

    unconfirmed = aiclone("users", "delete", "ann@example.com", env=env, stdin="")
    assert unconfirmed.returncode != 0
    assert "--yes" in unconfirmed.stderr

    deleted = aiclone("users", "delete", "Ann@Example.com", "--yes", env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted ann@example.com" in deleted.stdout
    again = aiclone("users", "delete", "ann@example.com", "--yes", env=env)
    assert again.returncode != 0
    assert "No account" in again.stderr

    last = aiclone("users", "delete", "boss@example.com", "--yes", env=env)
    assert last.returncode != 0
    assert "last active admin" in last.stderr


# In-process: the entry point itself, for what needs no server and no second process.


def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield name, child
                for deeper, grandchild in _subcommands(child):
                    yield f"{name} {deeper}", grandchild


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"aiclone {importlib.metadata.version('aiclone')}\n"


def test_every_command_documents_its_exit_codes() -> None:
    commands = dict(_subcommands(cli.build_parser()))
    assert {"serve", "worker", "db upgrade", "users create", "analytics rebuild"} <= set(commands)
    for name, parser in [("aiclone", cli.build_parser()), *commands.items()]:
        text = " ".join(parser.format_help().split())
        assert "exit status: 0 " in text, name
        assert "; 2 bad command line" in text, name
    assert "3 the HTTP server could not start" in " ".join(commands["serve"].format_help().split())
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "Exit status" in readme
    assert "3 the HTTP server could not start" in readme


def _settings_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    for name in [name for name in os.environ if name.startswith("AICLONE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AICLONE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AICLONE_LOG_LEVEL", "WARNING")


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_an_unknown_revision_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    _settings_env(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["db", command, "no-such-revision"])
    assert (
        stopped.value.code == f"aiclone: db {command}: Can't locate revision identified by 'no-such-revision'"
    )
    assert "Traceback" not in capsys.readouterr().err


def test_serve_with_granian_missing_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings_env(monkeypatch, tmp_path)
    # None in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "granian", None)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--server", "granian", "--port", str(free_port())])
    assert stopped.value.code == (
        "aiclone: --server granian needs the granian extra: pip install 'aiclone[granian]'"
    )
    assert not (tmp_path / "aiclone.db").exists(), "it stops before migrating anything"
