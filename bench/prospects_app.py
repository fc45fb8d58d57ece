"""Bench-only app: the real aiclone app plus one raw route doing the same list query.

``GET /bench/raw/prospects`` runs the query of ``GET /api/prospects`` (first page, newest first)
with a plain asyncpg pool and msgspec, behind the same authentication middleware, so the two
differ only in the data path. Loaded by uvicorn as a factory:
``uvicorn --app-dir bench --factory prospects_app:create_bench_app``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, get

from aiclone.app import create_app_from_env
from aiclone.auth.tokens import Principal
from aiclone.events.dedicated import asyncpg_dsn
from aiclone.pagination import encode_cursor
from aiclone.prospects.schemas import ProspectPage, ProspectRead
from aiclone.settings import load_settings

COLUMNS = ", ".join(ProspectRead.__struct_fields__)
RAW_QUERY = f"SELECT {COLUMNS} FROM prospects WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"


class RawPool:
    """An asyncpg pool made on first use, as large as the app's steady SQLAlchemy pool."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    settings = load_settings()
                    size = settings.database.pool_size
                    self._pool = await asyncpg.create_pool(
                        asyncpg_dsn(settings.resolved_database_url),
                        min_size=1,
                        max_size=size,
                        init=_init_connection,
                    )
        return self._pool


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: msgspec.json.encode(v).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )


POOL = RawPool()
ENCODER = msgspec.json.Encoder()


@get("/bench/raw/prospects", include_in_schema=False)
async def raw_list_prospects(request: Request[Principal, str, Any], limit: int = 50) -> Response[bytes]:
    pool = await POOL.get()
    rows = await pool.fetch(RAW_QUERY, request.user.id, limit + 1)
    items = [ProspectRead(*row) for row in rows[:limit]]
    cursor = None
    if len(rows) > limit:
        last = items[-1]
        cursor = encode_cursor("created_at:desc", last.created_at, last.id)
    body = ENCODER.encode(ProspectPage(items=items, next_cursor=cursor))
    return Response(content=body, media_type="application/json")


def create_bench_app() -> Litestar:
    app = create_app_from_env()
    app.register(raw_list_prospects)
    return app
