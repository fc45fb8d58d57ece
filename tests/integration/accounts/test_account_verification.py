"""Email verification: refused sign-in until confirmed, resend, and the confirmation link."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.accounts.throttle import RESPONSE_FLOOR_SECONDS
from aiclone.auth.models import Role
from aiclone.container import Services
from aiclone.settings import Settings
from tests.conftest import make_settings
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.mail_support import token_of, wait_for_eml

Client = AsyncTestClient[Litestar]
NOT_VERIFIED = "https://aiclone.dev/problems/email-not-verified"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, require_email_verification="true")


async def _register(client: Client, email: str) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Vera"}
    )
    assert response.status_code == 201, response.text


async def test_sign_in_waits_for_the_confirmation(client: Client, settings: Settings) -> None:
    await _register(client, "vera@example.com")
    refused = await client.post(
        "/api/auth/login", data={"username": "vera@example.com", "password": DEFAULT_PASSWORD}
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == NOT_VERIFIED
    browser = await client.post(
        "/api/auth/session",
        data={"username": "vera@example.com", "password": DEFAULT_PASSWORD},
        headers={"X-Requested-With": "aiclone"},
    )
    assert browser.status_code == 403
    assert browser.json()["type"] == NOT_VERIFIED
    assert "aiclone_session" not in browser.headers.get("set-cookie", "")
    # A wrong password still says only that the credentials are wrong.
    wrong = await client.post(
        "/api/auth/login", data={"username": "vera@example.com", "password": "not the password 1"}
    )
    assert wrong.status_code == 401

    [mail] = await wait_for_eml(settings.mail_dir, "vera@example.com")
    verified = await client.post("/api/auth/verify-email", json={"token": token_of(mail)})
    assert verified.status_code == 200
    signed_in = await client.post(
        "/api/auth/login", data={"username": "vera@example.com", "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 200


async def test_resend_mails_a_new_link_that_supersedes_the_first(client: Client, settings: Settings) -> None:
    await _register(client, "again@example.com")
    [first] = await wait_for_eml(settings.mail_dir, "again@example.com")
    answers = []
    for email in ("again@example.com", "never-registered@example.com"):
        started = time.monotonic()
        response = await client.post("/api/auth/verify-email/resend", json={"email": email})
        assert response.status_code == 202
        assert time.monotonic() - started >= RESPONSE_FLOOR_SECONDS
        answers.append(response.json())
    assert answers[0] == answers[1]
    second = (await wait_for_eml(settings.mail_dir, "again@example.com", count=2))[-1]
    stale = await client.post("/api/auth/verify-email", json={"token": token_of(first)})
    assert stale.status_code == 400
    assert stale.json()["type"] == "https://aiclone.dev/problems/invalid-token"
    assert (await client.post("/api/auth/verify-email", json={"token": token_of(second)})).status_code == 200

    # Verified now: asking again sends nothing more.
    assert (
        await client.post("/api/auth/verify-email/resend", json={"email": "again@example.com"})
    ).status_code == 202
    await _register(client, "marker@example.com")
    await wait_for_eml(settings.mail_dir, "marker@example.com")  # mail is sent in order
    assert len(await wait_for_eml(settings.mail_dir, "again@example.com", count=2)) == 2


async def test_operator_created_admins_count_as_verified(client: Client, services: Services) -> None:
    await services.auth.register(
        email="root@example.com", password=DEFAULT_PASSWORD, full_name="Root", role=Role.ADMIN
    )
    response = await client.post(
        "/api/auth/login", data={"username": "root@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200


async def test_without_the_requirement_unverified_accounts_sign_in(
    database_url: str, tmp_path: Path, clean_tables: None
) -> None:
    from aiclone.app import create_app

    settings = make_settings(database_url, tmp_path)
    assert settings.email_verification_required is False
    async with AsyncTestClient(app=create_app(settings)) as client:
        await _register(client, "relaxed@example.com")
        response = await client.post(
            "/api/auth/login", data={"username": "relaxed@example.com", "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 200


async def test_a_password_reset_also_confirms_the_address(client: Client, settings: Settings) -> None:
    await _register(client, "forgot@example.com")
    assert (
        await client.post("/api/auth/password-reset", json={"email": "forgot@example.com"})
    ).status_code == 202
    mails = await wait_for_eml(settings.mail_dir, "forgot@example.com", count=2)
    [reset] = [m for m in mails if m["Subject"] == "Reset your aiclone password"]
    new_password = "a brand new passphrase 77"
    confirm = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token_of(reset), "new_password": new_password}
    )
    assert confirm.status_code == 204
    response = await client.post(
        "/api/auth/login", data={"username": "forgot@example.com", "password": new_password}
    )
    assert response.status_code == 200, "the reset link reached the address, so it is confirmed"
