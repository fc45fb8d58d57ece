"""``POST /api/outreach/generate`` and ``POST /api/content/generate``: queue a drafting task."""

from __future__ import annotations

from litestar import Controller, HttpMethod
from litestar.status_codes import HTTP_202_ACCEPTED

from aiclone.auth.handlers import Resource
from aiclone.auth.scopes import ApiScope, requires_scope
from aiclone.drafting.schemas import ContentGenerate, OutreachGenerate
from aiclone.drafting.service import DraftingService
from aiclone.openapi import problems
from aiclone.research.schemas import ResearchTaskRead

_FOLLOW = (
    " Answers 202 with the queued task (kind `{kind}`); follow it with `task_update` events: while"
    " the model writes, ephemeral ones carry `text`, the draft so far (at most five a second). When"
    " it is done the task's `output_id` names the {what}, written with its usual events. A daily"
    " token budget that would be passed is a 429 (`Retry-After`: the next UTC midnight); no"
    " configured provider is a 422 of type `llm-not-configured`."
)

drafts = Resource("drafting_service", DraftingService, read=ResearchTaskRead)


class OutreachDraftController(Controller):
    path = "/api/outreach/generate"
    tags = ["outreach"]
    opt = requires_scope(ApiScope.OUTREACH_WRITE)

    generate_outreach = drafts.build(
        HttpMethod.POST,
        "/",
        "outreach",
        body=OutreachGenerate,
        status_code=HTTP_202_ACCEPTED,
        summary="Draft an outreach message with the language model",
        description=(
            "Writes a draft to one of the user's prospects (another user's prospect is a 404), using"
            " the prospect's record and the insight of its latest finished research."
            + _FOLLOW.format(kind="outreach_draft", what="outreach draft")
        ),
        responses=problems(401, 403, 404, 413, 422, 429),
    )


class ContentDraftController(Controller):
    path = "/api/content/generate"
    tags = ["content"]
    opt = requires_scope(ApiScope.CONTENT_WRITE)

    generate_content = drafts.build(
        HttpMethod.POST,
        "/",
        "content",
        body=ContentGenerate,
        status_code=HTTP_202_ACCEPTED,
        summary="Draft a content item with the language model",
        description=(
            "Writes a piece on `topic` for the content channel `format`."
            + _FOLLOW.format(kind="content_draft", what="content item (tagged `ai-draft`)")
        ),
        responses=problems(401, 403, 413, 422, 429),
    )
