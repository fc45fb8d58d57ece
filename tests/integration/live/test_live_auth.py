"""Who may open GET /api/events: bearer token, single-use ticket, stream cookie; refusals first."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from aiclone.auth.tokens import TokenCodec
from aiclone.container import Services
from aiclone.live.models import StreamTicket
from aiclone.live.redaction import TicketRedactor
from tests.conftest import make_settings
from tests.support.live_support import Account, Server, StreamClient, http, open_stream, sign_up

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def direct(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    services = Services(make_settings(database_url, tmp_path_factory.mktemp("direct-auth")))
    try:
        yield services
    finally:
        await services.stop()


@pytest.fixture(scope="module")
async def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    # DEBUG logging: the ticket-redaction test reads everything this server wrote.
    srv = Server(
        database_url,
        tmp_path_factory.mktemp("live-auth"),
        sse_heartbeat_seconds=0.5,
        sse_max_streams_per_user=50,
        log_level="DEBUG",
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def user(server: Server) -> Account:
    return await sign_up(server.url)


def short_lived_token(direct: Services, account: Account, seconds: int) -> str:
    """An access token (same key and claims as login's) that expires in ``seconds``."""
    codec = TokenCodec(direct.settings.auth)
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=codec.ttl - seconds)
    # The same session as the account's own token, so the identity gate admits it.
    session_id = uuid.UUID(jwt.decode(account.access_token, options={"verify_signature": False})["sid"])
    return codec.issue(
        user_id=account.id, session_id=session_id, email=account.email, role="user", now=issued
    ).token


async def get_ticket(server: Server, account: Account) -> str:
    async with http(server.url) as client:
        response = await client.post("/api/events/ticket", headers=account.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert 0 < body["expires_in"] <= 60
    ticket: str = body["ticket"]
    return ticket


def assert_problem(response: httpx.Response | StreamClient, status: int) -> None:
    if isinstance(response, StreamClient):
        assert response.status == status, response.body
        assert response.response_headers is not None
        assert response.response_headers["content-type"] == "application/problem+json"
        assert response.frames == []
        return
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ],
)
async def test_missing_or_garbage_credentials_are_401_before_any_stream(
    server: Server, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with open_stream(server.url, headers=headers) as stream:
        assert_problem(stream, 401)
        assert stream.response_headers is not None
        assert stream.response_headers["www-authenticate"] == "Bearer"


async def test_expired_token_refresh_token_and_foreign_audience_are_401(
    server: Server, user: Account, direct: Services
) -> None:
    expired = short_lived_token(direct, user, -30)
    async with http(server.url) as client:
        login = await client.post(
            "/api/auth/login", data={"username": user.email, "password": "a long enough passphrase 42"}
        )
        refresh = login.json()["refresh_token"]
        cookie = await client.post("/api/events/cookie", headers=user.headers)
        cookie_token = SimpleCookie(cookie.headers["set-cookie"])["aiclone_events"].value
    for token in (expired, refresh, cookie_token):
        async with open_stream(server.url, headers={"Authorization": f"Bearer {token}"}) as stream:
            assert_problem(stream, 401)


async def test_ticket_opens_one_stream_once(server: Server, user: Account, direct: Services) -> None:
    ticket = await get_ticket(server, user)
    async with direct.db.read_session() as session:
        stored = (await session.scalars(select(StreamTicket).where(StreamTicket.user_id == user.id))).all()
    # Only a hash is kept.
    assert [t.token_hash for t in stored] != [ticket]
    assert all(ticket not in t.token_hash for t in stored)

    await server.write_events(user.id, 3)
    async with open_stream(server.url, params={"ticket": ticket, "last_event_id": "1"}) as stream:
        assert stream.status == 200
        assert await stream.wait_seqs(2) == [2, 3]
        # The browser's automatic reconnect would reuse the URL: the ticket is spent.
        async with open_stream(server.url, params={"ticket": ticket}) as again:
            assert_problem(again, 401)
        await server.write_events(user.id, 1)
        assert await stream.wait_seqs(3) == [2, 3, 4]


async def test_concurrent_redemptions_of_one_ticket_admit_exactly_one(server: Server, user: Account) -> None:
    ticket = await get_ticket(server, user)
    streams = [StreamClient(server.url, params={"ticket": ticket}) for _ in range(8)]
    try:
        await asyncio.gather(*(s.open() for s in streams))
        assert sorted(s.status or 0 for s in streams) == [200] + [401] * 7
    finally:
        for stream in streams:
            await stream.close()


async def test_expired_or_unknown_tickets_are_401(server: Server, user: Account, direct: Services) -> None:
    ticket = await get_ticket(server, user)
    async with direct.db.session() as session:
        await session.execute(
            update(StreamTicket)
            .where(StreamTicket.user_id == user.id, StreamTicket.used_at.is_(None))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    for candidate in (ticket, "x" * 43, "", "y" * 500):
        async with open_stream(server.url, params={"ticket": candidate}) as stream:
            assert_problem(stream, 401)
    async with http(server.url) as client:
        assert_problem(await client.post("/api/events/ticket"), 401)


async def test_stream_cookie_authenticates_the_stream_and_nothing_else(server: Server, user: Account) -> None:
    async with http(server.url) as client:
        response = await client.post("/api/events/cookie", headers=user.headers)
        assert response.status_code == 200, response.text
        assert 0 < response.json()["expires_in"] <= 1800
        raw = response.headers["set-cookie"]
        morsel = SimpleCookie(raw)["aiclone_events"]
        assert morsel["httponly"] is True
        assert morsel["samesite"].lower() == "strict"
        assert morsel["path"] == "/api/events"
        assert int(morsel["max-age"]) == response.json()["expires_in"]
        assert "secure" not in raw.lower()  # plain http here; Secure over https and in production
        value = morsel.value
        # Not an API credential: neither as a cookie nor as a bearer token elsewhere.
        assert_problem(await client.get("/api/auth/me", headers={"Cookie": f"aiclone_events={value}"}), 401)
        assert_problem(
            await client.get("/api/events/status", headers={"Authorization": f"Bearer {value}"}), 401
        )
        cleared = await client.delete("/api/events/cookie")
        assert cleared.status_code == 204
        assert "max-age=0" in cleared.headers["set-cookie"].lower()

    await server.write_events(user.id, 2)
    async with open_stream(
        server.url, cookies={"aiclone_events": value}, params={"last_event_id": "0"}
    ) as stream:
        assert stream.status == 200
        assert await stream.wait_seqs(2) == [1, 2]
    async with open_stream(server.url, cookies={"aiclone_events": value + "x"}) as stream:
        assert_problem(stream, 401)


async def test_a_bad_bearer_header_is_not_rescued_by_a_good_ticket(server: Server, user: Account) -> None:
    ticket = await get_ticket(server, user)
    async with open_stream(
        server.url, headers={"Authorization": "Bearer nope"}, params={"ticket": ticket}
    ) as stream:
        assert_problem(stream, 401)


@pytest.mark.parametrize("via", ["bearer", "ticket", "cookie"])
async def test_stream_ends_when_its_credential_expires(
    server: Server, user: Account, direct: Services, via: str
) -> None:
    token = short_lived_token(direct, user, 3)
    options: dict[str, object] = {}
    if via == "bearer":
        options["headers"] = {"Authorization": f"Bearer {token}"}
    elif via == "ticket":
        short = Account(user.id, user.email, token)
        options["params"] = {"ticket": await get_ticket(server, short)}
    else:
        async with http(server.url) as client:
            response = await client.post("/api/events/cookie", headers={"Authorization": f"Bearer {token}"})
        options["cookies"] = {
            "aiclone_events": SimpleCookie(response.headers["set-cookie"])["aiclone_events"].value
        }
    async with open_stream(server.url, **options) as stream:
        assert stream.status == 200
        expires_at = dt.datetime.fromisoformat(stream.frames[0].json["expires_at"]) if stream.frames else None
        await asyncio.wait_for(stream.ended.wait(), timeout=15)
        assert stream.named("close")[-1].json == {"reason": "credential_expired"}
        if expires_at is not None:
            assert dt.datetime.now(dt.UTC) >= expires_at - dt.timedelta(seconds=1)


async def test_users_only_ever_see_their_own_events(server: Server) -> None:
    rng = random.Random(4)
    accounts = [await sign_up(server.url) for _ in range(8)]
    streams: list[StreamClient] = []
    try:
        for i, account in enumerate(accounts):
            if i % 3 == 0:
                stream = StreamClient(server.url, headers=account.headers)
            elif i % 3 == 1:
                stream = StreamClient(server.url, params={"ticket": await get_ticket(server, account)})
            else:
                async with http(server.url) as client:
                    response = await client.post("/api/events/cookie", headers=account.headers)
                value = SimpleCookie(response.headers["set-cookie"])["aiclone_events"].value
                stream = StreamClient(server.url, cookies={"aiclone_events": value})
            streams.append(await stream.open())
        for stream in streams:
            await stream.wait_for(lambda c: c.frames)

        sent: dict[uuid.UUID, int] = dict.fromkeys((a.id for a in accounts), 0)

        async def writer() -> None:
            for _ in range(15):
                owner = rng.choice(accounts)
                count = rng.randint(1, 3)
                await server.write_events(
                    owner.id, count, data={"owner": str(owner.id)}, per_transaction=count
                )
                sent[owner.id] += count

        await asyncio.gather(*(writer() for _ in range(4)))
        for account, stream in zip(accounts, streams, strict=True):
            assert await stream.wait_seqs(sent[account.id], timeout=20) == list(
                range(1, sent[account.id] + 1)
            )
            assert {f.json["data"]["owner"] for f in stream.events} <= {str(account.id)}
        await asyncio.sleep(0.5)
        for account, stream in zip(accounts, streams, strict=True):
            assert len(stream.events) == sent[account.id]
    finally:
        for stream in streams:
            await stream.close()


async def test_tickets_never_reach_the_logs(server: Server, user: Account) -> None:
    used = await get_ticket(server, user)
    async with open_stream(server.url, params={"ticket": used}) as stream:
        assert stream.status == 200
    async with open_stream(server.url, params={"ticket": used}) as stream:
        assert stream.status == 401
    garbage = "g" * 40
    async with open_stream(server.url, params={"ticket": garbage}) as stream:
        assert stream.status == 401
    await asyncio.sleep(0.2)
    log = server.log()
    assert "DEBUG" in log  # the server did log at DEBUG level
    assert used not in log
    assert garbage not in log


def test_access_log_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/events?types=activity&ticket=s3cr3t-Value_1&x=2", "1.1", 200),
        None,
    )
    assert TicketRedactor().filter(record)
    line = record.getMessage()
    assert "s3cr3t" not in line
    assert "ticket=[redacted]&x=2" in line
