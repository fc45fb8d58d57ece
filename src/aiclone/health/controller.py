from __future__ import annotations

import datetime as dt

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import text

from aiclone.db import Database
from aiclone.migrate import current_revisions
from aiclone.openapi import problems


class Liveness(msgspec.Struct):
    status: str
    time: dt.datetime


class Readiness(msgspec.Struct):
    status: str
    database: str
    schema: str
    detail: str | None = None


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {"exclude_from_auth": True}
    security = []

    @get("/", summary="Liveness (no I/O)", cache=False)
    async def live(self) -> Liveness:
        return Liveness(status="ok", time=dt.datetime.now(dt.UTC))

    @get(
        "/ready",
        summary="Readiness: database reachable and schema at head",
        responses=problems(503),
        cache=False,
    )
    async def ready(self, db: NamedDependency[Database], state: State) -> Response[Readiness]:
        heads: set[str] = state.migration_heads
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                applied = await conn.run_sync(current_revisions)
        except Exception:  # noqa: BLE001 - any failure here means "not ready"; the reason is reported
            body = Readiness(
                status="unavailable",
                database="unreachable",
                schema="unknown",
                detail="The database did not answer.",
            )
            return Response(body, status_code=503)
        if applied != heads:
            body = Readiness(
                status="unavailable",
                database="ok",
                schema="behind" if applied else "empty",
                detail=f"Schema at {sorted(applied) or 'nothing'}, expected {sorted(heads)}; run `aiclone db upgrade`.",
            )
            return Response(body, status_code=503)
        return Response(Readiness(status="ok", database="ok", schema="head"))
