from __future__ import annotations

import msgspec

from aiclone.auth.schemas import UserRead


class UserPage(msgspec.Struct):
    items: list[UserRead]
    next_cursor: str | None
