"""PATCH /api/auth/me: the name at once, a new address after it confirms."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.settings import Settings
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.mail_support import bodies, token_of, wait_for_eml
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
PROBLEM = "https://aiclone.dev/problems/"


async def test_the_name_changes_at_once(client: Client, users: UserFactory) -> None:
    user = await users.create()
    response = await client.patch("/api/auth/me", json={"full_name": "  Ann Other "}, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["full_name"] == "Ann Other"
    assert body["email"] == user.email
    assert body["pending_email"] is None
    assert body["email_verified"] is False
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.json()["full_name"] == "Ann Other"
    blank = await client.patch("/api/auth/me", json={"full_name": "   "}, headers=user.headers)
    assert blank.status_code == 422
    assert blank.json()["type"] == PROBLEM + "validation-error"
    anonymous = await client.patch("/api/auth/me", json={"full_name": "X"})
    assert anonymous.status_code == 401
    assert anonymous.json()["type"] == PROBLEM + "unauthenticated"


async def test_an_email_change_needs_the_current_password(client: Client, users: UserFactory) -> None:
    user = await users.create()
    missing = await client.patch("/api/auth/me", json={"email": "new@example.com"}, headers=user.headers)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "current_password"
    wrong = await client.patch(
        "/api/auth/me",
        json={"email": "new@example.com", "current_password": "not my password 1"},
        headers=user.headers,
    )
    assert wrong.status_code == 403
    assert wrong.json()["type"] == PROBLEM + "wrong-password"


async def test_the_address_moves_when_the_new_one_confirms(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    response = await client.patch(
        "/api/auth/me",
        json={"email": "Moved@Example.com", "current_password": DEFAULT_PASSWORD},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == user.email, "nothing moves before the confirmation"
    assert response.json()["pending_email"] == "moved@example.com"
    assert (await client.get("/api/auth/me", headers=user.headers)).json()["email"] == user.email

    [confirm] = await wait_for_eml(settings.mail_dir, "moved@example.com")
    assert confirm["Subject"] == "Confirm your new email address for aiclone"
    notices = await wait_for_eml(settings.mail_dir, user.email, count=2)  # registration + notice
    notice_text, _ = bodies(notices[-1])
    assert notices[-1]["Subject"] == "Your aiclone email address is being changed"
    assert "m***@example.com" in notice_text

    confirmed = await client.post("/api/auth/verify-email", json={"token": token_of(confirm)})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"email": "moved@example.com", "email_verified": True}
    assert (await users.login("moved@example.com")).status_code == 200
    assert_problem(await users.login(user.email), 401, "unauthenticated")
    me = await client.get("/api/auth/me", headers=user.headers)
    assert me.json()["email"] == "moved@example.com"


async def test_an_address_with_an_account_looks_the_same_and_its_owner_is_told(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    mover = await users.create()
    holder = await users.create()
    response = await client.patch(
        "/api/auth/me",
        json={"email": holder.email, "current_password": DEFAULT_PASSWORD},
        headers=mover.headers,
    )
    assert response.status_code == 200
    assert response.json()["pending_email"] == holder.email
    mails = await wait_for_eml(settings.mail_dir, holder.email, count=2)  # registration + notice
    assert mails[-1]["Subject"] == "Your email address was offered for another aiclone account"
    text, _ = bodies(mails[-1])
    assert "#confirm-email=" not in text, "no link that could move the account"
    assert (await users.login(holder.email)).status_code == 200


async def test_a_confirmation_for_an_address_taken_meanwhile_is_a_conflict(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    mover = await users.create()
    response = await client.patch(
        "/api/auth/me",
        json={"email": "contested@example.com", "current_password": DEFAULT_PASSWORD},
        headers=mover.headers,
    )
    assert response.status_code == 200
    [confirm] = await wait_for_eml(settings.mail_dir, "contested@example.com")
    await users.create(email="contested@example.com")
    conflict = await client.post("/api/auth/verify-email", json={"token": token_of(confirm)})
    assert conflict.status_code == 409
    assert conflict.json()["type"] == PROBLEM + "conflict"
    assert (await client.get("/api/auth/me", headers=mover.headers)).json()["email"] == mover.email


async def test_asking_for_the_current_address_cancels_a_pending_change(
    client: Client, users: UserFactory, settings: Settings
) -> None:
    user = await users.create()
    await client.patch(
        "/api/auth/me",
        json={"email": "later@example.com", "current_password": DEFAULT_PASSWORD},
        headers=user.headers,
    )
    [confirm] = await wait_for_eml(settings.mail_dir, "later@example.com")
    cancel = await client.patch("/api/auth/me", json={"email": user.email.upper()}, headers=user.headers)
    assert cancel.status_code == 200
    assert cancel.json()["pending_email"] is None
    stale = await client.post("/api/auth/verify-email", json={"token": token_of(confirm)})
    assert stale.status_code == 400
    assert stale.json()["type"] == PROBLEM + "invalid-token"
