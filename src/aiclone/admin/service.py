from __future__ import annotations

from aiclone.admin.repository import UserDirectory
from aiclone.admin.schemas import UserPage
from aiclone.auth.models import Role
from aiclone.db import Database
from aiclone.pagination import decode_keyset, encode_cursor, split_page


class AdminService:
    """Operations across all users. Callers are authorized by the admin guard before this runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_users(self, *, limit: int, cursor: str | None, role: Role | None) -> UserPage:
        position = decode_keyset(cursor)
        async with self.db.read_session() as session:
            rows = await UserDirectory(session).list_page(limit=limit + 1, cursor=position, role=role)
        items, more = split_page(rows, limit)
        last = items[-1] if more else None
        return UserPage(items=items, next_cursor=encode_cursor(last.created_at, last.id) if last else None)
