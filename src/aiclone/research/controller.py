from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, Limit
from aiclone.research.models import Priority, TaskKind, TaskStatus
from aiclone.research.schemas import (
    ResearchEngineList,
    ResearchEngineRead,
    ResearchTaskCreate,
    ResearchTaskPage,
    ResearchTaskRead,
)
from aiclone.research.service import ResearchService

CursorParam = Annotated[
    str | None,
    QueryParameter(name="cursor", max_length=512, description="`next_cursor` of the previous page."),
]


class ResearchTaskController(Controller):
    path = "/api/research-tasks"
    opt = domain_scopes("research")
    tags = ["research"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Queue a research task",
        description=(
            "Queues research on URLs, keywords or profile text. The background runner picks it up by"
            " priority; follow it with `task_update` events. For `urls`, every URL must be an absolute"
            " http(s) URL."
        ),
        responses=problems(401, 403, 413, 422, 429),
    )
    async def create_research_task(
        self,
        owner: Owner,
        data: JSONBody[ResearchTaskCreate],
        research_service: NamedDependency[ResearchService],
    ) -> ResearchTaskRead:
        return await research_service.create(owner, data)

    @get(
        "/",
        summary="List research tasks",
        description=(
            "Newest first, keyset paginated; filter by status, priority and kind (research, or the"
            " drafting tasks of `POST /api/outreach/generate` and `POST /api/content/generate`)."
        ),
        responses=problems(401, 403, 422),
    )
    async def list_research_tasks(
        self,
        owner: Owner,
        research_service: NamedDependency[ResearchService],
        status: FromQuery[TaskStatus | None] = None,
        priority: FromQuery[Priority | None] = None,
        kind: FromQuery[TaskKind | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> ResearchTaskPage:
        return await research_service.list(
            owner,
            status=status,
            priority=priority,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )

    @get("/{task_id:uuid}", summary="Get a research task", responses=problems(401, 403, 404))
    async def get_research_task(
        self,
        owner: Owner,
        task_id: FromPath[uuid.UUID],
        research_service: NamedDependency[ResearchService],
    ) -> ResearchTaskRead:
        return await research_service.get(owner, task_id)

    @post(
        "/{task_id:uuid}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel a queued or running task",
        description="A running task stops within about a second. Finished tasks answer 409.",
        responses=problems(401, 403, 404, 409),
    )
    async def cancel_research_task(
        self,
        owner: Owner,
        task_id: FromPath[uuid.UUID],
        research_service: NamedDependency[ResearchService],
    ) -> ResearchTaskRead:
        return await research_service.cancel(owner, task_id)

    @post(
        "/{task_id:uuid}/retry",
        status_code=HTTP_200_OK,
        summary="Queue a failed or cancelled task again",
        description="Other statuses answer 409. `attempts` counts the runs started.",
        responses=problems(401, 403, 404, 409),
    )
    async def retry_research_task(
        self,
        owner: Owner,
        task_id: FromPath[uuid.UUID],
        research_service: NamedDependency[ResearchService],
    ) -> ResearchTaskRead:
        return await research_service.retry(owner, task_id)


class ResearchEngineController(Controller):
    path = "/api/research/engines"
    tags = ["research"]
    opt = domain_scopes("research")

    @get(
        "/",
        summary="List research engines",
        description=(
            "Every engine this server knows, whether new tasks may use it and, if not, why (for"
            " instance `llm` without a configured language model provider)."
        ),
        responses=problems(401),
    )
    async def list_engines(self, research_service: NamedDependency[ResearchService]) -> ResearchEngineList:
        return ResearchEngineList(
            items=[
                ResearchEngineRead(
                    name=status.name,
                    available=status.available,
                    reason=status.reason,
                    provider_state=status.provider,
                )
                for status in research_service.engine_statuses()
            ]
        )
