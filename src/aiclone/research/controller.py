from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from aiclone.auth.handlers import DomainController, Query, Resource, optional
from aiclone.openapi import problems, prose
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

tasks = Resource("research_service", ResearchService, "task_id", read=ResearchTaskRead)


class ResearchTaskController(DomainController, domain="research"):
    path = "/api/research-tasks"

    create_research_task = tasks.create(
        ResearchTaskCreate,
        summary="Queue a research task",
        description=prose("""
            Queues research on URLs, keywords or profile text. The background runner picks it up by priority;
            follow it with `task_update` events. For `urls`, every URL must be an absolute http(s) URL.
        """),
        responses=problems(401, 403, 413, 422, 429),
    )
    list_research_tasks = tasks.list(
        ResearchTaskPage,
        query={
            "status": optional(TaskStatus),
            "priority": optional(Priority),
            "kind": optional(TaskKind),
            "limit": Query(Limit, DEFAULT_LIMIT),
            "cursor": Query(CursorParam),
        },
        summary="List research tasks",
        description=prose("""
            Newest first, keyset paginated; filter by status, priority and kind (research, or the drafting
            tasks of `POST /api/outreach/generate` and `POST /api/content/generate`).
        """),
        responses=problems(401, 403, 422),
    )
    get_research_task = tasks.get(summary="Get a research task", responses=problems(401, 403, 404))
    cancel_research_task = tasks.action(
        "cancel",
        summary="Cancel a queued or running task",
        description="A running task stops within about a second. Finished tasks answer 409.",
        responses=problems(401, 403, 404, 409),
    )
    retry_research_task = tasks.action(
        "retry",
        summary="Queue a failed or cancelled task again",
        description="Other statuses answer 409. `attempts` counts the runs started.",
        responses=problems(401, 403, 404, 409),
    )


class ResearchEngineController(DomainController, domain="research"):
    path = "/api/research/engines"

    @get(
        "/",
        summary="List research engines",
        description=prose("""
            Every engine this server knows, whether new tasks may use it and, if not, why (for instance `llm`
            without a configured language model provider).
        """),
        responses=problems(401),
    )
    async def list_engines(self, research_service: NamedDependency[ResearchService]) -> ResearchEngineList:
        statuses = research_service.engine_statuses()
        return ResearchEngineList(
            items=[msgspec.convert(s, ResearchEngineRead, from_attributes=True) for s in statuses]
        )
