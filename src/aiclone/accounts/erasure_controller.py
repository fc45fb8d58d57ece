"""Account erasure and export routes.

Plain route handlers rather than a controller: ``/api/auth/me`` and ``/api/admin/users/{id}``
also carry other methods declared in other controllers, and Litestar merges the methods of one
path only when these handlers are registered after those controllers (see ``app.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, delete, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from aiclone.accounts.erasure_schemas import EraseAccountRequest
from aiclone.accounts.service import AccountService
from aiclone.auth.guards import requires_admin
from aiclone.auth.scopes import ApiScope, requires_scope, session_only
from aiclone.auth.tokens import Principal
from aiclone.openapi import MEDIA_TYPES_OPT_KEY, problems, prose

ZIP_MEDIA_TYPE = "application/zip"


@delete(
    "/api/auth/me",
    status_code=HTTP_204_NO_CONTENT,
    tags=["auth"],
    opt=session_only(),
    summary="Delete my account and all its data",
    description=prose("""
        Erases the signed-in account and everything it owns (prospects, research, outreach, content,
        automations, notifications, activities, events, webhooks and their deliveries, analytics, sessions),
        in one transaction; open event streams end. Needs the current password in the JSON body. A wrong
        password is a 403 `wrong-password` problem and counts as a failed sign-in (the same per-account
        lockout, 429). The last active admin cannot be deleted (409 `last-admin`).
    """),
    responses=problems(401, 403, 404, 409, 422),
)
async def erase_own_account(
    request: Request[Principal, str, Any],
    account_service: NamedDependency[AccountService],
    data: JSONBody[EraseAccountRequest],
) -> None:
    await account_service.erase_own(request.user.id, data.password)


@get(
    "/api/auth/me/export",
    tags=["auth"],
    opt={**session_only(), MEDIA_TYPES_OPT_KEY: [ZIP_MEDIA_TYPE]},
    summary="Download all my data (ZIP)",
    description=prose("""
        Streams a ZIP with one JSON file per table (`prospects.json`, `events.json`, …; an array of row
        objects each) and `manifest.json` (export time, row count per file, the columns withheld). Password
        hashes, token hashes, webhook signing secrets and stream tickets are never included. One export per
        account at a time, and a few per server (429).
    """),
    responses={
        200: ResponseSpec(
            data_container=bytes,
            media_type=ZIP_MEDIA_TYPE,
            generate_examples=False,
            description='The ZIP, streamed, with `Content-Disposition: attachment; filename="….zip"`.',
        ),
        **problems(401, 404),
    },
)
async def export_own_account(
    request: Request[Principal, str, Any], account_service: NamedDependency[AccountService]
) -> Stream:
    download = await account_service.start_export(request.user.id)
    return Stream(
        download.body,
        media_type=ZIP_MEDIA_TYPE,
        headers={
            "Content-Disposition": download.content_disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@delete(
    "/api/admin/users/{user_id:uuid}",
    status_code=HTTP_204_NO_CONTENT,
    tags=["admin"],
    guards=[requires_admin],
    opt=requires_scope(ApiScope.ADMIN),
    summary="Delete a user and all their data",
    description=prose("""
        The same erasure as `DELETE /api/auth/me`, without a password. The last active admin cannot be deleted
        (409 `last-admin`).
    """),
    responses=problems(401, 403, 404, 409),
)
async def erase_user(user_id: FromPath[uuid.UUID], account_service: NamedDependency[AccountService]) -> None:
    await account_service.erase(user_id)


ACCOUNT_ROUTES = [erase_own_account, export_own_account, erase_user]
