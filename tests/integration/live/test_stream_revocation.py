"""Open event streams end when their session ends or their account stops standing."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.live_support import PASSWORD, Server, open_stream, sign_up

CLOSED = {"reason": "credential_expired"}


async def _second_session(server_url: str, email: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        login = await http.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_ending_a_session_ends_its_open_stream_and_only_that_one(
    database_url: str, tmp_path: Path
) -> None:
    server = await Server(database_url, tmp_path, harness=False).start()
    try:
        ann = await sign_up(server.url)
        laptop = ann.headers
        phone = await _second_session(server.url, ann.email)
        async with (
            open_stream(server.url, headers=laptop) as laptop_stream,
            open_stream(server.url, headers=phone) as phone_stream,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):
            sessions = (await http.get("/api/auth/sessions", headers=phone)).json()
            [current] = [s for s in sessions["items"] if s["current"]]
            ended = await http.delete(f"/api/auth/sessions/{current['id']}", headers=laptop)
            assert ended.status_code == 204, ended.text
            await phone_stream.wait_for(lambda c: bool(c.named("close")), timeout=15)
            assert phone_stream.named("close")[0].json == CLOSED
            # The other session's stream goes on, and its token still works.
            assert not laptop_stream.named("close")
            assert (await http.get("/api/auth/me", headers=laptop)).status_code == 200
            refused = await http.get("/api/auth/me", headers=phone)
            assert refused.status_code == 401
            assert refused.json()["type"] == "https://aiclone.dev/problems/unauthenticated"
    finally:
        await server.stop()


async def test_signing_out_everywhere_ends_every_open_stream(database_url: str, tmp_path: Path) -> None:
    server = await Server(database_url, tmp_path, harness=False).start()
    try:
        ann, bob = await sign_up(server.url), await sign_up(server.url)
        async with (
            open_stream(server.url, headers=ann.headers) as ann_stream,
            open_stream(server.url, headers=bob.headers) as bob_stream,
        ):
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                ended = await http.delete("/api/auth/sessions", headers=ann.headers)
                assert ended.status_code == 204, ended.text
            await ann_stream.wait_for(lambda c: bool(c.named("close")), timeout=15)
            assert ann_stream.named("close")[0].json == CLOSED
            assert not bob_stream.named("close")
            assert not bob_stream.ended.is_set()
    finally:
        await server.stop()
