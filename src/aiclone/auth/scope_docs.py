"""The API-key scheme and each operation's scope in the OpenAPI document.

Derived from the same markers the server enforces (:func:`aiclone.auth.scopes.required_access`),
after :func:`aiclone.openapi.document_access_rules` has set the session scheme:

* an operation a key may call lists ``{"ApiKey": [<scope>]}`` beside the session scheme in its
  ``security`` (OpenAPI 3.1 lets non-OAuth schemes name roles there), and its description ends
  with a line naming the scope; ``{"ApiKey": []}`` where any key will do;
* a session-only operation does not list the key scheme, and says so in its description;
* public operations keep ``security: []``.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import SecurityRequirement, SecurityScheme

from aiclone.auth.keytext import KEY_PATTERN
from aiclone.auth.scopes import (
    AnyCredential,
    ApiScope,
    Public,
    Scoped,
    SessionOnly,
    describe,
    required_access,
)
from aiclone.openapi import documented_operations

API_KEY_SCHEME = "ApiKey"
SCOPE_LINE = "API key scope: `{}`."
ANY_KEY_LINE = "API keys: any key, whatever its scopes."
SESSION_LINE = "Needs a signed-in session; API keys are refused (403 `session-required`)."


def _scheme() -> SecurityScheme:
    scopes = "\n".join(f"- `{scope.value}`: {describe(scope)}" for scope in ApiScope)
    return SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="API key",
        description=(
            "An API key from `POST /api/api-keys`, sent as `Authorization: Bearer ack_…`"
            f" (pattern `{KEY_PATTERN.pattern}`). It may call the operations its scopes allow;"
            f" each operation names its scope. A missing scope is a 403 `insufficient-scope`.\n\n{scopes}"
        ),
    )


def _with_line(description: str | None, line: str) -> str:
    return f"{description}\n\n{line}" if description else line


def document_api_key_scopes(app: Litestar) -> None:
    openapi = app.openapi_schema
    components = openapi.components
    schemes = components.security_schemes if components.security_schemes is not None else {}
    schemes[API_KEY_SCHEME] = _scheme()
    components.security_schemes = schemes
    for handler, method, operation, public, _ in documented_operations(app):
        access = required_access(handler.opt, method, public=public)
        if isinstance(access, Public):
            continue
        security: list[SecurityRequirement] = list(operation.security or [])
        if isinstance(access, Scoped):
            security.append({API_KEY_SCHEME: [access.scope.value]})
            operation.description = _with_line(operation.description, SCOPE_LINE.format(access.scope))
        elif isinstance(access, AnyCredential):
            security.append({API_KEY_SCHEME: []})
            operation.description = _with_line(operation.description, ANY_KEY_LINE)
        elif isinstance(access, SessionOnly):
            operation.description = _with_line(operation.description, SESSION_LINE)
        operation.security = security
