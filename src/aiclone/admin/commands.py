"""The ``aiclone users create|list|set-role|deactivate|activate`` commands, on the auth and admin services.

The command line (:mod:`aiclone.cli`) builds the services and hands this module the ones it
needs, so admin does not import the container that builds it.

They run in their own process, so on PostgreSQL their identity signal reaches the serving
instances through NOTIFY like any other; on SQLite the server reads the tables again within
half a second (see ``aiclone.auth.identity``).
"""

from __future__ import annotations

import uuid

from aiclone.admin.schemas import UserUpdate
from aiclone.admin.service import AdminService
from aiclone.auth.models import Role
from aiclone.auth.schemas import UserRead
from aiclone.auth.service import AuthService
from aiclone.errors import NotFound

_PAGE = 200


def _line(user: UserRead) -> str:
    state = "active" if user.is_active else "inactive"
    return f"{user.id}  {user.role:5}  {state:8}  {user.created_at:%Y-%m-%d}  {user.email}"


async def create_user(auth: AuthService, email: str, full_name: str, password: str, admin: bool) -> str:
    user = await auth.register(
        email=email, password=password, full_name=full_name, role=Role.ADMIN if admin else Role.USER
    )
    return f"created {user.role} {user.email} ({user.id})"


async def list_users(admin: AdminService, role: Role | None) -> str:
    lines: list[str] = []
    cursor: str | None = None
    while True:
        page = await admin.list_users(limit=_PAGE, cursor=cursor, role=role)
        lines.extend(_line(user) for user in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return "\n".join(lines) if lines else "no users"


async def update_user(admin: AdminService, who: str, change: UserUpdate) -> str:
    """Change the user named by email or id; ends their sessions when anything changed."""
    user = await admin.update_user(await _resolve(admin, who), change)
    return f"updated {_line(user)}"


async def _resolve(admin: AdminService, who: str) -> uuid.UUID:
    try:
        return uuid.UUID(who)
    except ValueError:
        pass
    user = await admin.find_by_email(who)
    if user is None:
        raise NotFound(f"No user with the email {who!r}.")
    return user.id
