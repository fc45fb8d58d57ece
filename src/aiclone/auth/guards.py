"""Guards: plain functions, set controller-wide and tightened per handler."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from aiclone.auth.tokens import Principal
from aiclone.errors import Forbidden, Unauthenticated


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthenticated("Missing or invalid credentials.")
    return user


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not current_principal(connection).is_admin:
        raise Forbidden("This action needs the admin role.")
