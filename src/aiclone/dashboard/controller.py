"""The dashboard: one HTML page at ``/`` and its static ES modules and CSS under ``/static/``.

Everything is a file of this package, so the page works with no CDN and no Node.js at run time.
The page is served with its own Content-Security-Policy (see
:mod:`aiclone.web.security_headers`): scripts and styles only from this origin, no inline
script or style, connections only to this origin. The page renders all data as text nodes.

The one setting the page needs before anyone signs in, the password policy's length bounds, is
written into a ``<meta>`` of the page from the settings, so the forms' hints cannot drift from
what the server enforces (``AICLONE_PASSWORD_MIN_LENGTH`` / ``_MAX_LENGTH``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, route
from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router

from aiclone.openapi import PUBLIC_OPT_KEY
from aiclone.web.asset_files import AssetFileSystem

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"


POLICY_PLACEHOLDER = b'content="password-policy"'


@cache
def _index_html(min_length: int, max_length: int) -> bytes:
    page = (STATIC_DIR / "index.html").read_bytes()
    return page.replace(POLICY_PLACEHOLDER, f'content="{min_length} {max_length}"'.encode())


@route("/", http_method=["GET", "HEAD"], include_in_schema=False, exclude_from_auth=True)
async def dashboard_page(request: Request[Any, Any, Any]) -> Response[bytes]:
    settings = request.app.state.settings
    # no-cache: revalidated on every load, so a deploy's new module URLs are picked up at once.
    return Response(
        _index_html(settings.auth.password_min_length, settings.auth.password_max_length),
        media_type="text/html",  # Litestar adds "; charset=utf-8" to text/* types
        headers={"Cache-Control": "no-cache"},
    )


def static_router() -> Router:
    return create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        file_system=AssetFileSystem(),
        opt={PUBLIC_OPT_KEY: True},
        include_in_schema=False,
        send_as_attachment=False,
        # Revalidated on each load (ETag), so the page and its modules always match.
        cache_control=CacheControlHeader(no_cache=True),
    )
