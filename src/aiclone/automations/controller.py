from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
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
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, CursorParam, Limit


class AutomationController(Controller):
    path = "/api/automations"
    opt = domain_scopes("automations")
    tags = ["automations"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create an automation",
        description=(
            "When an event of `trigger_event` whose data matches every condition is recorded, the"
            " action runs in the same transaction and `automation_triggered` is emitted. Events"
            " caused by automations never trigger automations. A user may have at most 100 (409)."
        ),
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    async def create_automation(
        self,
        owner: Owner,
        data: JSONBody[AutomationCreate],
        automation_service: NamedDependency[AutomationService],
    ) -> AutomationRead:
        return await automation_service.create(owner, data)

    @get(
        "/",
        summary="List automations",
        description="Newest first. Keyset pagination: pass `next_cursor` back as `cursor`.",
        responses=problems(401, 403, 422),
    )
    async def list_automations(
        self,
        owner: Owner,
        automation_service: NamedDependency[AutomationService],
        enabled: FromQuery[bool | None] = None,
        trigger_event: FromQuery[TriggerEvent | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> AutomationPage:
        return await automation_service.list(
            owner,
            enabled=enabled,
            trigger_event=trigger_event,
            limit=limit,
            cursor=cursor,
        )

    @get("/{automation_id:uuid}", summary="Get an automation", responses=problems(401, 403, 404))
    async def get_automation(
        self,
        owner: Owner,
        automation_id: FromPath[uuid.UUID],
        automation_service: NamedDependency[AutomationService],
    ) -> AutomationRead:
        return await automation_service.get(owner, automation_id)

    @patch(
        "/{automation_id:uuid}",
        summary="Change some fields of an automation",
        description="Only the fields present change; `conditions` and `action` are replaced whole.",
        responses=problems(401, 403, 404, 413, 422),
    )
    async def update_automation(
        self,
        owner: Owner,
        automation_id: FromPath[uuid.UUID],
        data: JSONBody[AutomationUpdate],
        automation_service: NamedDependency[AutomationService],
    ) -> AutomationRead:
        return await automation_service.update(owner, automation_id, data)

    @delete(
        "/{automation_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an automation",
        responses=problems(401, 403, 404),
    )
    async def delete_automation(
        self,
        owner: Owner,
        automation_id: FromPath[uuid.UUID],
        automation_service: NamedDependency[AutomationService],
    ) -> None:
        await automation_service.delete(owner, automation_id)

    @post(
        "/{automation_id:uuid}/trigger",
        status_code=HTTP_200_OK,
        summary="Run an automation's action now",
        description=(
            "Runs the action once with `data` as the event's data (for example"
            ' `{"prospect_id": "…"}`), regardless of the conditions (`conditions_matched` says'
            " whether they would have held) and even when the rule is disabled. Recorded like an"
            " automatic run, with `manual: true`. A failing action is answered 200 with"
            " `status: failed` and the error, which is also recorded on the rule."
        ),
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
