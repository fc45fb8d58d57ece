from __future__ import annotations

from aiclone.auth.handlers import ORDERED_PAGE, DomainController, Resource, optional
from aiclone.content.schemas import (
    ContentChannel,
    ContentCreate,
    ContentPage,
    ContentRead,
    ContentStatusName,
    ContentUpdate,
)
from aiclone.content.service import ContentService
from aiclone.openapi import problems, prose

content = Resource("content_service", ContentService, "content_id", read=ContentRead)


class ContentController(DomainController, domain="content"):
    path = "/api/content"

    create_content = content.create(
        ContentCreate, summary="Create a content draft", responses=problems(401, 403, 404, 413, 422)
    )
    list_content = content.list(
        ContentPage,
        query={
            "status": optional(ContentStatusName),
            "channel": optional(ContentChannel),
            "tag": optional(str, max_length=50),
            **ORDERED_PAGE,
        },
        summary="List content",
        description="Newest first by default; keyset pagination on (created_at, id).",
        responses=problems(401, 403, 422),
    )
    get_content = content.get(summary="Get a piece of content", responses=problems(401, 403, 404))
    update_content = content.update(
        ContentUpdate,
        summary="Edit a draft",
        description="Only drafts can be edited (409 once published).",
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    delete_content = content.delete(
        summary="Delete a piece of content",
        description="Removes it from the library, draft or published.",
        responses=problems(401, 403, 404),
    )
    publish_content = content.action(
        "publish",
        summary="Publish a draft",
        description=prose("""
            Sets status `published` and `published_at` and emits `content_published`. Publishing twice is a
            409; a draft without a body cannot be published (422).
        """),
        responses=problems(401, 403, 404, 409, 422),
    )
