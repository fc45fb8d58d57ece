from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
from aiclone.openapi import problems
from aiclone.outreach.schemas import OutreachCreate, OutreachPage, OutreachRead, OutreachUpdate, StatusName
from aiclone.outreach.service import OutreachService
from aiclone.pagination import DEFAULT_LIMIT, Cursor, Limit, SortOrder


class OutreachController(Controller):
    path = "/api/outreach"
    opt = domain_scopes("outreach")
    tags = ["outreach"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create an outreach draft",
        description=(
            "`prospect_id` must be one of the user's prospects (else 404). Bumps the prospect's"
            " `drafts_generated` and emits `prospect_updated` (reason `draft_created`)."
        ),
        responses=problems(401, 403, 404, 413, 422),
    )
    async def create_outreach_message(
        self,
        owner: Owner,
        data: JSONBody[OutreachCreate],
        outreach_service: NamedDependency[OutreachService],
    ) -> OutreachRead:
        return await outreach_service.create(owner, data)

    @get(
        "/",
        summary="List outreach messages",
        description="Newest first by default; keyset pagination on (created_at, id).",
        responses=problems(401, 403, 422),
    )
    async def list_outreach_messages(
        self,
        owner: Owner,
        outreach_service: NamedDependency[OutreachService],
        prospect_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[StatusName | None] = None,
        order: FromQuery[SortOrder] = "desc",
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> OutreachPage:
        return await outreach_service.list(
            owner,
            prospect_id=prospect_id,
            status=status,
            order=order,
            limit=limit,
            cursor=cursor,
        )

    @get("/{message_id:uuid}", summary="Get an outreach message", responses=problems(401, 403, 404))
    async def get_outreach_message(
        self,
        owner: Owner,
        message_id: FromPath[uuid.UUID],
        outreach_service: NamedDependency[OutreachService],
    ) -> OutreachRead:
        return await outreach_service.get(owner, message_id)

    @patch(
        "/{message_id:uuid}",
        summary="Edit a draft",
        description="Only drafts can be edited (409 once sent).",
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    async def update_outreach_message(
        self,
        owner: Owner,
        message_id: FromPath[uuid.UUID],
        data: JSONBody[OutreachUpdate],
        outreach_service: NamedDependency[OutreachService],
    ) -> OutreachRead:
        return await outreach_service.update(owner, message_id, data)

    @delete(
        "/{message_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a draft",
        description="Only drafts can be deleted (409 once sent: a sent message is a record).",
        responses=problems(401, 403, 404, 409),
    )
    async def delete_outreach_message(
        self,
        owner: Owner,
        message_id: FromPath[uuid.UUID],
        outreach_service: NamedDependency[OutreachService],
    ) -> None:
        await outreach_service.delete(owner, message_id)

    @post(
        "/{message_id:uuid}/send",
        status_code=HTTP_200_OK,
        summary="Record a draft as sent",
        description=(
            "Records the send (no email is transmitted by the service): status `sent`, `sent_at`, the"
            " prospect's `emails_sent` and `last_contacted`, and an `outreach_sent` event. An email"
            " needs a subject (422). Sending twice is a 409."
        ),
        responses=problems(401, 403, 404, 409, 422),
    )
    async def send_outreach_message(
        self,
        owner: Owner,
        message_id: FromPath[uuid.UUID],
        outreach_service: NamedDependency[OutreachService],
    ) -> OutreachRead:
        return await outreach_service.send(owner, message_id)

    @post(
        "/{message_id:uuid}/meeting-booked",
        status_code=HTTP_200_OK,
        summary="Record a meeting booked from a sent message",
        description=(
            "Sets `meeting_booked`, bumps the prospect's `meetings_booked` and emits `prospect_updated`"
            " (reason `meeting_booked`). 409 for a draft or when already booked."
        ),
        responses=problems(401, 403, 404, 409),
    )
    async def book_meeting(
        self,
        owner: Owner,
        message_id: FromPath[uuid.UUID],
        outreach_service: NamedDependency[OutreachService],
    ) -> OutreachRead:
        return await outreach_service.book_meeting(owner, message_id)
