from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from aiclone.auth.browser import credential_cookie
from aiclone.auth.guards import requires_admin
from aiclone.auth.scopes import ApiScope, required_access, requires_scope, session_only
from aiclone.auth.tokens import Principal
from aiclone.live.credentials import COOKIE_NAME, COOKIE_PATH, StreamCredentials
from aiclone.live.schemas import BroadcastRequest, BroadcastResult, StreamCookie, StreamStatus, StreamTicket
from aiclone.live.service import LiveEventService
from aiclone.live.stream import EventStream
from aiclone.openapi import SELF_AUTH_OPT_KEY, problems, prose

_STREAM_DESCRIPTION = """\
The signed-in user's events as `text/event-stream`: a `connection` message, then every stored
event after the resume point (`Last-Event-ID` header, or `last_event_id` on the first connect),
then live events, with no gap and no duplicate. `id:` is the event's per-user `seq`; the
`connection` message's `id:` is the resume point, so a reconnect from the first frame on is lossless.

Credentials: a bearer token, a single-use `ticket` from `POST /api/events/ticket`, or the
stream cookie from `POST /api/events/cookie` (for a browser `EventSource`). Refusals (401, 422,
429) come before the stream starts. The full frame-by-frame protocol is in `docs/events.md`.
"""

_STREAM_EXAMPLE = (
    "retry: 3120\n"
    'id: 57\nevent: connection\ndata: {"status":"connected","instance_id":"web-1-4211-9f2c1a0b",'
    '"server_time":"2026-11-27T08:14:39.945Z","latest_seq":58,"resume_from":57,"heartbeat_seconds":15.0,'
    '"expires_at":"2026-11-27T08:44:39Z","types":null}\n\n'
    'id: 58\nevent: activity\ndata: {"seq":58,"type":"activity","created_at":"2026-11-27T08:14:02.12Z",'
    '"by_automation":false,"data":{"title":"Prospect added: Ada"}}\n\n'
    ": ping\n\n"
)


def _stream_cookie(value: str, max_age: int, *, secure: bool) -> Cookie:
    return credential_cookie(COOKIE_NAME, COOKIE_PATH, value, max_age, secure=secure)


class EventStreamController(Controller):
    path = "/api/events"
    opt = requires_scope(ApiScope.EVENTS_READ)
    tags = ["events"]

    @get(
        "/",
        exclude_from_auth=True,
        opt={SELF_AUTH_OPT_KEY: True},
        security=[{"OAuth2PasswordBearer": []}, {"StreamTicket": []}, {"StreamCookie": []}],
        summary="Live event stream (Server-Sent Events)",
        description=_STREAM_DESCRIPTION,
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/event-stream",
                description="The event stream; see the description for its frames.",
                examples=[Example(summary="A resumed stream", value=_STREAM_EXAMPLE)],
            ),
            **problems(401, 422, 429, 503),
        },
    )
    async def stream_events(
        self,
        request: Request[Any, Any, Any],
        live: NamedDependency[LiveEventService],
        types: Annotated[
            str | None, QueryParameter(description="Comma-separated event types to receive (default: all).")
        ] = None,
        last_event_id: Annotated[
            int | None,
            QueryParameter(ge=0, description="Resume after this seq on the first connect (the header wins)."),
        ] = None,
        ticket: Annotated[
            str | None, QueryParameter(description="A single-use stream ticket (never a long-lived token).")
        ] = None,
        last_event_id_header: Annotated[
            str | None,
            HeaderParameter(name="Last-Event-ID", description="Resume after this seq (reconnects)."),
        ] = None,
    ) -> EventStream:
        credentials = StreamCredentials(
            authorization=request.headers.get("authorization"),
            ticket=ticket,
            cookie=request.cookies.get(COOKIE_NAME),
        )
        return await live.open_stream(
            credentials,
            types=types,
            last_event_id_header=last_event_id_header,
            last_event_id=last_event_id,
            # What an API key needs here: the route's own marker (aiclone.auth.scopes).
            access=required_access(request.route_handler.opt, "GET"),
        )

    @post(
        "/ticket",
        status_code=HTTP_201_CREATED,
        summary="Get a single-use stream ticket",
        description=prose("""
            For clients that cannot send headers: open `GET /api/events?ticket=…` within `expires_in` seconds
            (at most 60). A ticket works once, on any instance.
        """),
        responses=problems(401),
    )
    async def create_stream_ticket(
        self, request: Request[Principal, str, Any], live: NamedDependency[LiveEventService]
    ) -> StreamTicket:
        return await live.issue_ticket(request.user)

    @post(
        "/cookie",
        status_code=HTTP_200_OK,
        # For browsers, which sign in; a key sends its Authorization header to the stream itself.
        opt=session_only(),
        summary="Set the stream cookie",
        description=prose("""
            Opt-in for same-site browsers: sets an HttpOnly, SameSite=Strict cookie, scoped to `/api/events`,
            that authenticates `GET /api/events` only, until the access token used here expires.
        """),
        responses=problems(401),
    )
    async def set_stream_cookie(
        self, request: Request[Principal, str, Any], live: NamedDependency[LiveEventService]
    ) -> Response[StreamCookie]:
        token, body = live.issue_cookie(request.user)
        secure = live.cookie_secure(https=request.url.scheme == "https")
        return Response(
            body,
            cookies=[_stream_cookie(token, body.expires_in, secure=secure)],
            headers={"Cache-Control": "no-store"},
        )

    @delete(
        "/cookie",
        status_code=HTTP_204_NO_CONTENT,
        exclude_from_auth=True,
        security=[],
        summary="Clear the stream cookie",
    )
    async def clear_stream_cookie(
        self, request: Request[Any, Any, Any], live: NamedDependency[LiveEventService]
    ) -> Response[None]:
        secure = live.cookie_secure(https=request.url.scheme == "https")
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[_stream_cookie("", 0, secure=secure)])

    @post(
        "/broadcast",
        status_code=HTTP_200_OK,
        guards=[requires_admin],
        opt=requires_scope(ApiScope.ADMIN),
        summary="Notify every user (admin)",
        description=prose("""
            Creates the notification for every active user, persisted with its `notification` event, so users
            who are offline receive it when their stream resumes.
        """),
        responses=problems(401, 403, 422),
    )
    async def broadcast_event(
        self,
        request: Request[Principal, str, Any],
        live: NamedDependency[LiveEventService],
        data: JSONBody[BroadcastRequest],
    ) -> BroadcastResult:
        return await live.broadcast(request.user, data)

    @get(
        "/status",
        summary="Open event streams",
        description=prose("""
            The caller's open streams on every instance. Admins also get every live instance and the users
            with the most streams, or one user's count with `user_id`.
        """),
        responses=problems(401, 403, 422),
        cache=False,
    )
    async def get_stream_status(
        self,
        request: Request[Principal, str, Any],
        live: NamedDependency[LiveEventService],
        user_id: FromQuery[uuid.UUID | None] = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=1000, description="Admins: how many users to list.")
        ] = 100,
    ) -> StreamStatus:
        return await live.status(request.user, user_id=user_id, per_user_limit=limit)
