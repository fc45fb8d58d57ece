"""The app factory: plugins, routes and middleware assembled in one readable place.

Nothing here runs at import time; ``create_app(settings)`` builds everything from the settings
it is given, and ``create_app_from_env`` is the factory the servers load in each worker.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.types import ControllerRouterHandler

from aiclone.accounts.controller import AccountController
from aiclone.accounts.erasure_controller import ACCOUNT_ROUTES
from aiclone.activities.controller import ActivityController
from aiclone.admin.controller import AdminController
from aiclone.analytics.controller import AnalyticsController
from aiclone.apikeys.controller import AdminApiKeyController, ApiKeyController
from aiclone.auth.browser import BrowserSessionController
from aiclone.auth.controller import AuthController
from aiclone.auth.middleware import BearerAuthMiddleware
from aiclone.auth.owner import OWNER_DEPENDENCY
from aiclone.auth.scope_docs import document_api_key_scopes
from aiclone.auth.session_controller import SessionController
from aiclone.automations.controller import AutomationController
from aiclone.catalog.controller import EventTypeController
from aiclone.catalog.payloads import EVENT_PAYLOADS
from aiclone.collector import freeze_startup_heap
from aiclone.container import Services
from aiclone.content.controller import ContentController
from aiclone.dashboard.controller import dashboard_page, static_router
from aiclone.drafting.controller import ContentDraftController, OutreachDraftController
from aiclone.edge import WebStack
from aiclone.errors import exception_handlers
from aiclone.events.types import EVENT_DESCRIPTIONS
from aiclone.health.controller import HealthController
from aiclone.live.controller import EventStreamController
from aiclone.live.redaction import install_ticket_redaction
from aiclone.live.signals import chain_exit_signals
from aiclone.notifications.controller import NotificationController
from aiclone.openapi import (
    docs_assets_router,
    document_access_rules,
    finish_document_lazily,
    openapi_config,
    openapi_plugins,
)
from aiclone.openapi_conventions import document_conventions
from aiclone.outreach.controller import OutreachController
from aiclone.prospects.controller import ProspectController
from aiclone.research.controller import ResearchEngineController, ResearchTaskController
from aiclone.settings import Settings, load_settings
from aiclone.web.input_checks import refuse_unstorable_input
from aiclone.webhooks.controller import WebhookController
from aiclone.webhooks.hooks_controller import HooksController


def _version() -> str:
    try:
        return package_version("aiclone")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


# Each service the handlers take by name (``NamedDependency``): dependency name -> ``Services`` attribute.
_SERVICES = {
    "db": "db",
    "auth_service": "auth",
    "accounts": "accounts",
    "session_service": "user_sessions",
    "password_service": "password_change",
    "health_service": "health",
    "account_service": "account_data",
    "admin_service": "admin",
    "notifications": "notifications",
    "activities": "activities",
    "analytics": "analytics",
    "exports": "exports",
    "research_service": "research",
    "drafting_service": "drafting",
    "prospect_service": "prospects",
    "outreach_service": "outreach",
    "content_service": "content",
    "automation_service": "automations",
    "webhooks": "webhooks",
    "hooks": "hooks",
    "live": "live",
    "api_key_service": "api_keys",
}


def _dependencies(services: Services) -> dict[str, Provide]:
    """The app-wide dependencies: every service by name, and ``owner`` (:mod:`aiclone.auth.owner`)."""

    def provide(attribute: str) -> Provide:
        return Provide(lambda: getattr(services, attribute), sync_to_thread=False)

    return {"owner": OWNER_DEPENDENCY} | {name: provide(attribute) for name, attribute in _SERVICES.items()}


def _route_handlers(web: WebStack) -> list[ControllerRouterHandler]:
    return [
        dashboard_page,
        static_router(),
        HealthController,
        AuthController,
        AccountController,
        SessionController,
        BrowserSessionController,
        AdminController,
        ApiKeyController,
        AdminApiKeyController,
        NotificationController,
        ActivityController,
        AnalyticsController,
        ResearchTaskController,
        OutreachDraftController,
        ContentDraftController,
        ResearchEngineController,
        WebhookController,
        EventTypeController,
        HooksController,
        EventStreamController,
        docs_assets_router(),
        *web.route_handlers,
        ProspectController,
        OutreachController,
        ContentController,
        AutomationController,
        # After the controllers that declare other methods of the same paths.
        *ACCOUNT_ROUTES,
    ]


def _lifespan(
    services: Services, settings: Settings
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        await services.start(run_workers=settings.run_workers)
        await services.stream_hub.start()
        freeze_startup_heap()  # later full collections skip the app's own objects (aiclone.collector)
        # The server waits for open responses before the lifespan ends; streams must end first.
        restore_signals = chain_exit_signals(services.stream_hub.shutdown)
        try:
            yield
        finally:
            restore_signals()
            await services.stream_hub.stop()
            await services.stop()

    return lifespan


def create_app(settings: Settings) -> Litestar:
    settings = settings.with_secret()
    services = Services(settings)
    install_ticket_redaction()

    # Request ids, security headers, access logs, metrics, compression, CORS and rate limiting.
    web = WebStack(
        settings,
        metrics=services.metrics,
        codec=services.codec,
        rate_limiting=services.rate_limiting,
        keys=services.identity,
    )
    web.drain.on_begin(services.stream_hub.shutdown)  # streams end when the shutdown drain begins
    app = Litestar(
        route_handlers=_route_handlers(web),
        dependencies=_dependencies(services),
        middleware=[
            DefineMiddleware(
                BearerAuthMiddleware, codec=services.codec, gate=services.identity, usage=services.key_usage
            )
        ],
        exception_handlers=exception_handlers,
        # NUL characters and out-of-range datetimes: a 422 for every route, before any query.
        before_request=refuse_unstorable_input,
        openapi_config=openapi_config(_version()),
        plugins=openapi_plugins(),
        cors_config=web.cors,
        compression_config=web.compression,
        request_max_body_size=settings.server.max_body_bytes,
        lifespan=[_lifespan(services, settings), web.lifespan],
        state=State({"settings": settings, "services": services}),
        logging_config=web.logging,
        debug=settings.debug,
    )
    finish_document_lazily(app, _finish_document)
    return web.install(app)


def _finish_document(app: Litestar) -> None:
    document_access_rules(app)
    document_api_key_scopes(app)
    document_conventions(app, event_payloads=EVENT_PAYLOADS, event_descriptions=EVENT_DESCRIPTIONS)


def create_app_from_env() -> Litestar:
    settings = load_settings()
    logging.getLogger("aiclone").setLevel(settings.server.log_level)
    return create_app(settings)
