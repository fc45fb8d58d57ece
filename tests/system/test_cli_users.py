"""``aiclone users list|set-role|deactivate|activate`` against a running app's database."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import TEST_SECRET
from tests.support.factories import UserFactory
from tests.system.test_cli import aiclone, cli_env

Client = AsyncTestClient[Litestar]


async def _cli(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(tmp_path, database_url, AICLONE_SECRET_KEY=TEST_SECRET, AICLONE_AUTO_MIGRATE="false")
    return await asyncio.to_thread(aiclone, "users", *args, env=env)


async def _until_status(client: Client, headers: dict[str, str], status: int) -> None:
    # Another process changed the row: NOTIFY on PostgreSQL, a fresh read within 0.5 s on SQLite.
    deadline = asyncio.get_running_loop().time() + 10
    while (response := await client.get("/api/prospects", headers=headers)).status_code != status:
        assert asyncio.get_running_loop().time() < deadline, response.text
        await asyncio.sleep(0.05)


async def test_cli_deactivates_activates_and_changes_roles(
    client: Client, users: UserFactory, database_url: str, tmp_path: Path
) -> None:
    admin = await users.create(admin=True)
    user = await users.create()

    listed = await _cli(tmp_path, database_url, "list")
    assert listed.returncode == 0, listed.stderr
    assert user.email in listed.stdout
    assert admin.email in listed.stdout
    only_admins = await _cli(tmp_path, database_url, "list", "--role", "admin")
    assert user.email not in only_admins.stdout

    off = await _cli(tmp_path, database_url, "deactivate", user.email.upper())
    assert off.returncode == 0, off.stderr
    assert "inactive" in off.stdout
    await _until_status(client, user.headers, 401)
    assert (await users.login(user.email)).status_code == 401

    on = await _cli(tmp_path, database_url, "activate", str(user.id))
    assert on.returncode == 0, on.stderr
    assert (await users.login(user.email)).status_code == 200

    promoted = await _cli(tmp_path, database_url, "set-role", user.email, "admin")
    assert promoted.returncode == 0, promoted.stderr
    assert " admin " in promoted.stdout
    await _until_status(client, admin.headers, 200)  # the other admin is untouched


async def test_cli_refuses_to_remove_the_last_admin_and_unknown_users(
    client: Client, users: UserFactory, database_url: str, tmp_path: Path
) -> None:
    admin = await users.create(admin=True)
    refused = await _cli(tmp_path, database_url, "set-role", admin.email, "user")
    assert refused.returncode != 0
    assert "last active admin" in refused.stderr
    assert (await client.get("/api/admin/users", headers=admin.headers)).status_code == 200
    unknown = await _cli(tmp_path, database_url, "deactivate", "nobody@example.com")
    assert unknown.returncode != 0
    assert "No user" in unknown.stderr
