"""``GET /api/auth/me`` from memory: one read per account, and never an answer older than a change.

Each instance remembers the account it last read; every change of what ``me`` shows sends the
identity signal in its transaction. These tests change an account through one instance and read
it through another: on PostgreSQL the other instance must show the change within a few seconds,
well inside the 30 s after which it would read again anyway, so only the signal can make them pass.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from aiclone.accounts.memory import AccountMemory
from aiclone.accounts.models import AccountToken, TokenPurpose
from aiclone.app import create_app
from aiclone.container import Services
from aiclone.db import utcnow
from aiclone.settings import Settings
from tests.support.factories import DEFAULT_PASSWORD, SignedInUser, UserFactory
from tests.support.mail_support import token_of, wait_for_eml

Client = AsyncTestClient[Litestar]
# Well under the PostgreSQL memory's 30 s: a change seen within this came by its signal.
SEEN_WITHIN = 5.0


@pytest.fixture
async def other(settings: Settings, app: Litestar) -> AsyncIterator[Client]:
    """A second instance of the service on the same database (its own memory and listener)."""
    async with AsyncTestClient(app=create_app(settings)) as second:
        yield second


async def _seen(
    client: Client, user: SignedInUser, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + SEEN_WITHIN
    while True:
        response = await client.get("/api/auth/me", headers=user.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if check(body):
            return body
        assert time.monotonic() < deadline, f"the other instance still answers {body}"
        await asyncio.sleep(0.05)


async def test_me_reads_the_tables_once_for_many_requests(
    client: Client, users: UserFactory, app: Litestar, backend: str
) -> None:
    memory: AccountMemory = app.state.services.account_memory
    before = memory.reads
    user = await users.create()  # which asks for `me` once
    for _ in range(50):
        response = await client.get("/api/auth/me", headers=user.headers)
        assert response.status_code == 200
        assert response.json()["email"] == user.email
    reads = memory.reads - before
    # PostgreSQL: the first request only (the listener is up). SQLite: at most one every 0.5 s.
    assert 1 <= reads <= (1 if backend == "postgresql" else 25), reads


async def test_a_name_changed_on_one_instance_shows_on_the_other(
    client: Client, other: Client, users: UserFactory
) -> None:
    user = await users.create()
    assert (await other.get("/api/auth/me", headers=user.headers)).json()["full_name"] != "Renamed"
    changed = await client.patch("/api/auth/me", json={"full_name": "Renamed"}, headers=user.headers)
    assert changed.status_code == 200, changed.text
    await _seen(other, user, lambda me: me["full_name"] == "Renamed")


async def test_an_address_change_requested_cancelled_and_confirmed_shows_on_the_other(
    client: Client, other: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()

    async def patch(email: str) -> None:
        body = {"email": email, "current_password": DEFAULT_PASSWORD}
        response = await client.patch("/api/auth/me", json=body, headers=user.headers)
        assert response.status_code == 200, response.text

    assert (await other.get("/api/auth/me", headers=user.headers)).json()["pending_email"] is None
    await patch("first-move@example.com")
    await _seen(other, user, lambda me: me["pending_email"] == "first-move@example.com")
    await patch(user.email)  # asking for the current address cancels the change
    await _seen(other, user, lambda me: me["pending_email"] is None)

    await patch("second-move@example.com")
    await _seen(other, user, lambda me: me["pending_email"] == "second-move@example.com")
    [confirm] = await wait_for_eml(settings.mail_dir, "second-move@example.com")
    confirmed = await client.post("/api/auth/verify-email", json={"token": token_of(confirm)})
    assert confirmed.status_code == 200, confirmed.text
    me = await _seen(other, user, lambda me: me["email"] == "second-move@example.com")
    assert me["pending_email"] is None
    assert me["email_verified"] is True


async def test_a_confirmed_address_shows_as_verified_on_the_other(
    client: Client, other: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    assert (await other.get("/api/auth/me", headers=user.headers)).json()["email_verified"] is False
    [registration] = await wait_for_eml(settings.mail_dir, user.email)
    confirmed = await client.post("/api/auth/verify-email", json={"token": token_of(registration)})
    assert confirmed.status_code == 200, confirmed.text
    await _seen(other, user, lambda me: me["email_verified"] is True)


async def test_a_pending_change_stops_showing_when_its_link_expires(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    body = {"email": "soon-gone@example.com", "current_password": DEFAULT_PASSWORD}
    assert (await client.patch("/api/auth/me", json=body, headers=user.headers)).status_code == 200
    expires = utcnow() + dt.timedelta(seconds=1.5)
    async with services.db.session() as session:  # behind the service's back: no signal
        await session.execute(
            update(AccountToken)
            .where(AccountToken.purpose == TokenPurpose.CHANGE_EMAIL.value)
            .values(expires_at=expires)
        )
    # A memory that would otherwise keep its answer for an hour.
    memory = AccountMemory(services.db, max_age=3600, listening=lambda: True)
    first = await memory.get(user.id)
    assert first is not None
    assert first.pending_email == "soon-gone@example.com"
    again = await memory.get(user.id)
    assert again is not None
    assert again.pending_email == "soon-gone@example.com"
    assert memory.reads == 1
    await asyncio.sleep(max(0.0, (expires - utcnow()).total_seconds()) + 0.1)
    after = await memory.get(user.id)
    assert after is not None
    assert after.pending_email is None
    assert memory.reads == 2


async def test_nothing_is_remembered_while_the_listener_is_down_or_for_unknown_users(
    users: UserFactory, services: Services
) -> None:
    user = await users.create()
    up = True
    memory = AccountMemory(services.db, max_age=3600, listening=lambda: up)
    await memory.get(user.id)
    await memory.get(user.id)
    assert memory.reads == 1
    up = False
    for _ in range(3):
        account = await memory.get(user.id)
        assert account is not None
        assert account.email == user.email
    assert memory.reads == 4
    up = True
    nobody = uuid.uuid4()
    assert [await memory.get(nobody), await memory.get(nobody)] == [None, None]
    assert memory.reads == 6, "a miss is read again: the user may exist by the next request"
