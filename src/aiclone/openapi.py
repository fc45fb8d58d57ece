"""OpenAPI document, Swagger UI and ReDoc, with their assets served by the app itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.static_files import create_static_files_router

from aiclone.errors import PROBLEM_JSON, Problem

ASSETS_PATH = "/api/docs/assets"

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


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """Document problem-details responses for a handler."""
    return {
        code: ResponseSpec(data_container=Problem, description=_DESCRIPTIONS[code], media_type=PROBLEM_JSON)
        for code in codes
    }


def _sidecar_static_dir() -> Path:
    import drf_spectacular_sidecar  # noqa: PLC0415 - only its data files are used

    return Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"


def docs_assets_router() -> Any:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_sidecar_static_dir()],
        opt={"exclude_from_auth": True, "public_asset": True},
        include_in_schema=False,
        send_as_attachment=False,
    )


def openapi_config(version: str) -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        path="/docs",
        js_url=f"{ASSETS_PATH}/swagger-ui-dist/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui-dist/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-dist/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" href="{ASSETS_PATH}/swagger-ui-dist/favicon-32x32.png">',
    )
    redoc = RedocRenderPlugin(
        path="/redoc",
        js_url=f"{ASSETS_PATH}/redoc/bundles/redoc.standalone.js",
        google_fonts=False,
        favicon=f'<link rel="icon" href="{ASSETS_PATH}/swagger-ui-dist/favicon-32x32.png">',
    )
    return OpenAPIConfig(
        title="aiclone API",
        version=version,
        description=(
            "Prospects, research tasks, outreach, content and automations, with live events over"
            " Server-Sent Events, webhooks and analytics. Errors are RFC 9457 problem details."
        ),
        render_plugins=[swagger, redoc, JsonRenderPlugin(path="/openapi.json")],
        openapi_router=Router(path="/api", route_handlers=[], opt={"exclude_from_auth": True}),
        components=Components(
            security_schemes={
                "OAuth2PasswordBearer": SecurityScheme(
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
        security=[{"OAuth2PasswordBearer": []}],
        use_handler_docstrings=False,
    )
