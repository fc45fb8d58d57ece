"""Browser sessions: access token in the body, refresh token only in an HttpOnly cookie."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.problems import assert_problem

Client = AsyncTestClient[Litestar]
CSRF = {"X-Requested-With": "aiclone"}


def _set_cookie(response: object) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [value for value in headers if value.startswith("aiclone_session=")]
    assert len(found) == 1, headers
    return str(found[0])


async def _sign_in(client: Client, email: str, password: str = DEFAULT_PASSWORD) -> object:
    return await client.post(
        "/api/auth/session", data={"username": email, "password": password}, headers=CSRF
    )


async def test_sign_in_returns_only_the_access_token_and_sets_a_locked_down_cookie(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    client.cookies.clear()
    response = await _sign_in(client, user.email)
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"access_token", "expires_in", "token_type"}
    cookie = _set_cookie(response).lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/api/auth/session" in cookie
    assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == user.email


async def test_wrong_password_sets_no_cookie(client: Client, users: UserFactory) -> None:
    user = await users.create()
    client.cookies.clear()
    response = await _sign_in(client, user.email, "not the right password")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "aiclone_session" not in response.headers.get("set-cookie", "")  # type: ignore[attr-defined]


async def test_renew_rotates_the_cookie_and_reuse_ends_the_session(
    client: Client, users: UserFactory
) -> None:
    user = await users.create()
    client.cookies.clear()
    await _sign_in(client, user.email)
    first = client.cookies.get("aiclone_session")
    assert first

    renewed = await client.post("/api/auth/session/refresh", headers=CSRF)
    assert renewed.status_code == 200
    assert set(renewed.json()) == {"access_token", "expires_in", "token_type"}
    second = client.cookies.get("aiclone_session")
    assert second
    assert second != first

    # The old cookie, replayed (stolen), revokes the whole session, the new cookie included.
    client.cookies.set("aiclone_session", first, path="/api/auth/session")
    replay = await client.post("/api/auth/session/refresh", headers=CSRF)
    assert_problem(replay, 401, "unauthenticated")
    assert "max-age=0" in _set_cookie(replay).lower()  # the dead cookie is cleared
    client.cookies.set("aiclone_session", second, path="/api/auth/session")
    assert_problem(await client.post("/api/auth/session/refresh", headers=CSRF), 401, "unauthenticated")


async def test_cookie_endpoints_need_the_csrf_header(client: Client, users: UserFactory) -> None:
    user = await users.create()
    client.cookies.clear()
    await _sign_in(client, user.email)
    for method, path in (("POST", "/api/auth/session/refresh"), ("DELETE", "/api/auth/session")):
        response = await client.request(method, path)
        assert response.status_code == 403, (method, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        wrong = await client.request(method, path, headers={"X-Requested-With": "XMLHttpRequest"})
        assert wrong.status_code == 403
    # The refused requests did not spend or end the session.
    assert (await client.post("/api/auth/session/refresh", headers=CSRF)).status_code == 200


async def test_renew_without_a_cookie_is_401(client: Client) -> None:
    client.cookies.clear()
    response = await client.post("/api/auth/session/refresh", headers=CSRF)
    assert_problem(response, 401, "unauthenticated")
    client.cookies.set("aiclone_session", "x" * 5000, path="/api/auth/session")
    assert_problem(await client.post("/api/auth/session/refresh", headers=CSRF), 401, "unauthenticated")


async def test_sign_out_revokes_the_session(client: Client, users: UserFactory) -> None:
    user = await users.create()
    client.cookies.clear()
    await _sign_in(client, user.email)
    cookie = client.cookies.get("aiclone_session")
    assert cookie
    response = await client.delete("/api/auth/session", headers=CSRF)
    assert response.status_code == 204
    assert "max-age=0" in _set_cookie(response).lower()
    # Even if the browser kept the cookie, the server no longer honours it.
    client.cookies.set("aiclone_session", cookie, path="/api/auth/session")
    assert_problem(await client.post("/api/auth/session/refresh", headers=CSRF), 401, "unauthenticated")
    # Signing out with no session is harmless.
    client.cookies.clear()
    assert (await client.delete("/api/auth/session", headers=CSRF)).status_code == 204


async def test_the_cookie_is_no_bearer_token(client: Client, users: UserFactory) -> None:
    user = await users.create()
    client.cookies.clear()
    await _sign_in(client, user.email)
    cookie = client.cookies.get("aiclone_session")
    # The refresh token is opaque: it does not authenticate API calls.
    assert (
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {cookie}"})
    ).status_code == 401
    assert_problem(await client.get("/api/auth/me"), 401, "unauthenticated")
