"""Requests with an API key are charged to the key's user, exactly like an access token."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.app import create_app
from aiclone.container import Services
from tests.conftest import make_settings
from tests.support.factories import UserFactory
from tests.support.ratelimit_support import clear_of_window_edge, peer_client


@pytest.fixture
def limited(database_url: str, tmp_path: Path, clean_tables: None) -> Litestar:
    settings = make_settings(
        database_url, tmp_path, rate_limit_enabled=True, rate_limit="40/minute", rate_limit_user="6/minute"
    )
    return create_app(settings)


async def test_a_key_shares_its_users_bucket_wherever_it_comes_from(
    limited: Litestar, services: Services
) -> None:
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=limited) as client:
        factory = UserFactory(client, services)
        ann = await factory.create()  # its /me call is the user's 1st request
        created = await client.post(
            "/api/api-keys", json={"name": "rl", "scopes": ["prospects:read"]}, headers=ann.headers
        )
        assert created.status_code == 201  # 2nd
        key = {"Authorization": f"Bearer {created.json()['key']}"}
        codes = [(await client.get("/api/prospects", headers=key)).status_code for _ in range(3)]  # 3rd-5th
        assert codes == [200, 200, 200]
        # The token and the key draw on one bucket: the 6th request is the last one allowed.
        assert (await client.get("/api/auth/me", headers=ann.headers)).status_code == 200
        refused = await client.get("/api/prospects", headers=key)
        assert refused.status_code == 429
        assert refused.headers["ratelimit-policy"] == '"user";q=6;w=60'
        async with peer_client(limited, "198.51.100.7") as elsewhere:
            assert (await elsewhere.get("/api/prospects", headers=key)).status_code == 429
        # An unknown key is charged to the address, and gets no user bucket.
        forged = await client.get(
            "/api/prospects", headers={"Authorization": "Bearer ack_" + "0" * 16 + "_" + "A" * 43}
        )
        assert forged.status_code == 401
        assert forged.headers["ratelimit-policy"] == '"default";q=40;w=60'
