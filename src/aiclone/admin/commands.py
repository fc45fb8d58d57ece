"""The ``aiclone users list|set-role|deactivate|activate`` commands, on the admin service.

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
from aiclone.errors import NotFound
from aiclone.settings import Settings

_PAGE = 200


def _line(user: UserRead) -> str:
    state = "active" if user.is_active else "inactive"
    return f"{user.id}  {user.role:5}  {state:8}  {user.created_at:%Y-%m-%d}  {user.email}"


async def list_users(settings: Settings, role: Role | None) -> str:
    from aiclone.container import Services  # noqa: PLC0415 - keeps `aiclone --help` light

    services = Services(settings.with_secret())
    lines: list[str] = []
    try:
        cursor: str | None = None
        while True:
            page = await services.admin.list_users(limit=_PAGE, cursor=cursor, role=role)
            lines.extend(_line(user) for user in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    finally:
        await services.db.dispose()
    return "\n".join(lines) if lines else "no users"


async def update_user(settings: Settings, who: str, change: UserUpdate) -> str:
    """Change the user named by email or id; ends their sessions when anything changed."""
    from aiclone.container import Services  # noqa: PLC0415

    services = Services(settings.with_secret())
    try:
        user_id = await _resolve(services.admin, who)
        user = await services.admin.update_user(user_id, change)
    finally:
        await services.db.dispose()
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
