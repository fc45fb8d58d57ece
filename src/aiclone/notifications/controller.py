from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from aiclone.auth.owner import Owner
from aiclone.auth.scopes import domain_scopes
from aiclone.auth.tokens import Principal
from aiclone.notifications.schemas import (
    MarkedRead,
    MarkRead,
    NotificationPage,
    NotificationRead,
    UnreadCount,
)
from aiclone.notifications.service import NotificationService
from aiclone.openapi import problems
from aiclone.pagination import DEFAULT_LIMIT, Limit


class NotificationController(Controller):
    path = "/api/notifications"
    opt = domain_scopes("notifications")
    tags = ["notifications"]

    @get("/", summary="List notifications, newest first", responses=problems(401, 403, 422))
    async def list_notifications(
        self,
        owner: Owner,
        notifications: NamedDependency[NotificationService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        unread_only: FromQuery[bool] = False,
    ) -> NotificationPage:
        return await notifications.page(owner, limit=limit, cursor=cursor, unread_only=unread_only)

    @get("/unread-count", summary="How many notifications are unread", responses=problems(401, 403))
    async def count_unread_notifications(
        self,
        owner: Owner,
        notifications: NamedDependency[NotificationService],
    ) -> UnreadCount:
        return UnreadCount(unread=await notifications.unread_count(owner))

    @post(
        "/{notification_id:uuid}/read",
        status_code=HTTP_200_OK,
        summary="Mark one notification read",
        responses=problems(401, 404),
    )
    async def mark_notification_read(
        self,
        request: Request[Principal, str, Any],
        notifications: NamedDependency[NotificationService],
        notification_id: FromPath[uuid.UUID],
    ) -> NotificationRead:
        return await notifications.mark_one_read(request.user.id, notification_id)

    @post(
        "/read",
        status_code=HTTP_200_OK,
        summary="Mark notifications read",
        description="Marks the listed ids (ids of other users are ignored), or every unread one with `all`.",
        responses=problems(401, 422),
    )
    async def mark_notifications_read(
        self,
        request: Request[Principal, str, Any],
        notifications: NamedDependency[NotificationService],
        data: JSONBody[MarkRead],
    ) -> MarkedRead:
        return await notifications.mark_read(request.user.id, None if data.all else data.ids)
