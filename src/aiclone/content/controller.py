from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
from aiclone.content.schemas import (
    ContentChannel,
    ContentCreate,
    ContentPage,
    ContentRead,
    ContentStatusName,
    ContentUpdate,
)
from aiclone.content.service import ContentService
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, Cursor, Limit, SortOrder


class ContentController(Controller):
    path = "/api/content"
    opt = domain_scopes("content")
    tags = ["content"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Create a content draft",
        responses=problems(401, 403, 404, 413, 422),
    )
    async def create_content(
        self,
        owner: Owner,
        data: JSONBody[ContentCreate],
        content_service: NamedDependency[ContentService],
    ) -> ContentRead:
        return await content_service.create(owner, data)

    @get(
        "/",
        summary="List content",
        description="Newest first by default; keyset pagination on (created_at, id).",
        responses=problems(401, 403, 422),
    )
    async def list_content(
        self,
        owner: Owner,
        content_service: NamedDependency[ContentService],
        status: FromQuery[ContentStatusName | None] = None,
        channel: FromQuery[ContentChannel | None] = None,
        tag: Annotated[str | None, QueryParameter(max_length=50)] = None,
        order: FromQuery[SortOrder] = "desc",
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> ContentPage:
        return await content_service.list(
            owner,
            status=status,
            channel=channel,
            tag=tag,
            order=order,
            limit=limit,
            cursor=cursor,
        )

    @get("/{content_id:uuid}", summary="Get a piece of content", responses=problems(401, 403, 404))
    async def get_content(
        self,
        owner: Owner,
        content_id: FromPath[uuid.UUID],
        content_service: NamedDependency[ContentService],
    ) -> ContentRead:
        return await content_service.get(owner, content_id)

    @patch(
        "/{content_id:uuid}",
        summary="Edit a draft",
        description="Only drafts can be edited (409 once published).",
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    async def update_content(
        self,
        owner: Owner,
        content_id: FromPath[uuid.UUID],
        data: JSONBody[ContentUpdate],
        content_service: NamedDependency[ContentService],
    ) -> ContentRead:
        return await content_service.update(owner, content_id, data)

    @delete(
        "/{content_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a piece of content",
        description="Removes it from the library, draft or published.",
        responses=problems(401, 403, 404),
    )
    async def delete_content(
        self,
        owner: Owner,
        content_id: FromPath[uuid.UUID],
        content_service: NamedDependency[ContentService],
    ) -> None:
        await content_service.delete(owner, content_id)

    @post(
        "/{content_id:uuid}/publish",
        status_code=HTTP_200_OK,
        summary="Publish a draft",
        description=(
            "Sets status `published` and `published_at` and emits `content_published`. Publishing"
            " twice is a 409; a draft without a body cannot be published (422)."
        ),
        responses=problems(401, 403, 404, 409, 422),
    )
    async def publish_content(
        self,
        owner: Owner,
        content_id: FromPath[uuid.UUID],
        content_service: NamedDependency[ContentService],
    ) -> ContentRead:
        return await content_service.publish(owner, content_id)
