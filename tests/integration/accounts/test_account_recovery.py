"""Password reset by mail, through the HTTP API, with the mail read back from its .eml file."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from aiclone.accounts.models import AccountToken
from aiclone.accounts.throttle import RESPONSE_FLOOR_SECONDS
from aiclone.app import create_app
from aiclone.container import Services
from aiclone.settings import Settings
from tests.conftest import make_settings
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.mail_support import bodies, token_of, wait_for_eml
from tests.support.ratelimit_support import DAY_SECONDS, clear_of_window_edge

Client = AsyncTestClient[Litestar]
NEW_PASSWORD = "a brand new passphrase 77"
PROBLEM = "https://aiclone.dev/problems/"


async def _reset_token(client: Client, settings: Settings, email: str, *, count: int = 1) -> str:
    response = await client.post("/api/auth/password-reset", json={"email": email})
    assert response.status_code == 202, response.text
    mails = await wait_for_eml(settings.mail_dir, email, count=count + 1)  # + the registration mail
    resets = [m for m in mails if m["Subject"] == "Reset your aiclone password"]
    assert len(resets) == count
    return token_of(resets[-1])


async def test_unknown_and_known_addresses_get_the_same_answer_no_sooner_than_the_floor(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    answers = []
    for email in (user.email, "nobody-here@example.com"):
        started = time.monotonic()
        response = await client.post("/api/auth/password-reset", json={"email": email})
        elapsed = time.monotonic() - started
        assert response.status_code == 202
        assert elapsed >= RESPONSE_FLOOR_SECONDS
        answers.append(response.json())
    assert answers[0] == answers[1]
    assert set(answers[0]) == {"detail"}
    await wait_for_eml(settings.mail_dir, user.email, count=2)
    assert all("nobody-here" not in path.read_text() for path in settings.mail_dir.glob("*.eml"))


async def test_reset_sets_the_password_ends_every_session_and_is_single_use(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    token = await _reset_token(client, settings, user.email)
    assert len(token) >= 43, "at least 256 bits, URL-safe base64"

    confirm = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert confirm.status_code == 204, confirm.text

    old_session = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert old_session.status_code == 401, "the reset ended the session opened before it"
    assert (await users.login(user.email, DEFAULT_PASSWORD)).status_code == 401
    assert (await users.login(user.email, NEW_PASSWORD)).status_code == 200

    again = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "yet another passphrase 9"}
    )
    assert again.status_code == 400
    assert again.json()["type"] == PROBLEM + "invalid-token"

    mails = await wait_for_eml(settings.mail_dir, user.email, count=3)
    assert mails[-1]["Subject"] == "Your aiclone password was changed"


async def test_a_refused_password_leaves_the_token_usable(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    token = await _reset_token(client, settings, user.email)
    weak = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "password1234"}
    )
    assert weak.status_code == 422
    assert weak.json()["type"] == PROBLEM + "validation-error"
    ok = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


async def test_a_newer_reset_supersedes_the_earlier_link(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    first = await _reset_token(client, settings, user.email)
    second = await _reset_token(client, settings, user.email, count=2)
    stale = await client.post(
        "/api/auth/password-reset/confirm", json={"token": first, "new_password": NEW_PASSWORD}
    )
    assert stale.status_code == 400
    assert stale.json()["type"] == PROBLEM + "invalid-token"
    fresh = await client.post(
        "/api/auth/password-reset/confirm", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert fresh.status_code == 204


async def test_an_expired_token_is_refused(
    client: Client, users: UserFactory, settings: Settings, services: Services
) -> None:
    user = await users.create()
    token = await _reset_token(client, settings, user.email)
    async with services.db.session() as session:
        await session.execute(
            update(AccountToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    expired = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 400
    assert expired.json()["type"] == PROBLEM + "invalid-token"
    assert (await users.login(user.email, DEFAULT_PASSWORD)).status_code == 200


async def test_garbage_tokens_and_bad_bodies(client: Client) -> None:
    for token in ("x", "A" * 43, "A" * 128):
        response = await client.post(
            "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 400
        assert response.json()["type"] == PROBLEM + "invalid-token"
    too_long = await client.post(
        "/api/auth/password-reset/confirm", json={"token": "A" * 129, "new_password": NEW_PASSWORD}
    )
    assert too_long.status_code == 422
    bad_email = await client.post("/api/auth/password-reset", json={"email": "not-an-address"})
    assert bad_email.status_code == 422
    assert bad_email.json()["type"] == PROBLEM + "validation-error"
    unknown_field = await client.post(
        "/api/auth/password-reset", json={"email": "a@example.com", "user_id": "x"}
    )
    assert unknown_field.status_code == 422


async def test_the_mail_names_the_lifetime_and_carries_the_link(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    await _reset_token(client, settings, user.email)
    mails = await wait_for_eml(settings.mail_dir, user.email, count=2)
    text, html = bodies(mails[-1])
    assert "for 30 minutes" in text
    assert "http://127.0.0.1:8000/#reset-password=" in text
    assert 'href="http://127.0.0.1:8000/#reset-password=' in html


async def test_reset_requests_are_limited_per_client_address_and_per_mailbox(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        rate_limit_enabled=True,
        rate_limit="1000/minute",
        # Day windows: a count that straddled a window's edge would see most of its hits forgotten.
        rate_limit_account_mail="4/day",
        account_mail_per_email_limit="1/day",
    )
    await clear_of_window_edge(DAY_SECONDS, margin=120)
    async with AsyncTestClient(app=create_app(settings)) as client:
        registered = await client.post(
            "/api/auth/register",
            json={"email": "q@example.com", "password": DEFAULT_PASSWORD, "full_name": "Q"},
        )
        assert registered.status_code == 201
        statuses = [
            (await client.post("/api/auth/password-reset", json={"email": "q@example.com"})).status_code
            for _ in range(4)
        ]
        assert statuses == [202, 202, 202, 202]
        refused = await client.post("/api/auth/password-reset", json={"email": "q@example.com"})
        assert refused.status_code == 429
        assert refused.json()["type"] == PROBLEM + "rate-limited"
        assert "Retry-After" in refused.headers
        # Four accepted requests, one mailbox quota: one reset mail (beside the registration's).
        mails = await wait_for_eml(settings.mail_dir, "q@example.com", count=2)
    assert [m["Subject"] for m in mails].count("Reset your aiclone password") == 1
