"""OpenAPI document, Swagger UI and ReDoc, with their assets served by the app itself.

Security in the document is derived from the same facts that the authentication middleware and
the guards act on (see :func:`document_access_rules`), so the docs cannot drift from what the
server enforces: public operations say ``security: []``, every other one names the bearer
scheme and documents 401, guarded ones document 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from litestar import Litestar, Request, Router
from litestar._openapi.plugin import OpenAPIPlugin
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    License,
    OAuthFlow,
    OAuthFlows,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition

from aiclone.errors import PROBLEM_JSON, Problem
from aiclone.web.asset_files import AssetFileSystem

ASSETS_PATH = "/api/docs/assets"
# Handler opt: a public route; the authentication middleware lets it through without credentials.
PUBLIC_OPT_KEY = "exclude_from_auth"
# Handler opt: the handler authenticates the caller itself (and documents its own schemes).
SELF_AUTH_OPT_KEY = "authenticates_itself"
# Handler opt: every media type a successful response may have (a download in several formats).
MEDIA_TYPES_OPT_KEY = "response_media_types"
# Handler opt: the schema (a litestar ``Schema``) of each JSON media type of that download.
MEDIA_SCHEMAS_OPT_KEY = "response_media_schemas"
SECURITY_SCHEME = "OAuth2PasswordBearer"

_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, invalid or expired credentials",
    403: "Authenticated but not allowed",
    404: "No such resource for this user",
    409: "Conflicts with an existing resource",
    413: "Request body too large",
    422: "Validation failed; `errors` lists the fields",
    429: "Rate limit exceeded; see Retry-After",
    503: "Not ready",
}


# Any operation can answer these: a malformed or absurdly nested body (400) and the rate limiter
# (429). Listing them also replaces Litestar's generated 400, which describes a plain JSON
# body, with the problem+json the error handlers really send.
ALWAYS_POSSIBLE = (400, 422, 429)


def operation_id(handler: HTTPRouteHandler, _method: Any, _path: Any) -> str:
    """The handler's function name, camelCased: ``list_prospects`` → ``listProspects``."""
    first, *rest = handler.handler_name.strip("_").split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def prose(text: str) -> str:
    """A description written as a paragraph in the source: its words joined by single spaces, so
    line breaks and indentation there are not part of the text."""
    return " ".join(text.split())


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """Document problem-details responses for a handler (400, 422 and 429 are always possible)."""
    return {
        code: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[code],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in sorted({*codes, *ALWAYS_POSSIBLE})
    }


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """msgspec Structs with ``forbid_unknown_fields`` get ``additionalProperties: false``, so the
    document says what the decoder enforces (a client sending a stray field gets a 422)."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def openapi_plugins() -> list[OpenAPISchemaPlugin]:
    return [StrictStructSchemaPlugin()]


# Swagger UI and ReDoc, put here when the package is built or installed (see hatch_build.py).
DOCS_ASSETS_DIR = Path(__file__).resolve().parent / "docs_assets"


def _docs_assets_dir() -> Path:
    if not (DOCS_ASSETS_DIR / "redoc").is_dir():
        raise RuntimeError(
            f"the API docs' assets are missing from {DOCS_ASSETS_DIR}: install aiclone with pip"
            " (pip install . or pip install -e .), which puts them there"
        )
    return DOCS_ASSETS_DIR


def docs_assets_router() -> Any:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_docs_assets_dir()],
        file_system=AssetFileSystem(),
        opt={PUBLIC_OPT_KEY: True},
        include_in_schema=False,
        send_as_attachment=False,
    )


def _with_nonce(html: bytes, request: Request[Any, Any, Any]) -> bytes:
    """Stamp the response's CSP nonce (see aiclone.web.security_headers) on the page's scripts."""
    nonce = request.scope.get("state", {}).get("csp_nonce")
    if not nonce:
        return html
    attribute = f'<script nonce="{nonce}" '.encode()
    return html.replace(b"<script src=", attribute + b"src=").replace(
        b"<script type='text/javascript'>", attribute + b"type='text/javascript'>"
    )


class _SwaggerPage(SwaggerRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _with_nonce(super().render(request, openapi_schema), request)


class _RedocPage(RedocRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return _with_nonce(super().render(request, openapi_schema), request)


def _unknown_docs_path(request: Request[Any, Any, Any]) -> None:
    if request.route_handler.handler_name.endswith("handle_schema_path_not_found"):
        raise NotFoundException("No such resource.")


def openapi_config(version: str) -> OpenAPIConfig:
    swagger = _SwaggerPage(
        path="/docs",
        js_url=f"{ASSETS_PATH}/swagger-ui-dist/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui-dist/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-dist/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" href="{ASSETS_PATH}/swagger-ui-dist/favicon-32x32.png">',
    )
    redoc = _RedocPage(
        path="/redoc",
        js_url=f"{ASSETS_PATH}/redoc/bundles/redoc.standalone.js",
        google_fonts=False,
        favicon=f'<link rel="icon" href="{ASSETS_PATH}/swagger-ui-dist/favicon-32x32.png">',
    )
    return OpenAPIConfig(
        title="aiclone API",
        license=License(name="Proprietary"),
        version=version,
        description=prose("""
            Prospects, research tasks, outreach, content and automations, with live events over Server-Sent
            Events, webhooks and analytics. Errors are RFC 9457 problem details.
        """),
        render_plugins=[swagger, redoc, JsonRenderPlugin(path="/openapi.json")],
        openapi_router=Router(
            path="/api",
            route_handlers=[],
            opt={PUBLIC_OPT_KEY: True},
            # Litestar adds a catch-all GET /api/{path} that answers unknown paths with an HTML
            # 404; keep it out of the document and make it a problem like every other 404.
            include_in_schema=False,
            before_request=_unknown_docs_path,
        ),
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="oauth2",
                    description="Sign in with email and password; send the access token as a bearer token.",
                    flows=OAuthFlows(password=OAuthFlow(token_url="/api/auth/login", scopes={})),  # noqa: S106
                ),
                "StreamTicket": SecurityScheme(
                    type="apiKey",
                    name="ticket",
                    security_scheme_in="query",
                    description="Single-use ticket from POST /api/events/ticket; GET /api/events only.",
                ),
                "StreamCookie": SecurityScheme(
                    type="apiKey",
                    name="aiclone_events",
                    security_scheme_in="cookie",
                    description="Cookie from POST /api/events/cookie; GET /api/events only.",
                ),
            }
        ),
        security=[{SECURITY_SCHEME: []}],
        use_handler_docstrings=False,
        operation_id_creator=operation_id,
    )


def _problem_response(code: int) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=_DESCRIPTIONS[code],
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )


def _document_media_types(responses: dict[str, Any], media_types: Any, schemas: Any) -> None:
    ok = responses.get("200")
    if not media_types or not isinstance(ok, OpenAPIResponse):
        return
    schemas = schemas or {}
    ok.content = {
        # JSON downloads are documents of their own shape (given by the handler); the rest are files.
        media_type: OpenAPIMediaType(
            schema=schemas.get(media_type, Schema())
            if media_type.endswith("json")
            else Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        )
        for media_type in media_types
    }


def finish_document_lazily(app: Litestar, finish: Callable[[Litestar], None]) -> None:
    """Run ``finish`` on ``app``'s OpenAPI document right after Litestar first builds it.

    Building and finishing the document cost about a third of the app's start-up; done on the
    first request that needs it (the docs, ``/api/openapi.json``, the event catalogue), a process
    answers its health check sooner, and every reader still sees the finished document.
    """
    plugin = app.plugins.get(OpenAPIPlugin)

    class FinishingOpenAPIPlugin(OpenAPIPlugin):
        __slots__ = ()

        def provide_openapi(self) -> Any:
            if self._openapi is None:
                self._openapi = self._build_openapi()
                try:
                    finish(self.app)
                except BaseException:
                    self._openapi = None
                    raise
            return self._openapi

    plugin.__class__ = FinishingOpenAPIPlugin


class DocumentedOperation(NamedTuple):
    """An operation of the generated document, with the handler that serves it."""

    handler: HTTPRouteHandler
    method: str
    operation: Operation
    public: bool
    # A route that checks credentials itself (the event stream takes a ticket or cookie as well
    # as the bearer token) skips the middleware but is not public.
    self_authenticated: bool


def documented_operations(app: Litestar) -> Iterator[DocumentedOperation]:
    openapi = app.openapi_schema
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format or "/")
        if path_item is None:
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            self_authenticated = bool(handler.opt.get(SELF_AUTH_OPT_KEY))
            public = bool(handler.opt.get(PUBLIC_OPT_KEY)) and not self_authenticated
            for method in handler.http_methods:
                operation = getattr(path_item, method.lower(), None)
                if operation is not None:
                    yield DocumentedOperation(handler, method, operation, public, self_authenticated)


def document_access_rules(app: Litestar) -> None:
    """Finish the generated document from the rules the server really applies.

    - ``security``: ``[]`` on public operations (``exclude_from_auth``), the bearer scheme on all
      others, which also document 401; operations behind a guard document 403.
    - Litestar documents request validation as a 400 with its own JSON body; here validation
      failures are 422 problem details and only unparseable input is a 400, so both are
      documented as problems, and operations with a body document 413.
    """
    for handler, _, operation, public, self_authenticated in documented_operations(app):
        guarded = any(layer.guards for layer in handler.ownership_layers)
        responses = operation.responses if operation.responses is not None else {}
        operation.responses = responses
        if not self_authenticated:
            operation.security = [] if public else [{SECURITY_SCHEME: []}]
        wanted: list[int] = []
        if "400" in responses:
            # Replaces Litestar's generic body with ours.
            responses.pop("400")
            wanted += [400, 422]
        if operation.request_body is not None:
            wanted.append(413)
            # Litestar marks every body required; one with a default may be left out.
            body = handler.parsed_fn_signature.parameters.get("data")
            if body is not None and body.has_default and isinstance(operation.request_body, RequestBody):
                operation.request_body.required = False
        if not public:
            wanted.append(401)
        if guarded:
            wanted.append(403)
        for code in wanted:
            responses.setdefault(str(code), _problem_response(code))
        _document_media_types(
            responses, handler.opt.get(MEDIA_TYPES_OPT_KEY), handler.opt.get(MEDIA_SCHEMAS_OPT_KEY)
        )
        no_content = responses.get("204")
        if isinstance(no_content, OpenAPIResponse):
            no_content.content = None  # a 204 has no body, whatever the handler's return type
        operation.responses = dict(sorted(responses.items()))
