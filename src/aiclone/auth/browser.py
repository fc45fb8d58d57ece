"""Browser sessions: the access token stays in page memory, the refresh token in a cookie.

The dashboard (and any same-origin page) signs in with ``POST /api/auth/session``. The response
body holds only the short-lived access token, which the page keeps in a variable; the refresh
token is set as an ``HttpOnly``, ``SameSite=Strict`` cookie scoped to ``/api/auth/session``, so
no script (an injected one included) can read it, and the browser sends it nowhere else. A page
reload restores the session with ``POST /api/auth/session/refresh``, which rotates the cookie
exactly like ``/api/auth/refresh`` rotates a token (reuse revokes the family). Like that
endpoint, these are public operations in the OpenAPI document: the credential is the refresh
token itself, here carried by the cookie.

Cookie-authenticated requests are a CSRF surface, so all three endpoints require the header
``X-Requested-With: aiclone`` — sign-in too: without it a cross-site form could sign a victim's
browser into the attacker's account (login CSRF), and whatever the victim then entered would
land there. ``SameSite=Strict`` stops other sites; the
header stops sibling subdomains (same site, other origin), because a cross-origin request with a
custom header needs a CORS preflight that our CORS policy does not grant to unknown origins.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import URLEncodedBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from aiclone.auth.schemas import AccessToken, LoginForm, TokenPair
from aiclone.auth.service import AuthService
from aiclone.auth.session_controller import client_info
from aiclone.errors import Forbidden, Unauthenticated, problem_response
from aiclone.openapi import problems, prose
from aiclone.settings import Settings

SESSION_PATH = "/api/auth/session"
SESSION_COOKIE = "aiclone_session"
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "aiclone"
_MAX_COOKIE_LENGTH = 512


def credential_cookie(key: str, path: str, value: str, max_age: int, *, secure: bool) -> Cookie:
    """A cookie that stands for a credential: HttpOnly (no script reads it), SameSite=Strict, and
    scoped to the one path that takes it. An empty value with ``max_age=0`` clears it."""
    return Cookie(
        key=key, value=value, path=path, max_age=max_age, httponly=True, secure=secure, samesite="strict"
    )


def _session_cookie(value: str, max_age: int, *, secure: bool) -> Cookie:
    return credential_cookie(SESSION_COOKIE, SESSION_PATH, value, max_age, secure=secure)


def _secure(request: Request[Any, Any, Any]) -> bool:
    settings: Settings = request.app.state.settings
    return settings.secure_cookies(https=request.url.scheme == "https")


def _require_header(request: Request[Any, Any, Any]) -> None:
    if request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise Forbidden(f"Cookie sessions require the header 'X-Requested-With: {CSRF_VALUE}'.")


def _cookie_token(request: Request[Any, Any, Any]) -> str | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value or len(value) > _MAX_COOKIE_LENGTH:
        return None
    return value


def _signed_in(pair: TokenPair, request: Request[Any, Any, Any]) -> Response[AccessToken]:
    return Response(
        AccessToken(access_token=pair.access_token, expires_in=pair.expires_in),
        status_code=HTTP_200_OK,
        cookies=[_session_cookie(pair.refresh_token, pair.refresh_expires_in, secure=_secure(request))],
    )


class BrowserSessionController(Controller):
    path = SESSION_PATH
    tags = ["auth"]

    @post(
        "/",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        summary="Sign in a browser",
        description=prose("""
            Form fields `username` (the email) and `password`, as for `/api/auth/login`. Returns the access
            token; the refresh token is set as an HttpOnly, SameSite=Strict cookie scoped to this path, never
            exposed to scripts. Needs the header `X-Requested-With: aiclone`.
        """),
        responses=problems(401, 403, 422),
    )
    async def start_browser_session(
        self,
        request: Request[Any, Any, Any],
        data: URLEncodedBody[LoginForm],
        auth_service: NamedDependency[AuthService],
    ) -> Response[AccessToken]:
        _require_header(request)
        pair = await auth_service.login(
            email=data.username, password=data.password, client=client_info(request)
        )
        return _signed_in(pair, request)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        exclude_from_auth=True,
        summary="Renew a browser session",
        description=prose("""
            Rotates the session cookie and returns a fresh access token. Needs the header `X-Requested-With:
            aiclone`. A cookie used twice revokes the session.
        """),
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=AccessToken, description="Renewed", generate_examples=False
            ),
            **problems(401, 403),
        },
    )
    async def renew_browser_session(
        self, request: Request[Any, Any, Any], auth_service: NamedDependency[AuthService]
    ) -> Response[Any]:
        _require_header(request)
        token = _cookie_token(request)
        if token is None:
            raise Unauthenticated("No browser session; sign in again.")
        try:
            pair = await auth_service.refresh(token)
        except Unauthenticated as error:
            # Clear the dead cookie so the browser stops sending it.
            response = problem_response(
                request, status=error.status, slug=error.slug, title=error.title, detail=error.detail
            )
            response.set_cookie(_session_cookie("", 0, secure=_secure(request)))
            return response
        return _signed_in(pair, request)

    @delete(
        "/",
        status_code=HTTP_204_NO_CONTENT,
        exclude_from_auth=True,
        summary="Sign out a browser",
        description="Revokes the session of the cookie and clears it. Needs `X-Requested-With: aiclone`.",
        responses=problems(403),
    )
    async def end_browser_session(
        self, request: Request[Any, Any, Any], auth_service: NamedDependency[AuthService]
    ) -> Response[None]:
        _require_header(request)
        token = _cookie_token(request)
        if token is not None:
            await auth_service.end_session(token)
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=[_session_cookie("", 0, secure=_secure(request))]
        )
