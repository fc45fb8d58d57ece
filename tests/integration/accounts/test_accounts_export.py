"""GET /api/auth/me/export: a ZIP of everything the user owns, no secrets, nobody else's rows."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from aiclone.accounts.export import EXCLUDED_TABLES
from aiclone.auth.models import User
from aiclone.container import Services
from aiclone.errors import TooManyRequests
from aiclone.settings import Settings
from aiclone.webhooks.models import WebhookEndpoint
from tests.conftest import make_settings
from tests.integration.accounts.test_accounts_erasure import populate, rows_of
from tests.support.factories import UserFactory

Client = AsyncTestClient[Litestar]
EXPORT = "/api/auth/me/export"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, run_workers=False, webhook_allow_private=True)


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {json.dumps(row, sort_keys=True) for row in rows}


async def test_the_export_has_every_table_of_the_user_and_no_secret(
    client: Client, users: UserFactory, services: Services
) -> None:
    alice, bob = await users.create(), await users.create()
    for user in (alice, bob):
        await populate(client, services, user)

    response = await client.get(EXPORT, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="aiclone-account-')
    body = response.content

    # Secrets of either user appear nowhere, in any form.
    async with services.db.read_session() as session:
        hashes = list((await session.scalars(select(User.password_hash))).all())
        sealed = list((await session.scalars(select(WebhookEndpoint.secret_sealed))).all())
    archive = zipfile.ZipFile(io.BytesIO(body))
    text = b"".join(archive.read(name) for name in archive.namelist())
    assert b"$argon2" not in text
    for secret in [*hashes, *sealed]:
        assert secret.encode() not in text
    assert b"whsec_" not in text
    data_files = b"".join(archive.read(name) for name in archive.namelist() if name != "manifest.json")
    for column in (b"token_hash", b"password_hash", b"secret_sealed"):
        assert b'"' + column + b'"' not in data_files

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["user_id"] == str(alice.id)
    assert manifest["exported_at"].endswith("Z")
    assert "password_hash" in manifest["withheld_columns"]["users"]
    owned = await rows_of(services, alice.id)
    expected = {name for name in owned if name not in EXCLUDED_TABLES}
    assert set(manifest["tables"]) == expected
    assert set(archive.namelist()) == {f"{name}.json" for name in expected} | {"manifest.json"}
    assert not {f"{name}.json" for name in EXCLUDED_TABLES} & set(archive.namelist())

    text_of_bob = [str(bob.id), bob.email]
    for name in expected:
        rows = json.loads(archive.read(f"{name}.json"))
        assert len(rows) == len(owned[name]) == manifest["tables"][name]["rows"], name
        assert rows, f"{name}: no rows exported"
        dumped = json.dumps(rows)
        for marker in text_of_bob:
            assert marker not in dumped, name
    (me,) = json.loads(archive.read("users.json"))
    assert me["email"] == alice.email
    assert "password_hash" not in me


async def test_export_needs_a_token_and_is_one_at_a_time(client: Client, users: UserFactory) -> None:
    anonymous = await client.get(EXPORT)
    assert anonymous.status_code == 401
    assert anonymous.json()["type"].endswith("/unauthenticated")
    user = await users.create()
    # Two downloads in a row both work: the slot is given back when the first ends.
    for _ in range(2):
        response = await client.get(EXPORT, headers=user.headers)
        assert response.status_code == 200
        assert "manifest.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()


async def test_a_second_export_while_one_streams_is_refused(users: UserFactory, services: Services) -> None:
    user, other = await users.create(), await users.create()
    accounts = services.account_data
    accounts.max_concurrent_exports = 2
    first = await accounts.start_export(user.id)
    assert await anext(first.body)  # now streaming, holding its slot
    with pytest.raises(TooManyRequests) as same_user:
        await accounts.start_export(user.id)
    assert same_user.value.retry_after is not None
    second = await accounts.start_export(other.id)
    assert await anext(second.body)
    third = await users.create()
    with pytest.raises(TooManyRequests):
        await accounts.start_export(third.id)
    for download in (first, second):
        await download.body.aclose()  # type: ignore[attr-defined]
    assert accounts._exports == 0  # the slots are back
    again = await accounts.start_export(third.id)
    chunks = [chunk async for chunk in again.body]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(b"".join(chunks))).namelist()
