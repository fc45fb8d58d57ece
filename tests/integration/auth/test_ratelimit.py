from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone import migrate
from aiclone.app import Services, create_app
from aiclone.metrics import Metrics
from aiclone.ratelimit.limiter import Limiter, SweptMemoryStorage
from aiclone.ratelimit.policy import Policy
from aiclone.settings import RateLimitSettings
from aiclone.web.client_ip import ClientAddressResolver, bucket_of
from tests.conftest import TEST_SECRET, make_settings
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.ratelimit_support import (
    AppFactory,
    clear_of_window_edge,
    free_port,
    peer_client,
    sample,
    start_servers,
)

Client = AsyncTestClient[Litestar]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limited_app(database_url: str, tmp_path: Path, clean_tables: None) -> AppFactory:
    """Build an app with rate limiting on and the given setting overrides."""

    def build(**overrides: object) -> Litestar:
        values: dict[str, object] = {"rate_limit_enabled": True, **overrides}
        return create_app(make_settings(database_url, tmp_path, **values))

    return build


RATELIMIT_FIELD = re.compile(r'^"default";r=(\d+);t=(\d+)$')


async def test_61st_request_in_a_window_is_429_with_retry_after(limited_app: AppFactory) -> None:
    app = limited_app()  # the default policy: 60/minute per client address
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        for n in range(60):
            response = await client.get("/api/auth/me")
            assert response.status_code == 401, (n, response.text)
            assert response.headers["ratelimit-policy"] == '"default";q=60;w=60'
            match = RATELIMIT_FIELD.match(response.headers["ratelimit"])
            assert match, response.headers["ratelimit"]
            assert int(match.group(1)) == 59 - n
            assert 0 <= int(match.group(2)) <= 60
            assert response.headers["x-ratelimit-limit"] == "60"
            assert response.headers["x-ratelimit-remaining"] == str(59 - n)
        refused = await client.get("/api/auth/me", headers={"X-Request-ID": "trace-61"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert RATELIMIT_FIELD.match(refused.headers["ratelimit"]).group(1) == "0"  # type: ignore[union-attr]
    body = refused.json()
    assert body["type"].endswith("/rate-limited")
    assert body["status"] == 429
    assert body["request_id"] == "trace-61"
    assert refused.headers["x-request-id"] == "trace-61"
    assert sample(app, "aiclone_rate_limit_rejections_total", {"policy": "default"}) == 1


async def test_several_limits_are_all_enforced_and_advertised(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit="3/minute;5/hour")
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        first = await client.get("/api/auth/me")
        assert first.headers["ratelimit-policy"] == '"default-60s";q=3;w=60, "default-3600s";q=5;w=3600'
        assert re.match(r'^"default-60s";r=2;t=\d+, "default-3600s";r=4;t=\d+$', first.headers["ratelimit"])
        codes = [(await client.get("/api/auth/me")).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


async def test_health_probes_and_docs_assets_are_exempt_but_lookalikes_are_not(
    limited_app: AppFactory,
) -> None:
    app = limited_app(rate_limit="2/minute")
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        for _ in range(5):
            for path in (
                "/health",
                "/health/ready",
                "/api/docs/assets/swagger-ui-dist/swagger-ui.css",
                "/",
                "/static/js/main.js",
            ):
                response = await client.get(path)
                assert response.status_code == 200, path
                assert "ratelimit" not in response.headers
        made_up = [(await client.get("/api/healthz")).status_code for _ in range(3)]
        other = await client.get("/healthcheck")
        traversal = await client.get("/api/docs/assets/../../api/auth/me")
        static_traversal = await client.get("/static/../api/auth/me")
    assert made_up == [404, 404, 429]
    assert other.status_code == 429
    assert traversal.status_code == 429
    assert static_traversal.status_code == 429


async def test_authenticated_requests_use_the_per_user_bucket(
    limited_app: AppFactory, services: Services
) -> None:
    app = limited_app(rate_limit="20/minute", rate_limit_user="3/minute")
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        factory = UserFactory(client, services)
        # Registering and signing in are anonymous: they count against the address.
        alice = await factory.create()
        bob = await factory.create()
        codes = [(await client.get("/api/auth/me", headers=alice.headers)).status_code for _ in range(3)]
        # create() itself called /me once with the token, so the third call above was the 4th.
        assert codes == [200, 200, 429]
        refused = await client.get("/api/auth/me", headers=alice.headers)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-policy"] == '"user";q=3;w=60'
        # Same address, another user: own bucket.
        assert (await client.get("/api/auth/me", headers=bob.headers)).status_code == 200
        # Same user from another address: still the user's bucket.
        async with peer_client(app, "198.51.100.20") as elsewhere:
            assert (await elsewhere.get("/api/auth/me", headers=alice.headers)).status_code == 429
        # Anonymous traffic from the same address is charged to the address, not to alice.
        anonymous = await client.get("/api/auth/me")
        assert anonymous.status_code == 401
        assert anonymous.headers["ratelimit-policy"] == '"default";q=20;w=60'
        # A forged token does not get a user bucket.
        forged = await client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401
        assert forged.headers["ratelimit-policy"] == '"default";q=20;w=60'
    assert sample(app, "aiclone_rate_limit_rejections_total", {"policy": "user"}) == 3


async def test_login_and_register_have_stricter_per_address_limits(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit_login="3/minute", rate_limit_register="2/minute")
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        logins = []
        for i in range(4):
            response = await client.post(
                "/api/auth/login", data={"username": f"nobody{i}@example.com", "password": "wrong password 1"}
            )
            logins.append(response.status_code)
        assert logins == [401, 401, 401, 429]
        assert '"login";q=3;w=60' in response.headers["ratelimit-policy"]
        registers = []
        for i in range(3):
            response = await client.post(
                "/api/auth/register",
                json={"email": f"new{i}@example.com", "password": DEFAULT_PASSWORD, "full_name": "N"},
            )
            registers.append(response.status_code)
        assert registers == [201, 201, 429]
        # Trailing slashes and doubled slashes route to the same handler and count the same.
        for sneaky in ("/api/auth/login/", "/api//auth/login"):
            response = await client.post(sneaky, data={"username": "x@example.com", "password": "y"})
            assert response.status_code == 429, sneaky
    assert sample(app, "aiclone_rate_limit_rejections_total", {"policy": "login"}) == 3


async def test_browser_sign_in_shares_the_login_limit(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit_login="3/minute")
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        codes = []
        for i, path in enumerate(
            ("/api/auth/session", "/api/auth/login", "/api/auth/session", "/api/auth/session")
        ):
            response = await client.post(
                path,
                data={"username": f"nobody{i}@example.com", "password": "wrong 1"},
                headers={"X-Requested-With": "aiclone"},
            )
            codes.append(response.status_code)
    assert codes == [401, 401, 401, 429]


async def test_failed_logins_lock_the_account_briefly_and_a_success_resets(
    limited_app: AppFactory, services: Services
) -> None:
    # An 8-second window: each sign-in is one argon2 verification, and on a loaded machine the
    # seven sign-ins below must still fall in one window.
    app = limited_app(login_failure_limit="3/8 seconds", rate_limit_login="100/minute")
    async with AsyncTestClient(app=app) as client:
        user = await UserFactory(client, services).create()

        async def login(password: str, email: str = user.email) -> httpx.Response:
            return await client.post("/api/auth/login", data={"username": email, "password": password})

        await clear_of_window_edge(8, margin=6)
        assert [(await login("wrong password 1")).status_code for _ in range(2)] == [401, 401]
        assert (await login(DEFAULT_PASSWORD)).status_code == 200  # clears the count
        assert [(await login("wrong password 1")).status_code for _ in range(3)] == [401, 401, 401]
        locked = await login(DEFAULT_PASSWORD)
        assert locked.status_code == 429
        assert locked.headers["content-type"] == "application/problem+json"
        assert 1 <= int(locked.headers["retry-after"]) <= 16
        assert "account" in locked.json()["detail"]
        # Other accounts are not affected, and the email's case does not matter.
        assert (await login("wrong password 1", "someone.else@example.com")).status_code == 401
        assert (await login(DEFAULT_PASSWORD, user.email.upper())).status_code == 429
        # Attempts during the lockout are refused without being counted...
        for _ in range(10):
            assert (await login("wrong password 1")).status_code == 429
        # ...so the lockout ends on its own within two windows of the last real failure.
        deadline = asyncio.get_running_loop().time() + 30
        while (response := await login(DEFAULT_PASSWORD)).status_code == 429:
            assert asyncio.get_running_loop().time() < deadline, "lockout did not end"
            await asyncio.sleep(0.25)
        assert response.status_code == 200
    assert sample(app, "aiclone_rate_limit_rejections_total", {"policy": "login-failures"}) >= 12


async def test_rotating_x_forwarded_for_from_an_untrusted_peer_stays_one_bucket(
    limited_app: AppFactory,
) -> None:
    app = limited_app(rate_limit="3/minute", trusted_proxies=("10.0.0.0/8",))
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app), peer_client(app, "203.0.113.7") as client:
        codes = [
            (await client.get("/api/auth/me", headers={"X-Forwarded-For": f"198.51.100.{i}"})).status_code
            for i in range(4)
        ]
    assert codes == [401, 401, 401, 429]


async def test_a_trusted_proxy_is_honoured_right_to_left(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit="2/minute", trusted_proxies=("10.0.0.0/8", "192.0.2.1"))
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app), peer_client(app, "10.1.2.3") as proxy:

        async def status(forwarded: str) -> int:
            return (await proxy.get("/api/auth/me", headers={"X-Forwarded-For": forwarded})).status_code

        # Two clients behind the proxy: two buckets.
        assert [await status("198.51.100.1") for _ in range(3)] == [401, 401, 429]
        assert await status("198.51.100.2") == 401
        # What the client wrote left of the proxy's entry is ignored: still 198.51.100.1.
        assert await status("1.2.3.4, 198.51.100.1") == 429
        assert await status("5.6.7.8, 198.51.100.1") == 429
        # Two trusted hops (10.9.9.9 and 192.0.2.1) are skipped.
        assert await status("198.51.100.2, 10.9.9.9, 192.0.2.1") == 401
        assert await status("198.51.100.2") == 429


async def test_memory_storage_forgets_expired_windows() -> None:
    storage = SweptMemoryStorage()
    limiter = Limiter(storage, Metrics(), timeout=0.25)
    policy = Policy.parse("default", RateLimitSettings(default="5/1 second"), "default")
    for n in range(50):
        await limiter.hit(policy, f"client-{n}")
    assert len(storage.storage) == 50

    def early_keys() -> list[str]:
        return [key for key in storage.storage if "/client-" in key]

    deadline = asyncio.get_running_loop().time() + 10
    while early_keys():  # counters live two windows; the sweep runs at most once a second
        assert asyncio.get_running_loop().time() < deadline, early_keys()
        await asyncio.sleep(0.3)
        await limiter.hit(policy, "late-client")


def test_client_address_resolution_rules() -> None:
    resolver = ClientAddressResolver(["10.0.0.0/8"])
    assert resolver.resolve("203.0.113.9", [b"198.51.100.1"]) == "203.0.113.9"
    assert resolver.resolve("10.0.0.1", [b"198.51.100.1, 10.0.0.2"]) == "198.51.100.1"
    assert resolver.resolve("10.0.0.1", [b"198.51.100.1", b"10.0.0.2"]) == "198.51.100.1"
    # Garbage stops the walk at the last address a trusted proxy vouched for.
    assert resolver.resolve("10.0.0.1", [b"<script>, 10.0.0.2"]) == "10.0.0.2"
    assert resolver.resolve("10.0.0.1", [b"[2001:db8::1]:443"]) == "2001:db8::1"
    assert resolver.resolve("::ffff:203.0.113.9", []) == "203.0.113.9"
    assert resolver.resolve("testclient", []) == "testclient"
    assert ClientAddressResolver([]).resolve("10.0.0.1", [b"198.51.100.1"]) == "10.0.0.1"
    # IPv6 clients are bucketed by /64.
    assert bucket_of("2001:db8:1:2:aaaa::1") == bucket_of("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert bucket_of("2001:db8:1:3::1") != bucket_of("2001:db8:1:2::1")
    assert bucket_of("203.0.113.9") == "203.0.113.9"


async def test_disabled_rate_limiting_adds_nothing(limited_app: AppFactory) -> None:
    app = limited_app(rate_limit_enabled=False, rate_limit="1/minute")
    async with AsyncTestClient(app=app) as client:
        responses = [await client.get("/api/auth/me") for _ in range(3)]
    assert [r.status_code for r in responses] == [401, 401, 401]
    assert all("ratelimit" not in r.headers for r in responses)


async def test_unreachable_redis_fails_open_and_is_counted(
    limited_app: AppFactory, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    closed_port = free_port()  # bound, then released: nothing listens there
    app = limited_app(
        rate_limit="2/minute",
        rate_limit_user="2/minute",
        rate_limit_storage=f"redis://127.0.0.1:{closed_port}/0",
    )
    async with AsyncTestClient(app=app) as client:
        user = await UserFactory(client, services).create()
        codes = [(await client.get("/api/auth/me", headers=user.headers)).status_code for _ in range(6)]
        assert codes == [200] * 6
        assert "ratelimit" not in (await client.get("/api/auth/me", headers=user.headers)).headers
    assert sample(app, "aiclone_rate_limit_storage_errors_total") >= 1
    assert sample(app, "aiclone_rate_limit_fail_open_total") >= 7
    assert sample(app, "aiclone_rate_limit_rejections_total", {"policy": "user"}) == 0


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


@pytest.mark.slow
async def test_two_server_processes_share_one_window_through_redis(tmp_path: Path, redis_prefix: str) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await asyncio.to_thread(migrate.upgrade, database)
    env = {
        "AICLONE_ENV": "test",
        "AICLONE_DATABASE_URL": database,
        "AICLONE_DATA_DIR": str(tmp_path),
        "AICLONE_SECRET_KEY": TEST_SECRET,
        "AICLONE_RATE_LIMIT": "10/minute",
        "AICLONE_RATE_LIMIT_STORAGE": REDIS_URL,
        "AICLONE_RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "AICLONE_LOG_LEVEL": "WARNING",
    }
    servers = await asyncio.to_thread(start_servers, 2, env, tmp_path)
    try:
        await clear_of_window_edge(60)
        async with httpx.AsyncClient(timeout=10) as http:
            codes = []
            for n in range(12):
                server = servers[n % 2]
                codes.append((await http.get(server.url + "/api/auth/me")).status_code)
            last = await http.get(servers[1].url + "/api/auth/me")
        assert codes == [401] * 10 + [429, 429], codes
        assert last.status_code == 429
        assert last.headers["ratelimit-policy"] == '"default";q=10;w=60'
        stored = redis.Redis.from_url(REDIS_URL)
        try:
            assert list(stored.scan_iter(match=f"{redis_prefix}*"))
        finally:
            stored.close()
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)
