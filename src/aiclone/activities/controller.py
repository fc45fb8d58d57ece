from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from aiclone.activities.schemas import ActivityPage
from aiclone.activities.service import ActivityService
from aiclone.auth.handlers import DomainController
from aiclone.auth.owner import Owner
from aiclone.errors import FieldError, InvalidInput
from aiclone.events.types import EVENT_TYPES
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, Limit


class ActivityController(DomainController, domain="activities"):
    path = "/api/activities"

    @get("/", summary="The activity feed, newest first", responses=problems(401, 403, 422))
    async def list_activities(
        self,
        owner: Owner,
        activities: NamedDependency[ActivityService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        types: Annotated[
            str | None, QueryParameter(description="Comma-separated event types to keep", max_length=500)
        ] = None,
        created_after: FromQuery[dt.datetime | None] = None,
        created_before: FromQuery[dt.datetime | None] = None,
    ) -> ActivityPage:
        wanted = [t.strip() for t in (types or "").split(",") if t.strip()]
        unknown = [t for t in wanted if t not in EVENT_TYPES]
        if unknown:
            raise InvalidInput(
                "Unknown event type.",
                errors=[FieldError(field="types", message=f"unknown: {', '.join(unknown)}")],
            )
        return await activities.page(
            owner,
            limit=limit,
            cursor=cursor,
            types=wanted,
            created_after=created_after,
            created_before=created_before,
        )
