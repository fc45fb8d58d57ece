from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from aiclone.auth.handlers import DomainController, Query, Resource, defaulted, optional
from aiclone.auth.owner import Owner
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

notifications = Resource("notifications", NotificationService)
own_notifications = Resource(
    "notifications", NotificationService, "notification_id", read=NotificationRead, subject="caller"
)


class NotificationController(DomainController, domain="notifications"):
    path = "/api/notifications"

    list_notifications = notifications.list(
        NotificationPage,
        query={
            "limit": Query(Limit, DEFAULT_LIMIT),
            "cursor": optional(str),
            "unread_only": defaulted(bool, False),
        },
        method="page",
        summary="List notifications, newest first",
        responses=problems(401, 403, 422),
    )

    @get("/unread-count", summary="How many notifications are unread", responses=problems(401, 403))
    async def count_unread_notifications(
        self,
        owner: Owner,
        notifications: NamedDependency[NotificationService],
    ) -> UnreadCount:
        return UnreadCount(unread=await notifications.unread_count(owner))

    mark_notification_read = own_notifications.action(
        "mark_one_read",
        path="read",
        summary="Mark one notification read",
        responses=problems(401, 404),
    )

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
