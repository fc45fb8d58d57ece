from __future__ import annotations

import msgspec

from aiclone.auth.models import Role
from aiclone.auth.schemas import UserRead


class UserPage(msgspec.Struct):
    items: list[UserRead]
    next_cursor: str | None


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A change of account state; absent fields stay as they are."""

    is_active: bool | None = None
    role: Role | None = None
