"""API-key scopes: the one registry, the route markers, and the one check that enforces them.

A signed-in session (a JWT) carries every scope of its user. An API key carries only the scopes
it was created with, so every route says what a key needs to call it, with exactly one marker in
its handler's (or its controller's) ``opt``:

* ``opt=requires_scope(ApiScope.ANALYTICS_READ)`` — that scope, whatever the method;
* ``opt=domain_scopes("prospects")`` (usually controller-wide) — ``prospects:read`` for GET and
  HEAD, ``prospects:write`` for every other method; a handler may override it with
  ``requires_scope`` (a POST that only reads, say);
* ``opt=session_only()`` — a signed-in session, never a key (key management, password, sessions,
  account erasure and export, email change): 403 ``session-required`` for a key;
* ``opt=any_credential()`` — any valid credential, no scope (``GET /api/auth/me``: "who am I");
* public routes keep ``exclude_from_auth=True`` and need no marker.

A route that is neither public nor marked fails closed: a key is refused there (403
``insufficient-scope``), and ``tests/integration/auth/test_api_key_scopes.py`` walks every registered route to
prove none is left unmarked. :func:`check_access` is the only place that compares a caller's
scopes with a route's; the authentication middleware calls it after the identity gate, the
event stream (which authenticates itself) calls it too, and the OpenAPI document is derived from
:func:`required_access`, so the docs and the server cannot disagree.

``metrics:read`` and ``admin`` are for admins only: a non-admin cannot create a key holding
them, and the routes behind them also keep their admin guard, which reads the user's current role
(a key of a demoted admin loses them at once).

Handlers opt in with ``opt={**requires_scope(...), OTHER_KEY: ...}`` when they carry other opts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal

import msgspec

from aiclone.errors import Forbidden

SCOPE_OPT_KEY: Final = "api_scope"
_READ_METHODS = frozenset({"GET", "HEAD"})


class ApiScope(StrEnum):
    PROSPECTS_READ = "prospects:read"
    PROSPECTS_WRITE = "prospects:write"
    RESEARCH_READ = "research:read"
    RESEARCH_WRITE = "research:write"
    OUTREACH_READ = "outreach:read"
    OUTREACH_WRITE = "outreach:write"
    CONTENT_READ = "content:read"
    CONTENT_WRITE = "content:write"
    AUTOMATIONS_READ = "automations:read"
    AUTOMATIONS_WRITE = "automations:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_WRITE = "notifications:write"
    ACTIVITIES_READ = "activities:read"
    ACTIVITIES_WRITE = "activities:write"
    EVENTS_READ = "events:read"
    ANALYTICS_READ = "analytics:read"
    METRICS_READ = "metrics:read"
    ADMIN = "admin"


Domain = Literal[
    "prospects", "research", "outreach", "content", "automations", "webhooks", "notifications", "activities"
]
DOMAINS: Final[tuple[str, ...]] = Domain.__args__  # type: ignore[attr-defined]
ALL_SCOPES: Final = frozenset(ApiScope)
# Scopes only an admin's key may hold.
ADMIN_ONLY_SCOPES: Final = frozenset({ApiScope.METRICS_READ, ApiScope.ADMIN})

_SCOPE_DESCRIPTIONS: Final = {
    ApiScope.EVENTS_READ: "Open the live event stream (and get stream tickets and cookies).",
    ApiScope.ANALYTICS_READ: "Read analytics summaries and download exports.",
    ApiScope.METRICS_READ: "Scrape GET /metrics (admins only).",
    ApiScope.ADMIN: "Administer users and their keys (admins only).",
}


def describe(scope: ApiScope) -> str:
    known = _SCOPE_DESCRIPTIONS.get(scope)
    if known is not None:
        return known
    domain, _, verb = scope.value.partition(":")
    return f"{'Read' if verb == 'read' else 'Create, change and delete'} {domain}."


# -- what a route asks for ------------------------------------------------------------------


class Scoped(msgspec.Struct, frozen=True):
    """A key needs ``scope``."""

    scope: ApiScope


class ByMethod(msgspec.Struct, frozen=True):
    """A key needs ``<domain>:read`` for GET/HEAD and ``<domain>:write`` otherwise."""

    domain: str


class SessionOnly(msgspec.Struct, frozen=True):
    """A signed-in session only; never a key."""


class AnyCredential(msgspec.Struct, frozen=True):
    """Any valid credential, whatever its scopes."""


class Public(msgspec.Struct, frozen=True):
    """No credential at all (``exclude_from_auth``)."""


class Undeclared(msgspec.Struct, frozen=True):
    """Authenticated but unmarked: refused to every key (fail closed)."""


Marker = Scoped | ByMethod | SessionOnly | AnyCredential
Access = Scoped | SessionOnly | AnyCredential | Public | Undeclared


def requires_scope(scope: ApiScope) -> dict[str, Any]:
    return {SCOPE_OPT_KEY: Scoped(scope)}


def domain_scopes(domain: Domain) -> dict[str, Any]:
    if domain not in DOMAINS:  # pragma: no cover - guarded by the Literal for type-checked callers
        raise ValueError(f"unknown scope domain {domain!r}")
    return {SCOPE_OPT_KEY: ByMethod(domain)}


def session_only() -> dict[str, Any]:
    return {SCOPE_OPT_KEY: SessionOnly()}


def any_credential() -> dict[str, Any]:
    return {SCOPE_OPT_KEY: AnyCredential()}


def required_access(opt: dict[str, Any], method: str, *, public: bool = False) -> Access:
    """What a key needs to call a handler (its merged ``opt``) with ``method``."""
    if public:
        return Public()
    marker = opt.get(SCOPE_OPT_KEY)
    if isinstance(marker, ByMethod):
        verb = "read" if method.upper() in _READ_METHODS else "write"
        return Scoped(ApiScope(f"{marker.domain}:{verb}"))
    if isinstance(marker, Scoped | SessionOnly | AnyCredential):
        return marker
    return Undeclared()


# -- the check -------------------------------------------------------------------------------


class InsufficientScope(Forbidden):
    slug = "insufficient-scope"
    title = "The API key lacks the scope this operation needs"

    def __init__(self, detail: str, *, scope: str | None) -> None:
        super().__init__(detail)
        self.required_scope = scope


class SessionRequired(Forbidden):
    slug = "session-required"
    title = "This operation needs a signed-in session, not an API key"


def check_access(key_scopes: frozenset[str] | None, access: Access) -> None:
    """Raise unless a caller with ``key_scopes`` may pass; ``None`` is a session (every scope)."""
    if key_scopes is None or isinstance(access, AnyCredential | Public):
        return
    if isinstance(access, Scoped):
        if access.scope in key_scopes:
            return
        raise InsufficientScope(
            f"This API key lacks the '{access.scope}' scope this operation needs.", scope=access.scope.value
        )
    if isinstance(access, SessionOnly):
        raise SessionRequired("Sign in with a password to do this; API keys cannot.")
    raise InsufficientScope("This operation does not accept API keys.", scope=None)
