"""Every route says what an API key needs to call it, and the server enforces exactly that.

The registry is ``aiclone.auth.scopes``; these tests walk the routes the app really registers.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.routes import HTTPRoute

from aiclone.app import create_app
from aiclone.auth.middleware import PUBLIC_OPT_KEY
from aiclone.auth.scopes import (
    AnyCredential,
    ApiScope,
    Public,
    Scoped,
    SessionOnly,
    Undeclared,
    required_access,
)
from aiclone.openapi import SELF_AUTH_OPT_KEY
from tests.conftest import make_settings

# Operations a key may call with no scope: "who am I".
ANY_CREDENTIAL = {("GET", "/api/auth/me")}
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
    assert operations[("POST", "/api/events/cookie")] == Scoped(ApiScope.EVENTS_READ)
    assert operations[("POST", "/api/events/broadcast")] == Scoped(ApiScope.ADMIN)
    assert operations[("GET", "/api/analytics/summary")] == Scoped(ApiScope.ANALYTICS_READ)
    assert operations[("POST", "/api/analytics/export")] == Scoped(ApiScope.ANALYTICS_READ)
    assert operations[("DELETE", "/api/events/cookie")] == Public()
    assert operations[("GET", "/health")] == Public()
    admin = [a for (m, p), a in operations.items() if p.startswith("/api/admin/")]
    assert admin
    assert all(a == Scoped(ApiScope.ADMIN) for a in admin)


def test_an_unmarked_route_fails_closed() -> None:
    assert required_access({}, "GET") == Undeclared()
    assert required_access({}, "GET", public=True) == Public()
