"""Every route says what an API key needs to call it, and the server enforces exactly that.

The registry is ``aiclone.auth.scopes``; these tests walk the routes the app really registers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from aiclone.app import create_app
from aiclone.auth.scopes import (
    AnyCredential,
    ApiScope,
    Public,
    Scoped,
    SessionOnly,
    Undeclared,
    required_access,
)
from aiclone.openapi import PUBLIC_OPT_KEY, SELF_AUTH_OPT_KEY
from tests.conftest import make_settings
from tests.support.factories import SignedInUser, UserFactory

# Routes any valid key may call: who am I, and the catalogue of event types (no user data).
ANY_CREDENTIAL = {("GET", "/api/auth/me"), ("GET", "/api/event-types")}
# Operations only a signed-in session may call: credentials and the account itself.
SESSION_ONLY = {
    ("POST", "/api/auth/logout"),
    ("PATCH", "/api/auth/me"),
    ("DELETE", "/api/auth/me"),
    ("GET", "/api/auth/me/export"),
    ("GET", "/api/auth/sessions"),
    ("DELETE", "/api/auth/sessions"),
    ("DELETE", "/api/auth/sessions/{session_id:uuid}"),
    ("POST", "/api/auth/password"),
    ("GET", "/api/api-keys"),
    ("POST", "/api/api-keys"),
    ("DELETE", "/api/api-keys/{key_id:uuid}"),
    ("GET", "/api/admin/users/{user_id:uuid}/api-keys"),
    ("DELETE", "/api/admin/users/{user_id:uuid}/api-keys/{key_id:uuid}"),
    # The stream cookie is for browsers, which sign in; a key sends its header to the stream.
    ("POST", "/api/events/cookie"),
}


def _app(tmp_path: Path) -> Litestar:
    return create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}", tmp_path))


def _operations(app: Litestar) -> dict[tuple[str, str], object]:
    found: dict[tuple[str, str], object] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            public = bool(handler.opt.get(PUBLIC_OPT_KEY)) and not handler.opt.get(SELF_AUTH_OPT_KEY)
            for method in handler.http_methods:
                if method == "OPTIONS":  # preflights never need credentials
                    continue
                found[(method, route.path)] = required_access(handler.opt, method, public=public)
    return found


def test_every_route_declares_a_scope_or_is_session_only_or_public(tmp_path: Path) -> None:
    operations = _operations(_app(tmp_path))
    assert len(operations) > 60
    undeclared = sorted(op for op, access in operations.items() if isinstance(access, Undeclared))
    assert undeclared == []
    assert {op for op, a in operations.items() if isinstance(a, SessionOnly)} == SESSION_ONLY
    assert {op for op, a in operations.items() if isinstance(a, AnyCredential)} == ANY_CREDENTIAL


def test_domain_routes_read_on_get_and_write_otherwise(tmp_path: Path) -> None:
    operations = _operations(_app(tmp_path))
    domains = {
        "/api/prospects": "prospects",
        "/api/research-tasks": "research",
        "/api/outreach": "outreach",
        "/api/content": "content",
        "/api/automations": "automations",
        "/api/webhooks": "webhooks",
        "/api/hooks": "webhooks",
        "/api/notifications": "notifications",
        "/api/activities": "activities",
    }
    checked = 0
    for (method, path), access in operations.items():
        for prefix, domain in domains.items():
            if path == prefix or path.startswith(prefix + "/"):
                verb = "read" if method in ("GET", "HEAD") else "write"
                assert access == Scoped(ApiScope(f"{domain}:{verb}")), (method, path, access)
                checked += 1
    assert checked > 40


def test_special_routes_have_their_own_scopes(tmp_path: Path) -> None:
    operations = _operations(_app(tmp_path))
    assert operations[("GET", "/metrics")] == Scoped(ApiScope.METRICS_READ)
    assert operations[("GET", "/api/events")] == Scoped(ApiScope.EVENTS_READ)
    assert operations[("POST", "/api/events/ticket")] == Scoped(ApiScope.EVENTS_READ)
    assert operations[("POST", "/api/events/broadcast")] == Scoped(ApiScope.ADMIN)
    assert operations[("GET", "/api/analytics/summary")] == Scoped(ApiScope.ANALYTICS_READ)
    assert operations[("POST", "/api/analytics/export")] == Scoped(ApiScope.ANALYTICS_READ)
    assert operations[("DELETE", "/api/events/cookie")] == Public()
    assert operations[("GET", "/health")] == Public()
    admin = [a for (m, p), a in operations.items() if p.startswith("/api/admin/") and "/api-keys" not in p]
    assert admin
    assert all(a == Scoped(ApiScope.ADMIN) for a in admin)


def test_an_unmarked_route_fails_closed() -> None:
    assert required_access({}, "GET") == Undeclared()
    assert required_access({}, "GET", public=True) == Public()


# -- enforcement, through the real app ------------------------------------------------------

LIST_PATHS = {
    "prospects": "/api/prospects",
    "research": "/api/research-tasks",
    "outreach": "/api/outreach",
    "content": "/api/content",
    "automations": "/api/automations",
    "webhooks": "/api/webhooks",
    "notifications": "/api/notifications",
    "activities": "/api/activities",
}
# A write of each domain that has one (the body is empty: past the scope check it is a 4xx of its own).
WRITE_PATHS = {
    "prospects": "/api/prospects",
    "research": "/api/research-tasks",
    "outreach": "/api/outreach",
    "content": "/api/content",
    "automations": "/api/automations",
    "webhooks": "/api/webhooks",
    "notifications": "/api/notifications/read",
}
INSUFFICIENT = "https://aiclone.dev/problems/insufficient-scope"


async def _key(client: AsyncTestClient[Litestar], user: SignedInUser, scopes: list[str]) -> dict[str, str]:
    response = await client.post("/api/api-keys", json={"name": "t", "scopes": scopes}, headers=user.headers)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.mark.parametrize("domain", sorted(LIST_PATHS))
async def test_read_and_write_scopes_per_domain(
    client: AsyncTestClient[Litestar], users: UserFactory, domain: str
) -> None:
    ann = await users.create()
    reader = await _key(client, ann, [f"{domain}:read"])
    writer = await _key(client, ann, [f"{domain}:write"])
    other = await _key(client, ann, [f"{d}:read" for d in LIST_PATHS if d != domain])
    path = LIST_PATHS[domain]
    assert (await client.get(path, headers=reader)).status_code == 200
    assert (await client.get(path, headers=ann.headers)).status_code == 200  # a session has every scope
    for headers, missing in ((writer, f"{domain}:read"), (other, f"{domain}:read")):
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 403
        body = refused.json()
        assert body["type"] == INSUFFICIENT
        assert body["required_scope"] == missing
        assert missing in body["detail"]
    write = WRITE_PATHS.get(domain)
    if write is None:
        return
    refused = await client.post(write, json={}, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == f"{domain}:write"
    allowed = await client.post(write, json={}, headers=writer)
    assert allowed.status_code not in (401, 403), allowed.text


async def test_a_key_with_write_scope_creates_and_the_reader_sees_it(
    client: AsyncTestClient[Litestar], users: UserFactory
) -> None:
    ann, bob = await users.create(), await users.create()
    writer = await _key(client, ann, ["prospects:write", "prospects:read"])
    created = await client.post(
        "/api/prospects", json={"name": "Ada", "email": "ada@example.com"}, headers=writer
    )
    assert created.status_code == 201, created.text
    listed = (await client.get("/api/prospects", headers=writer)).json()["items"]
    assert [p["name"] for p in listed] == ["Ada"]
    # Only the key's own user's data: Bob's key sees nothing of it.
    bob_reader = await _key(client, bob, ["prospects:read"])
    assert (await client.get("/api/prospects", headers=bob_reader)).json()["items"] == []
    assert (await client.get(f"/api/prospects/{created.json()['id']}", headers=bob_reader)).status_code == 404


async def test_analytics_and_events_scopes(client: AsyncTestClient[Litestar], users: UserFactory) -> None:
    ann = await users.create()
    analytics = await _key(client, ann, ["analytics:read"])
    events = await _key(client, ann, ["events:read"])
    assert (await client.get("/api/analytics/summary", headers=analytics)).status_code == 200
    refused = await client.get("/api/analytics/summary", headers=events)
    assert refused.status_code == 403
    assert refused.json()["required_scope"] == "analytics:read"
    exported = await client.post("/api/analytics/export", json={"format": "csv"}, headers=analytics)
    assert exported.status_code not in (401, 403), exported.text
    assert (await client.post("/api/events/ticket", headers=events)).status_code == 201
    refused = await client.post("/api/events/ticket", headers=analytics)
    assert refused.json()["required_scope"] == "events:read"
    stream = await client.get("/api/events", headers=analytics)
    assert stream.status_code == 403
    assert stream.json()["required_scope"] == "events:read"
    assert (await client.get("/api/auth/me", headers=analytics)).status_code == 200
    assert (await client.get("/api/admin/users", headers=analytics)).status_code == 403


async def test_the_document_names_every_operations_scope_as_the_server_enforces_it(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    document = (await client.get("/api/openapi.json")).json()
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    documented = 0
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            public = bool(handler.opt.get(PUBLIC_OPT_KEY)) and not handler.opt.get(SELF_AUTH_OPT_KEY)
            for method in handler.http_methods:
                operation = document["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                documented += 1
                where = (method, route.path)
                access = required_access(handler.opt, method, public=public)
                keys = [entry["ApiKey"] for entry in operation["security"] if "ApiKey" in entry]
                if isinstance(access, Scoped):
                    assert keys == [[access.scope.value]], where
                    assert f"API key scope: `{access.scope.value}`." in operation["description"], where
                elif isinstance(access, AnyCredential):
                    assert keys == [[]], where
                else:
                    assert keys == [], where
                    if isinstance(access, SessionOnly):
                        assert "session-required" in operation["description"], where
                    else:
                        assert isinstance(access, Public), where
                        assert operation["security"] == [], where
    assert documented > 60
