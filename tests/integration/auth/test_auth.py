from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.container import Services
from tests.conftest import TEST_SECRET
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]


def _claims(user_id: uuid.UUID, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(user_id),
        "email": "x@example.com",
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "iss": "aiclone",
        "aud": "aiclone-api",
    }
    claims.update(overrides)
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_register_returns_user_without_secrets(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "  Mixed.Case@Example.COM ", "password": DEFAULT_PASSWORD, "full_name": "Ann Lee"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "mixed.case@example.com"
    assert body["role"] == "user"
    assert set(body) == {"id", "email", "full_name", "role", "is_active", "created_at"}
    assert DEFAULT_PASSWORD not in response.text
    assert "argon2" not in response.text


async def test_duplicate_email_is_case_insensitive_409(client: Client) -> None:
    payload = {"email": "dup@example.com", "password": DEFAULT_PASSWORD, "full_name": "A"}
    assert (await client.post("/api/auth/register", json=payload)).status_code == 201
    payload["email"] = "DUP@example.com"
    response = await client.post("/api/auth/register", json=payload)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/conflict")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": DEFAULT_PASSWORD, "full_name": "A"}, "email"),
        ({"email": "a@example.com", "password": "short", "full_name": "A"}, "password"),
        ({"email": "a@example.com", "password": "password1234", "full_name": "A"}, "password"),
        ({"email": "a@example.com", "password": "a" * 20, "full_name": "A"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129, "full_name": "A"}, "password"),
        ({"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "A", "role": "admin"}, "role"),
        ({"email": "a@example.com", "password": DEFAULT_PASSWORD}, "full_name"),
        ({"email": "a@example.com", "password": DEFAULT_PASSWORD, "full_name": "   "}, "full_name"),
    ],
)
async def test_register_rejects_bad_input_with_field_errors(
    client: Client, payload: dict[str, object], field: str
) -> None:
    response = await client.post("/api/auth/register", json=payload)
    assert_problem(response, 422, "validation-error")
    body = response.json()
    assert body["status"] == 422
    assert any(field in error["field"] for error in body["errors"]), body


async def test_role_cannot_be_self_assigned(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        json={
            "email": "mallory@example.com",
            "password": DEFAULT_PASSWORD,
            "full_name": "M",
            "role": "admin",
        },
    )
    assert_problem(response, 422, "validation-error")
    login = await client.post(
        "/api/auth/login", data={"username": "mallory@example.com", "password": DEFAULT_PASSWORD}
    )
    assert_problem(login, 401, "unauthenticated")


async def test_login_me_and_token_claims(client: Client, users: UserFactory) -> None:
    user = await users.create()
    claims = jwt.decode(user.access_token, TEST_SECRET, algorithms=["HS256"], audience="aiclone-api")
    assert claims["sub"] == str(user.id)
    assert claims["email"] == user.email
    assert claims["role"] == "user"
    assert claims["iss"] == "aiclone"
    assert claims["exp"] - claims["iat"] == 1800
    assert len(claims["jti"]) >= 16
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["email"] == user.email


async def test_login_accepts_email_in_any_case(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await users.login(user.email.upper())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800


async def test_login_does_not_tell_unknown_email_from_wrong_password(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    wrong_password = await users.login(user.email, "not the right password at all")
    unknown_email = await users.login("nobody-here@example.com", "not the right password at all")
    assert wrong_password.status_code == unknown_email.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong_password.json()) == strip(unknown_email.json())


async def test_login_with_oversized_password_is_rejected_not_hashed(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    response = await users.login(user.email, "x" * 5000)
    assert response.status_code in (401, 422)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.jwt",
        "Bearer " + "a" * 5000,
        "Bearer \x00\x01",
    ],
)
async def test_garbage_credentials_are_401(client: Client, header: str) -> None:
    response = await client.get("/api/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_missing_credentials_401(client: Client) -> None:
    response = await client.get("/api/auth/me")
    assert_problem(response, 401, "unauthenticated")


async def test_forged_tokens_are_rejected(client: Client, users: UserFactory) -> None:
    user = await users.create()
    header = {"alg": "none", "typ": "JWT"}
    alg_none = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(user.id)).encode())}."
    cases = {
        "alg none": alg_none,
        "wrong key": jwt.encode(_claims(user.id), "another-secret-" + "y" * 40, algorithm="HS256"),
        "wrong algorithm": jwt.encode(_claims(user.id), TEST_SECRET, algorithm="HS512"),
        "expired": jwt.encode(_claims(user.id, exp=int(time.time()) - 60), TEST_SECRET, algorithm="HS256"),
        "wrong audience": jwt.encode(_claims(user.id, aud="someone-else"), TEST_SECRET, algorithm="HS256"),
        "wrong issuer": jwt.encode(_claims(user.id, iss="evil"), TEST_SECRET, algorithm="HS256"),
        "missing jti": jwt.encode(
            {k: v for k, v in _claims(user.id).items() if k != "jti"}, TEST_SECRET, algorithm="HS256"
        ),
        "bad sub": jwt.encode(_claims(user.id, sub="not-a-uuid"), TEST_SECRET, algorithm="HS256"),
    }
    head, payload, signature = user.access_token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered["role"] = "admin"
    cases["tampered payload"] = f"{head}.{_b64(json.dumps(tampered).encode())}.{signature}"
    for name, token in cases.items():
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401, "unauthenticated", note=name)
    valid = await client.get("/api/auth/me", headers=user.headers)
    assert valid.status_code == 200


async def test_token_of_unknown_user_is_401_not_500(client: Client) -> None:
    token = jwt.encode(_claims(uuid.uuid4(), sid=str(uuid.uuid4())), TEST_SECRET, algorithm="HS256")
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthenticated")


async def test_refresh_rotates_and_reuse_revokes_family(client: Client, users: UserFactory) -> None:
    user = await users.create()
    first = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != user.refresh_token
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert me.status_code == 200

    # The old token comes back (stolen copy): refused, and the whole family dies with it.
    reuse = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert_problem(reuse, 401, "unauthenticated")
    after = await client.post("/api/auth/refresh", json={"refresh_token": rotated})
    assert_problem(after, 401, "unauthenticated")


async def test_refresh_families_are_independent(client: Client, users: UserFactory) -> None:
    user = await users.create()
    other_session = (await users.login(user.email)).json()["refresh_token"]
    await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})  # reuse
    still_ok = await client.post("/api/auth/refresh", json={"refresh_token": other_session})
    assert still_ok.status_code == 200


async def test_refresh_rejects_garbage(client: Client) -> None:
    assert_problem(
        await client.post("/api/auth/refresh", json={"refresh_token": "nope"}), 401, "unauthenticated"
    )
    assert_problem(
        await client.post("/api/auth/refresh", json={"refresh_token": ""}), 422, "validation-error"
    )
    assert_problem(
        await client.post("/api/auth/refresh", json={"refresh_token": "x" * 600}), 422, "validation-error"
    )


async def test_expired_refresh_token_is_refused(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    from sqlalchemy import update

    from aiclone.auth.models import RefreshToken

    async with services.db.session() as session:
        await session.execute(
            update(RefreshToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    response = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert_problem(response, 401, "unauthenticated")


async def test_logout_revokes_that_session_only(client: Client, users: UserFactory) -> None:
    user = await users.create()
    second = (await users.login(user.email)).json()["refresh_token"]
    response = await client.post(
        "/api/auth/logout", json={"refresh_token": user.refresh_token}, headers=user.headers
    )
    assert response.status_code == 204
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    ).status_code == 401
    assert (await client.post("/api/auth/refresh", json={"refresh_token": second})).status_code == 200


async def test_logout_without_token_ends_every_session(client: Client, users: UserFactory) -> None:
    user = await users.create()
    second = (await users.login(user.email)).json()["refresh_token"]
    assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 204
    for token in (user.refresh_token, second):
        assert_problem(
            await client.post("/api/auth/refresh", json={"refresh_token": token}), 401, "unauthenticated"
        )


async def test_logout_cannot_revoke_someone_elses_session(client: Client, users: UserFactory) -> None:
    alice, bob = await users.create(), await users.create()
    await client.post("/api/auth/logout", json={"refresh_token": bob.refresh_token}, headers=alice.headers)
    assert (
        await client.post("/api/auth/refresh", json={"refresh_token": bob.refresh_token})
    ).status_code == 200


async def test_logout_requires_authentication(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await client.post("/api/auth/logout", json={"refresh_token": user.refresh_token})
    assert_problem(response, 401, "unauthenticated")


async def test_password_rehashed_when_parameters_change(
    client: Client, users: UserFactory, settings: object, app: Litestar, services: Services
) -> None:
    from sqlalchemy import select

    from aiclone.auth.models import User
    from aiclone.auth.passwords import PasswordHasher

    user = await users.create()
    stronger = msgspec_replace(settings.auth, argon2_time_cost=3)  # type: ignore[attr-defined]
    app.state.services.auth.hasher = PasswordHasher(stronger)  # type: ignore[arg-type]
    assert (await users.login(user.email)).status_code == 200
    async with services.db.read_session() as session:
        stored = (await session.execute(select(User.password_hash).where(User.id == user.id))).scalar_one()
    assert ",t=3," in stored
    assert stored.startswith("$argon2id$")


def msgspec_replace(settings: object, **changes: object) -> object:
    import msgspec

    return msgspec.structs.replace(settings, **changes)  # type: ignore[type-var]


async def test_body_over_limit_is_413(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        content=b'{"email": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_malformed_json_is_a_problem_not_500(client: Client) -> None:
    response = await client.post(
        "/api/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
