"""``/api/api-keys`` (the signed-in user's keys) and the admin's view of any user's keys.

Key management needs a signed-in session: an API key can neither mint, list nor revoke keys
(403 ``session-required``), so a leaked key cannot entrench itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList
from aiclone.apikeys.service import ApiKeyService
from aiclone.auth.guards import requires_admin
from aiclone.auth.handlers import Resource
from aiclone.auth.scopes import session_only
from aiclone.auth.tokens import Principal
from aiclone.openapi import problems, prose

own_keys = Resource("api_key_service", ApiKeyService, "key_id", subject="caller")


class ApiKeyController(Controller):
    path = "/api/api-keys"
    tags = ["api-keys"]
    opt = session_only()

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create an API key",
        description=prose("""
            Returns the key once, in `key`; only its hash is stored. Send it as `Authorization: Bearer <key>`.
            It may do what its `scopes` allow, on the caller's own data, until `expires_at` (if given) or
            until revoked. At most 50 live keys per user (409 `api-key-limit`); `metrics:read` and `admin` are
            for admins only (403).
        """),
        responses=problems(401, 403, 409, 413, 422),
    )
    async def create_key(
        self,
        request: Request[Principal, str, Any],
        data: JSONBody[ApiKeyCreate],
        api_key_service: NamedDependency[ApiKeyService],
    ) -> ApiKeyCreated:
        return await api_key_service.create(request.user, data)

    list_keys = own_keys.list(
        ApiKeyList,
        method="list_live",
        summary="List my API keys",
        description="Live keys (not revoked, not expired), newest first. Never the keys themselves.",
        responses=problems(401, 403),
        cache=False,
    )

    revoke_key = own_keys.delete(
        method="revoke",
        summary="Revoke an API key",
        description="Every instance refuses the key within a second; streams it opened end.",
        responses=problems(401, 403, 404),
    )


class AdminApiKeyController(Controller):
    """Any user's keys, for admins (signed in: keys never manage keys, admin keys included)."""

    path = "/api/admin/users/{user_id:uuid}/api-keys"
    tags = ["admin"]
    guards = [requires_admin]
    opt = session_only()

    @get("/", summary="List a user's API keys", responses=problems(401, 403, 404), cache=False)
    async def list_user_keys(
        self, user_id: FromPath[uuid.UUID], api_key_service: NamedDependency[ApiKeyService]
    ) -> ApiKeyList:
        return await api_key_service.list_for_admin(user_id)

    @delete(
        "/{key_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Revoke a user's API key",
        responses=problems(401, 403, 404),
    )
    async def revoke_user_key(
        self,
        user_id: FromPath[uuid.UUID],
        key_id: FromPath[uuid.UUID],
        api_key_service: NamedDependency[ApiKeyService],
    ) -> None:
        await api_key_service.revoke(user_id, key_id)
