"""Sign-in hardening: the failed-login throttle under concurrency, the browser sign-in's CSRF
guard, and access tokens with odd claims."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.app import create_app
from aiclone.container import Services
from tests.conftest import TEST_SECRET, make_settings
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.live_support import PASSWORD, Server, http, sign_up

Client = AsyncTestClient[Litestar]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"aiclone-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_parallel_wrong_passwords_are_at_most_the_limit_of_evaluated_failures(
    store: str, database_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    # A real server: the ASGI test client hands requests over one at a time.
    server = Server(
        database_url,
        tmp_path,
        harness=False,
        rate_limit_enabled="true",
        rate_limit_storage="memory://" if store == "memory" else REDIS_URL,
        rate_limit_key_prefix=redis_prefix,
        login_failure_limit="5/15 minutes",
        rate_limit_login="100/minute",
    )
    await server.start(timeout=120)
    try:
        account = await sign_up(server.url)
        async with http(server.url) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/api/auth/login", data={"username": account.email, "password": f"wrong {n}"})
                    for n in range(10)
                )
            )
            codes = sorted(r.status_code for r in responses)
            assert codes.count(401) <= 5, codes
            assert set(codes) <= {401, 429}, [r.text for r in responses]
            refused = [r for r in responses if r.status_code == 429]
            assert len(refused) >= 5, codes
            for response in refused:
                assert response.json()["type"].endswith("/rate-limited")
                assert int(response.headers["retry-after"]) >= 1
            # The account is locked now, even for the right password.
            locked = await client.post(
                "/api/auth/login", data={"username": account.email, "password": PASSWORD}
            )
            assert locked.status_code == 429
    finally:
        await server.stop()


async def test_a_successful_sign_in_among_parallel_ones_is_not_counted_as_a_failure(
    database_url: str, tmp_path: Path, clean_tables: None, services: Services
) -> None:
    app = create_app(
        make_settings(database_url, tmp_path, rate_limit_enabled=True, login_failure_limit="2/15 minutes")
    )
    async with AsyncTestClient(app=app) as client:
        user = await UserFactory(client, services).create()
        for _ in range(3):
            ok = await client.post(
                "/api/auth/login", data={"username": user.email, "password": DEFAULT_PASSWORD}
            )
            assert ok.status_code == 200
        # Reserved attempts of successful sign-ins were given back: two failures still allowed.
        wrong = [
            (
                await client.post("/api/auth/login", data={"username": user.email, "password": "nope"})
            ).status_code
            for _ in range(3)
        ]
        assert wrong == [401, 401, 429]


async def test_browser_sign_in_needs_the_csrf_header(client: Client, users: UserFactory) -> None:
    user = await users.create()
    form = {"username": user.email, "password": user.password}
    forged = await client.post("/api/auth/session", data=form)
    assert forged.status_code == 403
    assert forged.json()["type"].endswith("/forbidden")
    assert "set-cookie" not in forged.headers
    signed_in = await client.post("/api/auth/session", data=form, headers={"X-Requested-With": "aiclone"})
    assert signed_in.status_code == 200
    assert "aiclone_session=" in signed_in.headers["set-cookie"]


def _token(**overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "email": "x@example.com",
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "iss": "aiclone",
        "aud": "aiclone-api",
    }
    claims.update(overrides)
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


async def test_odd_claims_are_401_never_500_or_accepted(client: Client, users: UserFactory) -> None:
    user = await users.create()
    real = jwt.decode(user.access_token, options={"verify_signature": False})
    cases = {
        "aud list": _token(**dict(real, aud=["aiclone-api", "other"], jti=uuid.uuid4().hex)),
        "aud list of ours": _token(**dict(real, aud=["aiclone-api"], jti=uuid.uuid4().hex)),
        "absurd exp": _token(**dict(real, exp=1e300, jti=uuid.uuid4().hex)),
        "absurd iat": _token(**dict(real, iat=1e300, jti=uuid.uuid4().hex)),
        "negative exp": _token(**dict(real, exp=-1e300, jti=uuid.uuid4().hex)),
    }
    for name, token in cases.items():
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (name, response.status_code, response.text)
        assert response.json()["type"].endswith("/unauthenticated"), name
