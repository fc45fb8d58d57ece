"""One access-log line per request, on the ``aiclone.access`` logger (written by the edge,
:mod:`aiclone.web.edge_layer`, when the logger takes INFO).

Fields: method, route (the route template, e.g. ``/api/prospects/{prospect_id:uuid}``, so ids in
paths are not logged; the raw path, cut to 200 characters, only when no route matched),
status, duration_ms, request_id, user_id (when signed in), client (address) and the query
string with secret-looking parameters redacted. Never headers, cookies or bodies.
"""

from __future__ import annotations

import logging

from litestar.types import Scope

from aiclone.web.logs import redact_query, scrub
from aiclone.web.request_context import client_address, request_method

logger = logging.getLogger("aiclone.access")
MAX_LOGGED_PATH = 200


def enabled() -> bool:
    return logger.isEnabledFor(logging.INFO)


def log_access(scope: Scope, status: int, elapsed: float) -> None:
    route = scope.get("path_template")
    user = scope.get("user")
    state = scope.get("state") or {}
    fields: dict[str, object] = {
        "access": True,
        "method": request_method(scope),
        "route": route or "(unmatched)",
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "request_id": state.get("request_id"),
        # The authenticated Principal's id (the web layer does not import auth), else the
        # rate limiter's note of the user it charged.
        "user_id": str(user.id) if getattr(user, "id", None) is not None else state.get("user_id"),
        "client": client_address(scope),
    }
    if route is None:
        fields["path"] = scrub(scope["path"][:MAX_LOGGED_PATH])  # a pasted credential stays out
    query = scope.get("query_string")
    if query:
        fields["query"] = redact_query(query)
    logger.info(
        "%s %s%s %s %.1fms client=%s user=%s rid=%s",
        fields["method"],
        route or fields["path"],
        f"?{fields['query']}" if query else "",
        status,
        elapsed * 1000,
        fields["client"],
        fields["user_id"] or "-",
        fields["request_id"],
        extra=fields,
    )
