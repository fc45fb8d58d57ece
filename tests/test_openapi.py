"""The API document matches what the server enforces, and the docs render with no internet."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.factories import UserFactory

Client = AsyncTestClient[Litestar]
SCHEME = "OAuth2PasswordBearer"
PUBLIC = {
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    # Browser sessions: the credential is the refresh token in the session cookie.
    ("post", "/api/auth/session"),
    ("post", "/api/auth/session/refresh"),
    ("delete", "/api/auth/session"),
    # Account recovery: the caller cannot sign in; the credential, if any, is the mailed token.
    ("post", "/api/auth/password-reset"),
    ("post", "/api/auth/password-reset/confirm"),
    ("post", "/api/auth/verify-email"),
    ("post", "/api/auth/verify-email/resend"),
    ("get", "/health"),
    ("get", "/health/ready"),
    # Clearing the stream cookie needs no credentials: it only expires a cookie.
    ("delete", "/api/events/cookie"),
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_document_is_openapi_3_1_with_the_bearer_scheme(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    scheme = document["components"]["securitySchemes"][SCHEME]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/login"
    assert document["security"] == [{SCHEME: []}]


def test_docs_machinery_is_not_documented_as_api(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    assert not {p for p in paths if p.startswith(("/api/docs", "/api/redoc", "/api/openapi"))}
    assert "/api" not in paths
    assert "/api/{path}" not in paths


def test_every_operation_has_a_summary_and_problem_errors(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert len(ops) >= 8
    for method, path, operation in ops:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation["summary"] not in ("Handler",), where
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response.get("content", {})) == ["application/problem+json"], (where, status)
                assert response["description"], (where, status)


def test_public_operations_say_security_empty_and_others_carry_the_scheme(document: dict[str, Any]) -> None:
    public = set()
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        assert "security" in operation, where
        if operation["security"] == []:
            public.add((method, path))
            assert "401" not in operation["responses"] or path.startswith("/api/auth/"), where
        else:
            # The bearer scheme always; the event stream also accepts a ticket or its cookie.
            assert {SCHEME: []} in operation["security"], where
            assert "401" in operation["responses"], where
    assert public == PUBLIC


def test_admin_operations_document_403(document: dict[str, Any]) -> None:
    admin_ops = [(m, p, o) for m, p, o in operations(document) if p.startswith("/api/admin/")]
    assert admin_ops
    for method, path, operation in admin_ops:
        assert "403" in operation["responses"], f"{method.upper()} {path}"


async def test_the_document_tells_the_truth_about_authentication(
    client: Client, document: dict[str, Any]
) -> None:
    """Call every operation without credentials: exactly the documented ones answer 401."""
    for method, path, operation in operations(document):
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = await client.request(method.upper(), url)
        where = f"{method.upper()} {path}"
        if operation["security"] == []:
            assert response.status_code != 401, where
        else:
            assert response.status_code == 401, (where, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), where
            assert response.headers["www-authenticate"] == "Bearer", where


async def test_swagger_authorize_flow_works(client: Client, users: UserFactory) -> None:
    """Swagger UI's password flow posts this exact form to the tokenUrl."""
    user = await users.create()
    response = await client.post(
        "/api/auth/login",
        data={"grant_type": "password", "username": user.email, "password": user.password, "scope": ""},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


_URL = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")
_ABSOLUTE = re.compile(r"(?:https?:)?//([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
async def test_docs_pages_use_only_local_assets(client: Client, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = _URL.findall(html)
    # Only what the page loads matters; example URLs inside the embedded document are data.
    remote = [url for url in assets if _ABSOLUTE.match(url)]
    assert not remote, f"{page} loads from other hosts: {remote}"
    scripts = [url for url in assets if url.endswith(".js")]
    assert scripts, f"{page} loads no script"
    for url in assets:
        assert url.startswith("/api/docs/assets/"), url
        asset = await client.get(url)  # no Authorization header
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in kind, (url, kind)
            assert len(asset.content) > 10_000, url
        elif url.endswith(".css"):
            assert kind.startswith("text/css"), (url, kind)
        elif url.endswith(".png"):
            assert kind == "image/png", (url, kind)


async def test_swagger_page_loads_the_css_and_the_standalone_preset(client: Client) -> None:
    html = (await client.get("/api/docs")).text
    assert "swagger-ui.css" in html
    assert "swagger-ui-standalone-preset.js" in html
    assert "redoc.standalone.js" in (await client.get("/api/redoc")).text


async def test_unknown_asset_is_a_404_problem(client: Client) -> None:
    response = await client.get("/api/docs/assets/nothing-here.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
