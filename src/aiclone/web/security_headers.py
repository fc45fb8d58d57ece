"""Security headers on every response, and ``Cache-Control: no-store`` where credentials are.

Every response gets ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
``Referrer-Policy: no-referrer``, ``Cross-Origin-Opener-Policy``/``-Resource-Policy: same-origin``
and a Content-Security-Policy; production adds HSTS. A header the handler set itself is kept.

CSP: API responses get ``default-src 'none'`` (a JSON body never needs to load anything). The
dashboard page (``/``) gets a policy without any ``'unsafe-inline'``: scripts, styles and
connections from this origin only. The
documentation pages (``/api``, ``/api/docs``, ``/api/redoc``) render with inline ``<script>``
blocks, which get a per-response nonce (``scope["state"]["csp_nonce"]``, stamped into the
page by :mod:`aiclone.openapi`), so no inline script runs without it. Styles on those two pages
need ``'unsafe-inline'`` (Swagger UI sets style attributes and ReDoc injects ``<style>``
elements at run time, which nonces cannot cover); that relaxation is scoped to those pages
and to styles only. ReDoc's search worker starts from a ``blob:`` URL.

``Cache-Control: no-store`` is added (unless the handler chose a policy) to responses to
requests that carried an ``Authorization`` header, and to everything under ``/api/auth/``,
whose bodies hold tokens (RFC 6749 section 5.1).
"""

from __future__ import annotations

import secrets

from litestar.types import Scope

API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The dashboard (``/``): its own modules and stylesheet only; no inline script or style at all.
DASHBOARD_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
    b" connect-src 'self'; font-src 'self'; manifest-src 'self'; frame-ancestors 'none';"
    b" base-uri 'none'; form-action 'none'"
)
DOCS_PAGES = frozenset({"/api", "/api/docs", "/api/redoc"})


def docs_csp(nonce: str) -> bytes:
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ).encode()


_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


_NO_STORE = (b"cache-control", b"no-store")
Header = tuple[bytes, bytes]


class SecurityHeaders:
    """The headers each response gets (the edge adds those the handler did not set itself)."""

    def __init__(self, *, hsts: bool = False) -> None:
        self.defaults: tuple[Header, ...] = (*_COMMON, _HSTS) if hsts else _COMMON
        # Only the documentation pages differ per response (their nonce); the rest is fixed.
        self._fixed = {
            (csp, no_store): (
                *self.defaults,
                (b"content-security-policy", csp),
                *((_NO_STORE,) if no_store else ()),
            )
            for csp in (API_CSP, DASHBOARD_CSP)
            for no_store in (False, True)
        }

    def for_request(self, scope: Scope, *, authorization: bool) -> tuple[Header, ...]:
        path = scope["path"]
        no_store = authorization or path.startswith("/api/auth/")
        if path == "/":
            return self._fixed[DASHBOARD_CSP, no_store]
        if path.rstrip("/") in DOCS_PAGES:
            nonce = secrets.token_urlsafe(18)
            scope.setdefault("state", {})["csp_nonce"] = nonce
            return (
                *self.defaults,
                (b"content-security-policy", docs_csp(nonce)),
                *((_NO_STORE,) if no_store else ()),
            )
        return self._fixed[API_CSP, no_store]
