from __future__ import annotations

import uuid
from typing import Annotated

from litestar import post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath
from litestar.status_codes import HTTP_200_OK

from aiclone.auth.handlers import DomainController, Query, Resource, optional
from aiclone.auth.owner import Owner
from aiclone.automations.schemas import (
    AutomationCreate,
    AutomationPage,
    AutomationRead,
    AutomationUpdate,
    TriggerEvent,
    TriggerRequest,
    TriggerResult,
)
from aiclone.automations.service import AutomationService
from aiclone.openapi import problems, prose
from aiclone.pagination import DEFAULT_LIMIT, CursorParam, Limit

automations = Resource("automation_service", AutomationService, "automation_id", read=AutomationRead)


class AutomationController(DomainController, domain="automations"):
    path = "/api/automations"

    create_automation = automations.create(
        AutomationCreate,
        summary="Create an automation",
        description=prose("""
            When an event of `trigger_event` whose data matches every condition is recorded, the action runs
            in the same transaction and `automation_triggered` is emitted. Events caused by automations never
            trigger automations. A user may have at most 100 (409).
        """),
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    list_automations = automations.list(
        AutomationPage,
        query={
            "enabled": optional(bool),
            "trigger_event": optional(TriggerEvent),
            "limit": Query(Limit, DEFAULT_LIMIT),
            "cursor": Query(CursorParam),
        },
        summary="List automations",
        description="Newest first. Keyset pagination: pass `next_cursor` back as `cursor`.",
        responses=problems(401, 403, 422),
    )
    get_automation = automations.get(summary="Get an automation", responses=problems(401, 403, 404))
    update_automation = automations.update(
        AutomationUpdate,
        summary="Change some fields of an automation",
        description="Only the fields present change; `conditions` and `action` are replaced whole.",
        responses=problems(401, 403, 404, 413, 422),
    )
    delete_automation = automations.delete(summary="Delete an automation", responses=problems(401, 403, 404))

    @post(
        "/{automation_id:uuid}/trigger",
        status_code=HTTP_200_OK,
        summary="Run an automation's action now",
        description=prose("""
            Runs the action once with `data` as the event's data (for example `{"prospect_id": "…"}`),
            regardless of the conditions (`conditions_matched` says whether they would have held) and even
            when the rule is disabled. Recorded like an automatic run, with `manual: true`. A failing action
            is answered 200 with `status: failed` and the error, which is also recorded on the rule.
        """),
        responses=problems(401, 403, 404, 413, 422),
    )
    async def trigger_automation(
        self,
        owner: Owner,
        automation_id: FromPath[uuid.UUID],
        automation_service: NamedDependency[AutomationService],
        data: Annotated[TriggerRequest | None, Body(description="Optional sample event data.")] = None,
    ) -> TriggerResult:
        sample = {} if data is None else data.data
        return await automation_service.trigger(owner, automation_id, sample)
