from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from aiclone.admin.schemas import UserPage
from aiclone.admin.service import AdminService
from aiclone.auth.guards import requires_admin
from aiclone.auth.models import Role
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, CursorParam, Limit


class AdminController(Controller):
    """Administration of the installation; every route here needs the admin role."""

    path = "/api/admin"
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
