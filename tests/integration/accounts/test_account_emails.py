"""Look-alike addresses are one account; confusable ones are refused (see aiclone.auth.emails)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from aiclone import migrate
from aiclone.db import UTCDateTime, build_engine
from tests.support.factories import DEFAULT_PASSWORD

Client = AsyncTestClient[Litestar]
CONFLICT = "https://aiclone.dev/problems/conflict"
INVALID = "https://aiclone.dev/problems/validation-error"
# The users table as revision 0009 left it.
_USERS_AT_0009 = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("full_name", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("role", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


async def _register(client: Client, email: str) -> object:
    return await client.post(
        "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Alice"}
    )


@pytest.mark.parametrize(
    "look_alike",
    [
        "\uff41\uff4c\uff49\uff43\uff45@example.com",  # fullwidth letters
        "\uff41\uff4c\uff49\uff43\uff45\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # fullwidth @ and domain
        "AL\u0130CE@example.com",  # capital I with dot above
        "ALICE@EXAMPLE.COM",
        "  alice@example.com ",
    ],
)
async def test_a_look_alike_of_an_address_is_the_same_account(client: Client, look_alike: str) -> None:
    assert (await _register(client, "alice@example.com")).status_code == 201
    duplicate = await _register(client, look_alike)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["type"] == CONFLICT
    login = await client.post("/api/auth/login", data={"username": look_alike, "password": DEFAULT_PASSWORD})
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("al\u0131ce@example.com", "dotless"),  # dotless i
        ("\u0430lice@example.com", "mixes scripts"),  # Cyrillic a among Latin letters
        ("alice@ex\u0430mple.com", "mixes scripts"),  # ... in the domain
        ("a\u200blice@example.com", "invisible"),  # zero-width space
        ("stra\u00dfe@example.com", "case folding"),  # sharp s would fold to "ss"
    ],
)
async def test_confusable_addresses_are_refused(client: Client, address: str, reason: str) -> None:
    response = await _register(client, address)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == INVALID
    [error] = response.json()["errors"]
    assert error["field"] == "email"
    assert reason in error["message"]


@pytest.mark.parametrize(
    ("spelling", "stored"),
    [
        ("user@xn--exmple-cua.com", "user@ex\u00e4mple.com"),  # an A-label is stored as its U-label
        ("User@EX\u00c4MPLE.com", "user@ex\u00e4mple.com"),
        ("\u5c71\u7530@\u4f8b\u3048.jp", "\u5c71\u7530@\u4f8b\u3048.jp"),  # Han with Hiragana: allowed
        (
            "\u03a3\u03a9\u039a\u03a1\u0391\u03a4\u0397\u03a3@example.gr",
            "\u03c3\u03c9\u03ba\u03c1\u03b1\u03c4\u03b7\u03c3@example.gr",
        ),
    ],
)
async def test_canonical_forms(client: Client, spelling: str, stored: str) -> None:
    response = await _register(client, spelling)
    assert response.status_code == 201, response.text
    assert response.json()["email"] == stored


async def test_the_migration_verifies_existing_accounts_and_canonicalises_their_addresses(
    empty_database_url: str,
) -> None:
    await asyncio.to_thread(migrate.upgrade, empty_database_url, "0009")
    rows = {
        "plain": "bob@example.com",
        "fullwidth": "\uff42\uff4f\uff42@example.org",  # lower-cased, but still fullwidth
        "dotted": "ali\u0307ce@example.com",  # how lower() stored "ALİCE"
        "twin": "alice@example.com",  # the canonical form of "dotted" already belongs to it
        "refused": "stra\u00dfe@example.com",
    }
    ids = {name: uuid.uuid4() for name in rows}
    engine = build_engine(empty_database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            await conn.execute(
                _USERS_AT_0009.insert(),
                [
                    {
                        "id": ids[name],
                        "email": email,
                        "full_name": "N",
                        "password_hash": "x",
                        "role": "user",
                        "is_active": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for name, email in rows.items()
                ],
            )
        await asyncio.to_thread(migrate.upgrade, empty_database_url)
        async with engine.connect() as conn:
            found = (await conn.execute(text("SELECT email, email_verified_at FROM users"))).all()
    finally:
        await engine.dispose()
    emails = {email for email, _ in found}
    assert all(verified is not None for _, verified in found), "accounts from before count as verified"
    assert emails == {
        "bob@example.com",
        "bob@example.org",
        "ali\u0307ce@example.com",  # left: its canonical form is taken
        "alice@example.com",
        "stra\u00dfe@example.com",  # left: refused by the new rules, for an operator to settle
    }
