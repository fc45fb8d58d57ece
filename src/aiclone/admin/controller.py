from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from aiclone.admin.schemas import UserPage, UserUpdate
from aiclone.admin.service import AdminService
from aiclone.auth.guards import requires_admin
from aiclone.auth.models import Role
from aiclone.auth.schemas import UserRead
from aiclone.auth.scopes import ApiScope, requires_scope
from aiclone.openapi import problems, prose
from aiclone.pagination import DEFAULT_LIMIT, CursorParam, Limit


class AdminController(Controller):
    """Administration of the installation; every route here needs the admin role."""

    path = "/api/admin"
    opt = requires_scope(ApiScope.ADMIN)
    tags = ["admin"]
    guards = [requires_admin]

    @get(
        "/users",
        summary="List users",
        description="All accounts, oldest first, keyset-paginated. Never includes password hashes.",
        responses=problems(401, 403, 422),
    )
    async def list_users(
        self,
        admin_service: NamedDependency[AdminService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
        role: Annotated[Role | None, QueryParameter(description="Only users with this role.")] = None,
    ) -> UserPage:
        return await admin_service.list_users(limit=limit, cursor=cursor, role=role)

    @get("/users/{user_id:uuid}", summary="Get a user", responses=problems(401, 403, 404))
    async def get_user(
        self, user_id: FromPath[uuid.UUID], admin_service: NamedDependency[AdminService]
    ) -> UserRead:
        return await admin_service.get_user(user_id)

    @patch(
        "/users/{user_id:uuid}",
        summary="Change a user's role or active state",
        description=prose("""
            `is_active` and/or `role`. Any change ends every session of the user: their tokens are refused by
            every instance within a second, and their next sign-in carries the new role. Demoting or
            deactivating the last active admin is a 409 `last-admin`.
        """),
        responses=problems(401, 403, 404, 409, 413),
    )
    async def update_user(
        self,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserUpdate],
        admin_service: NamedDependency[AdminService],
    ) -> UserRead:
        return await admin_service.update_user(user_id, data)
