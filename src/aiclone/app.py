"""The app factory: plugins, routes and middleware assembled in one readable place.

Nothing here runs at import time; ``create_app(settings)`` builds everything from the settings
it is given, and ``create_app_from_env`` is the factory the servers load in each worker.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.status_codes import HTTP_307_TEMPORARY_REDIRECT

from aiclone.admin.controller import AdminController
from aiclone.admin.service import AdminService
from aiclone.auth.controller import AuthController
from aiclone.auth.middleware import BearerAuthMiddleware
from aiclone.auth.passwords import PasswordHasher
from aiclone.auth.service import AuthService
from aiclone.auth.tokens import TokenCodec
from aiclone.db import Database
from aiclone.errors import exception_handlers
from aiclone.health.controller import HealthController
from aiclone.health.service import HealthService
from aiclone.migrate import head_revisions
from aiclone.openapi import docs_assets_router, document_access_rules, openapi_config
from aiclone.settings import Settings, load_settings


def _version() -> str:
    try:
        return package_version("aiclone")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


@get("/", include_in_schema=False, exclude_from_auth=True)
async def root() -> Response[None]:
    return Response(None, status_code=HTTP_307_TEMPORARY_REDIRECT, headers={"Location": "/api/docs"})


class Services:
    """The per-process singletons that handlers depend on."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
        self.codec = TokenCodec(settings)
        self.hasher = PasswordHasher(settings)
        self.auth = AuthService(self.db, settings, self.hasher, self.codec)
        self.health = HealthService(self.db, head_revisions())
        self.admin = AdminService(self.db)


def create_app(settings: Settings) -> Litestar:
    settings = settings.with_secret()
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await services.db.dispose()

    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_credentials="*" not in settings.cors_origins,
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"],
        )
        if settings.cors_origins
        else None
    )
    app = Litestar(
        route_handlers=[root, HealthController, AuthController, AdminController, docs_assets_router()],
        dependencies={
            "db": Provide(lambda: services.db, sync_to_thread=False),
            "auth_service": Provide(lambda: services.auth, sync_to_thread=False),
            "health_service": Provide(lambda: services.health, sync_to_thread=False),
            "admin_service": Provide(lambda: services.admin, sync_to_thread=False),
        },
        middleware=[DefineMiddleware(BearerAuthMiddleware, codec=services.codec)],
        exception_handlers=exception_handlers,
        openapi_config=openapi_config(_version()),
        cors_config=cors,
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        state=State({"settings": settings, "services": services}),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="never",
        ),
        debug=settings.debug,
    )
    document_access_rules(app)
    return app


def create_app_from_env() -> Litestar:
    settings = load_settings()
    logging.getLogger("aiclone").setLevel(settings.log_level)
    return create_app(settings)
