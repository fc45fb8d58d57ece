from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from aiclone.errors import PROBLEM_JSON, TYPE_BASE
from aiclone.health.schemas import Liveness, NotReady, Readiness
from aiclone.health.service import HealthService
from aiclone.openapi import prose


class HealthController(Controller):
    """Probes for orchestrators and load balancers; public, never cached."""

    path = "/health"
    tags = ["health"]
    opt = {"exclude_from_auth": True}
    cache_control = CacheControlHeader(no_store=True)

    @get("/", summary="Liveness (no I/O)", cache=False)
    async def check_liveness(self) -> Liveness:
        return Liveness(status="ok", time=dt.datetime.now(dt.UTC))

    @get(
        "/ready",
        summary="Readiness: database reachable and schema at head",
        description=prose("""
            503 with a problem body naming the failed check when the service cannot serve yet; 503
            `shutting-down` (with `Retry-After`) once the instance has begun to stop.
        """),
        cache=False,
        responses={
            HTTP_200_OK: ResponseSpec(data_container=Readiness, description="Ready", generate_examples=False),
            HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
                data_container=NotReady,
                description="Not ready: the database is unreachable or its schema is not at head",
                media_type=PROBLEM_JSON,
                generate_examples=False,
            ),
        },
    )
    async def check_readiness(
        self, request: Request[Any, Any, Any], health_service: NamedDependency[HealthService]
    ) -> Response[Readiness | NotReady]:
        report = await health_service.readiness()
        if report.ready:
            return Response(Readiness(status="ok", database="ok", schema="head"))
        body = NotReady(
            type=TYPE_BASE + "not-ready",
            title="Service not ready",
            status=HTTP_503_SERVICE_UNAVAILABLE,
            detail=report.detail,
            database=report.database,
            schema=report.schema,
            instance=request.url.path,
        )
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE, media_type=PROBLEM_JSON)
