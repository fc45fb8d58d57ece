"""Revocation takes effect at once: an access token dies with its session, its user, its role."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import delete

from aiclone.auth.models import User
from aiclone.container import Services
from tests.conftest import TEST_SECRET
from tests.support.factories import SignedInUser, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]


def _problem_type(response: object) -> str:
    return str(response.json()["type"])  # type: ignore[attr-defined]


async def _assert_refused_everywhere(client: Client, headers: dict[str, str]) -> None:
    """401 unauthenticated on reads, writes and the stream endpoints: never 200, never 500."""
    calls = [
        ("GET", "/api/auth/me", None),
        ("GET", "/api/prospects", None),
        ("POST", "/api/prospects", {"name": "Mallory"}),
        ("POST", "/api/events/ticket", None),
        ("POST", "/api/events/cookie", None),
        ("GET", "/api/events?last_event_id=0", None),
        ("GET", "/api/auth/sessions", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, headers=headers, json=body)
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert _problem_type(response).endswith("/unauthenticated"), (method, path)


def _signed(claims_user: uuid.UUID, **overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(claims_user),
        "sid": str(uuid.uuid4()),
        "email": "ghost@example.com",
        "role": "admin",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "iss": "aiclone",
        "aud": "aiclone-api",
    }
    claims.update(overrides)
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


async def test_logout_ends_the_access_token_at_once(client: Client, users: UserFactory) -> None:
    user = await users.create()
    other = await users.login(user.email)
    other_headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    response = await client.post(
        "/api/auth/logout", headers=user.headers, json={"refresh_token": user.refresh_token}
    )
    assert response.status_code == 204
    await _assert_refused_everywhere(client, user.headers)
    # Only that session ended.
    assert (await client.get("/api/auth/me", headers=other_headers)).status_code == 200


async def test_logout_of_all_sessions_ends_every_access_token(client: Client, users: UserFactory) -> None:
    user = await users.create()
    other = await users.login(user.email)
    other_headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 204
    await _assert_refused_everywhere(client, user.headers)
    await _assert_refused_everywhere(client, other_headers)


async def test_refresh_reuse_ends_the_access_tokens_of_the_family(client: Client, users: UserFactory) -> None:
    user = await users.create()
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert rotated.status_code == 200
    new_headers = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert (await client.get("/api/prospects", headers=new_headers)).status_code == 200
    reuse = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert_problem(reuse, 401, "unauthenticated")
    await _assert_refused_everywhere(client, user.headers)
    await _assert_refused_everywhere(client, new_headers)


async def test_token_of_a_user_that_never_existed_is_401_everywhere(client: Client) -> None:
    await _assert_refused_everywhere(client, {"Authorization": f"Bearer {_signed(uuid.uuid4())}"})


async def test_token_naming_no_session_is_401(client: Client, users: UserFactory) -> None:
    user = await users.create()
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    for sid in (None, str(uuid.uuid4()), "not-a-uuid"):
        forged = dict(claims, jti=uuid.uuid4().hex)
        if sid is None:
            forged.pop("sid")
        else:
            forged["sid"] = sid
        token = jwt.encode(forged, TEST_SECRET, algorithm="HS256")
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, sid
        assert _problem_type(response).endswith("/unauthenticated")


async def test_deleted_user_is_401_everywhere_once_its_sessions_end(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    assert (await client.get("/api/prospects", headers=user.headers)).status_code == 200
    # What account deletion does: end the sessions with the signal, delete the row, one transaction.
    # These services are another process's as far as the app is concerned: on PostgreSQL the
    # signal reaches it through NOTIFY, on SQLite the app reads the tables again within 0.5 s.
    async with services.db.session() as session:
        await services.auth.sessions.end_all(session, user.id)
        await session.execute(delete(User).where(User.id == user.id))
    deadline = asyncio.get_running_loop().time() + 10
    while (await client.get("/api/prospects", headers=user.headers)).status_code != 401:
        assert asyncio.get_running_loop().time() < deadline, "the deleted user's token still works"
        await asyncio.sleep(0.05)
    await _assert_refused_everywhere(client, user.headers)


async def _patch_user(client: Client, admin: SignedInUser, user_id: uuid.UUID, **body: object) -> object:
    return await client.patch(f"/api/admin/users/{user_id}", headers=admin.headers, json=body)


async def test_deactivation_ends_the_users_access_tokens(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    user = await users.create()
    assert (await client.post("/api/prospects", headers=user.headers, json={"name": "A"})).status_code == 201
    response = await _patch_user(client, admin, user.id, is_active=False)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.json()["is_active"] is False  # type: ignore[attr-defined]
    await _assert_refused_everywhere(client, user.headers)
    refreshed = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 401
    assert (await users.login(user.email)).status_code == 401


async def test_a_demoted_admin_loses_admin_routes_at_once(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    other_admin = await users.create(admin=True)
    assert (await client.get("/api/admin/users", headers=other_admin.headers)).status_code == 200
    response = await _patch_user(client, admin, other_admin.id, role="user")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert (await client.get("/api/admin/users", headers=other_admin.headers)).status_code == 401
    # Signing in again gives a token whose role is the row's.
    again = await users.login(other_admin.email)
    headers = {"Authorization": f"Bearer {again.json()['access_token']}"}
    denied = await client.get("/api/admin/users", headers=headers)
    assert denied.status_code == 403
    assert _problem_type(denied).endswith("/forbidden")
    assert (await client.get("/api/auth/me", headers=headers)).json()["role"] == "user"


async def test_the_gate_reads_the_tables_once_per_session_not_per_request(
    client: Client, users: UserFactory, app: Litestar, backend: str
) -> None:
    user = await users.create()
    gate = app.state.services.identity
    before = gate.reads
    for _ in range(50):
        assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 200
    reads = gate.reads - before
    # PostgreSQL: the first request only (the listener is up). SQLite: at most one every 0.5 s.
    assert reads <= (1 if backend == "postgresql" else 25), reads
