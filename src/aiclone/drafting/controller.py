"""``POST /api/outreach/generate`` and ``POST /api/content/generate``: queue a drafting task."""

from __future__ import annotations

from typing import Any

from litestar import Controller, HttpMethod
from litestar.status_codes import HTTP_202_ACCEPTED

from aiclone.auth.handlers import ForwardingHandler, Resource
from aiclone.auth.scopes import ApiScope, requires_scope
from aiclone.drafting.schemas import ContentGenerate, OutreachGenerate
from aiclone.drafting.service import DraftingService
from aiclone.openapi import problems, prose
from aiclone.research.schemas import ResearchTaskRead

_FOLLOW = (
    " Answers 202 with the queued task (kind `{kind}`); follow it with `task_update` events: while"
    " the model writes, ephemeral ones carry `text`, the draft so far (at most five a second). When"
    " it is done the task's `output_id` names the {what}, written with its usual events. A daily"
    " token budget that would be passed is a 429 (`Retry-After`: the next UTC midnight); no"
    " configured provider is a 422 of type `llm-not-configured`."
)

drafts = Resource("drafting_service", DraftingService, read=ResearchTaskRead)


def _queues_a_draft(method: str, body: type, what: str, *, intro: str, **route: Any) -> ForwardingHandler:
    """``POST /``: ``drafting_service.<method>(owner, data)``, answered 202 with the queued task."""
    description = intro + _FOLLOW.format(kind=f"{method}_draft", what=what)
    return drafts.build(
        HttpMethod.POST,
        "/",
        method,
        body=body,
        status_code=HTTP_202_ACCEPTED,
        description=description,
        **route,
    )


class OutreachDraftController(Controller):
    path = "/api/outreach/generate"
    tags = ["outreach"]
    opt = requires_scope(ApiScope.OUTREACH_WRITE)

    generate_outreach = _queues_a_draft(
        "outreach",
        OutreachGenerate,
        "outreach draft",
        summary="Draft an outreach message with the language model",
        intro=prose("""
            Writes a draft to one of the user's prospects (another user's prospect is a 404), using the
            prospect's record and the insight of its latest finished research.
        """),
        responses=problems(401, 403, 404, 413, 422, 429),
    )


class ContentDraftController(Controller):
    path = "/api/content/generate"
    tags = ["content"]
    opt = requires_scope(ApiScope.CONTENT_WRITE)

    generate_content = _queues_a_draft(
        "content",
        ContentGenerate,
        "content item (tagged `ai-draft`)",
        summary="Draft a content item with the language model",
        intro="Writes a piece on `topic` for the content channel `format`.",
        responses=problems(401, 403, 413, 422, 429),
    )
