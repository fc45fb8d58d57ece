"""The signed-in user's sessions (list, end one, end all) and changing the password."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
SESSIONS = "/api/auth/sessions"
NEW_PASSWORD = "a brand new passphrase 99"


def _bearer(body: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['access_token']}"}


async def test_sessions_list_device_and_address_and_mark_the_current_one(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    phone = await client.post(
        "/api/auth/login",
        data={"username": user.email, "password": DEFAULT_PASSWORD},
        headers={"User-Agent": "PhoneApp/1.0 " + "x" * 400},
    )
    assert phone.status_code == 200
    listed = await client.get(SESSIONS, headers=user.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert len(items) == 2
    assert set(items[0]) == {"id", "user_agent", "address", "created_at", "last_used_at", "current"}
    assert [item["current"] for item in items].count(True) == 1
    by_agent = {item["user_agent"][:12]: item for item in items}
    assert len(by_agent["PhoneApp/1.0"]["user_agent"]) == 256  # bounded
    assert all(item["address"] for item in items)
    assert user.refresh_token not in listed.text

    # Refreshing updates last-used, not the session's identity.
    before = by_agent["PhoneApp/1.0"]
    refreshed = await client.post("/api/auth/refresh", json={"refresh_token": phone.json()["refresh_token"]})
    assert refreshed.status_code == 200
    after = {item["id"]: item for item in (await client.get(SESSIONS, headers=user.headers)).json()["items"]}
    assert after[before["id"]]["last_used_at"] > before["last_used_at"]
    assert after[before["id"]]["created_at"] == before["created_at"]


async def test_ending_one_session_leaves_the_others(client: Client, users: UserFactory) -> None:
    user = await users.create()
    phone = (await users.login(user.email)).json()
    items = (await client.get(SESSIONS, headers=user.headers)).json()["items"]
    phone_id = next(item["id"] for item in items if not item["current"])
    assert (await client.delete(f"{SESSIONS}/{phone_id}", headers=user.headers)).status_code == 204
    assert (await client.get("/api/auth/me", headers=_bearer(phone))).status_code == 401
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    ).status_code == 401
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 200
    # Ended, unknown and other users' sessions are all 404.
    stranger = await users.create()
    stranger_session = (await client.get(SESSIONS, headers=stranger.headers)).json()["items"][0]["id"]
    for session_id in (phone_id, str(uuid.uuid4()), stranger_session):
        missing = await client.delete(f"{SESSIONS}/{session_id}", headers=user.headers)
        assert missing.status_code == 404
        assert missing.json()["type"].endswith("/not-found")
    assert (await client.get("/api/auth/me", headers=stranger.headers)).status_code == 200


async def test_sign_out_everywhere(client: Client, users: UserFactory) -> None:
    user = await users.create()
    phone = (await users.login(user.email)).json()
    assert (await client.delete(SESSIONS, headers=user.headers)).status_code == 204
    for headers in (user.headers, _bearer(phone)):
        refused = await client.get("/api/auth/me", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["type"].endswith("/unauthenticated")
    assert (await users.login(user.email)).status_code == 200


async def test_password_change_ends_the_other_sessions_only(client: Client, users: UserFactory) -> None:
    user = await users.create()
    phone = (await users.login(user.email)).json()
    changed = await client.post(
        "/api/auth/password",
        headers=user.headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"other_sessions_ended": 1}
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 200
    assert_problem(await client.get("/api/auth/me", headers=_bearer(phone)), 401, "unauthenticated")
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    ).status_code == 200
    assert_problem(await users.login(user.email, DEFAULT_PASSWORD), 401, "unauthenticated")
    assert (await users.login(user.email, NEW_PASSWORD)).status_code == 200


async def test_password_change_refusals(client: Client, users: UserFactory) -> None:
    user = await users.create()
    wrong = await client.post(
        "/api/auth/password",
        headers=user.headers,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 403
    assert wrong.json()["type"].endswith("/wrong-password")
    weak = await client.post(
        "/api/auth/password",
        headers=user.headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 422
    assert weak.json()["type"].endswith("/validation-error")
    unknown = await client.post(
        "/api/auth/password",
        headers=user.headers,
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "extra": 1},
    )
    assert unknown.status_code in (400, 422)
    anonymous = await client.post("/api/auth/password", json={"current_password": "a", "new_password": "b"})
    assert anonymous.status_code == 401
    # Nothing changed.
    assert (await users.login(user.email, DEFAULT_PASSWORD)).status_code == 200
