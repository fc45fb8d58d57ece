from __future__ import annotations

import uuid

from aiclone.auth.handlers import ORDERED_PAGE, DomainController, Resource, optional
from aiclone.openapi import problems, prose
from aiclone.outreach.schemas import OutreachCreate, OutreachPage, OutreachRead, OutreachUpdate, StatusName
from aiclone.outreach.service import OutreachService

messages = Resource("outreach_service", OutreachService, "message_id", read=OutreachRead)


class OutreachController(DomainController, domain="outreach"):
    path = "/api/outreach"

    create_outreach_message = messages.create(
        OutreachCreate,
        summary="Create an outreach draft",
        description=prose("""
            `prospect_id` must be one of the user's prospects (else 404). Bumps the prospect's
            `drafts_generated` and emits `prospect_updated` (reason `draft_created`).
        """),
        responses=problems(401, 403, 404, 413, 422),
    )
    list_outreach_messages = messages.list(
        OutreachPage,
        query={
            "prospect_id": optional(uuid.UUID),
            "status": optional(StatusName),
            **ORDERED_PAGE,
        },
        summary="List outreach messages",
        description="Newest first by default; keyset pagination on (created_at, id).",
        responses=problems(401, 403, 422),
    )
    get_outreach_message = messages.get(summary="Get an outreach message", responses=problems(401, 403, 404))
    update_outreach_message = messages.update(
        OutreachUpdate,
        summary="Edit a draft",
        description="Only drafts can be edited (409 once sent).",
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    delete_outreach_message = messages.delete(
        summary="Delete a draft",
        description="Only drafts can be deleted (409 once sent: a sent message is a record).",
        responses=problems(401, 403, 404, 409),
    )
    send_outreach_message = messages.action(
        "send",
        summary="Record a draft as sent",
        description=prose("""
            Records the send (no email is transmitted by the service): status `sent`, `sent_at`, the
            prospect's `emails_sent` and `last_contacted`, and an `outreach_sent` event. An email needs a
            subject (422). Sending twice is a 409.
        """),
        responses=problems(401, 403, 404, 409, 422),
    )
    book_meeting = messages.action(
        "book_meeting",
        path="meeting-booked",
        summary="Record a meeting booked from a sent message",
        description=prose("""
            Sets `meeting_booked`, bumps the prospect's `meetings_booked` and emits `prospect_updated` (reason
            `meeting_booked`). 409 for a draft or when already booked.
        """),
        responses=problems(401, 403, 404, 409),
    )
