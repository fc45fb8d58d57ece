"""The admin guard and the admin user list (keyset pagination, no secrets)."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.pagination import encode_cursor
from tests.support.factories import UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
USERS = "/api/admin/users"


async def test_admin_route_is_401_anonymous_403_user_200_admin(client: Client, users: UserFactory) -> None:
    user = await users.create()
    admin = await users.create(admin=True)

    anonymous = await client.get(USERS)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"

    denied = await client.get(USERS, headers=user.headers)
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert denied.json()["type"].endswith("/forbidden")
    assert user.email not in denied.text

    allowed = await client.get(USERS, headers=admin.headers)
    assert allowed.status_code == 200
    emails = {item["email"] for item in allowed.json()["items"]}
    assert emails == {user.email, admin.email}


async def test_user_list_never_carries_password_hashes(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    response = await client.get(USERS, headers=admin.headers)
    assert response.status_code == 200
    assert "argon2" not in response.text
    assert "password" not in response.text
    (item,) = response.json()["items"]
    assert set(item) == {"id", "email", "full_name", "role", "is_active", "created_at"}


async def test_pages_cover_every_user_once_in_a_stable_order(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    created = [admin.email] + [(await users.create()).email for _ in range(4)]

    seen: list[dict[str, object]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(USERS, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= 2
        seen.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "pagination does not terminate"

    assert pages == 3
    assert [item["email"] for item in seen] == created
    keys = [(item["created_at"], item["id"]) for item in seen]
    assert keys == sorted(keys)


async def test_last_full_page_has_no_next_cursor(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    await users.create()
    body = (await client.get(USERS, params={"limit": 2}, headers=admin.headers)).json()
    assert len(body["items"]) == 2
    assert body["next_cursor"] is None


async def test_role_filter(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    await users.create()
    response = await client.get(USERS, params={"role": "admin"}, headers=admin.headers)
    assert response.status_code == 200
    assert [item["email"] for item in response.json()["items"]] == [admin.email]
    bad = await client.get(USERS, params={"role": "root"}, headers=admin.headers)
    assert_problem(bad, 422, "validation-error")


async def test_bad_paging_parameters_are_422_naming_the_field(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    cases = [
        ({"limit": 0}, "limit"),
        ({"limit": 100_000}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": encode_cursor.__name__}, "cursor"),
        ({"cursor": "x" * 500}, "cursor"),
    ]
    for params, field in cases:
        response = await client.get(USERS, params=params, headers=admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(error["field"] == field for error in response.json()["errors"]), response.json()


async def test_a_cursor_past_the_end_gives_an_empty_page(client: Client, users: UserFactory) -> None:
    import datetime as dt
    import uuid

    admin = await users.create(admin=True)
    cursor = encode_cursor(dt.datetime(2999, 1, 1, tzinfo=dt.UTC), uuid.uuid4())
    response = await client.get(USERS, params={"cursor": cursor}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_get_one_user(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    user = await users.create()
    found = await client.get(f"{USERS}/{user.id}", headers=admin.headers)
    assert found.status_code == 200
    assert found.json()["email"] == user.email
    assert "password" not in found.text
    missing = await client.get(f"{USERS}/{uuid.uuid4()}", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")
    denied = await client.get(f"{USERS}/{admin.id}", headers=user.headers)
    assert denied.status_code == 403
    assert denied.json()["type"].endswith("/forbidden")


async def test_patch_changes_role_and_state_and_reactivation_allows_sign_in(
    client: Client, users: UserFactory
) -> None:
    admin = await users.create(admin=True)
    user = await users.create()
    promoted = await client.patch(f"{USERS}/{user.id}", headers=admin.headers, json={"role": "admin"})
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    off = await client.patch(
        f"{USERS}/{user.id}", headers=admin.headers, json={"is_active": False, "role": "user"}
    )
    assert off.json()["is_active"] is False
    assert off.json()["role"] == "user"
    assert_problem(await users.login(user.email), 401, "unauthenticated")
    on = await client.patch(f"{USERS}/{user.id}", headers=admin.headers, json={"is_active": True})
    assert on.json()["is_active"] is True
    assert (await users.login(user.email)).status_code == 200
    invalid = await client.patch(f"{USERS}/{user.id}", headers=admin.headers, json={"role": "owner"})
    assert invalid.status_code in (400, 422)
    missing = await client.patch(f"{USERS}/{uuid.uuid4()}", headers=admin.headers, json={"is_active": False})
    assert_problem(missing, 404, "not-found")


async def test_a_no_op_patch_ends_no_session(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    user = await users.create()
    same = await client.patch(
        f"{USERS}/{user.id}", headers=admin.headers, json={"is_active": True, "role": "user"}
    )
    assert same.status_code == 200
    assert (await client.get("/api/auth/me", headers=user.headers)).status_code == 200


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: Client, users: UserFactory
) -> None:
    admin = await users.create(admin=True)
    for change in ({"role": "user"}, {"is_active": False}):
        refused = await client.patch(f"{USERS}/{admin.id}", headers=admin.headers, json=change)
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/last-admin")
    assert (await client.get(USERS, headers=admin.headers)).status_code == 200
    # With a second admin, the first may step down (and its own token dies with its role).
    second = await users.create(admin=True)
    stepped_down = await client.patch(f"{USERS}/{admin.id}", headers=admin.headers, json={"role": "user"})
    assert stepped_down.status_code == 200
    assert (await client.get(USERS, headers=admin.headers)).status_code == 401
    last = await client.patch(f"{USERS}/{second.id}", headers=second.headers, json={"is_active": False})
    assert last.status_code == 409
    assert last.json()["type"].endswith("/last-admin")
