from __future__ import annotations

import datetime as dt

from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from aiclone.auth.handlers import ORDERED_PAGE, DomainController, Resource, defaulted, optional
from aiclone.auth.owner import Owner
from aiclone.openapi import problems, prose
from aiclone.prospects.schemas import (
    ApprovalStatusName,
    ProspectBulkCreate,
    ProspectBulkStatus,
    ProspectBulkStatusResult,
    ProspectCreate,
    ProspectList,
    ProspectPage,
    ProspectRead,
    ProspectSort,
    ProspectUpdate,
)
from aiclone.prospects.service import ProspectService

prospects = Resource("prospect_service", ProspectService, "prospect_id", read=ProspectRead)


class ProspectController(DomainController, domain="prospects"):
    path = "/api/prospects"

    create_prospect = prospects.create(
        ProspectCreate,
        summary="Create a prospect",
        description="Emits `prospect_added`. The email, when given, must be unique for the user (any case).",
        responses=problems(401, 403, 404, 409, 413, 422),
    )

    @post(
        "/bulk",
        status_code=HTTP_201_CREATED,
        summary="Create many prospects at once",
        description=prose("""
            All or nothing: every item is validated first and errors are reported per item (`items[3].email`).
            A duplicate email, stored or within the batch, is a 409. Emits one `prospect_added` per prospect,
            in order.
        """),
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    async def create_prospects(
        self,
        owner: Owner,
        data: JSONBody[ProspectBulkCreate],
        prospect_service: NamedDependency[ProspectService],
    ) -> ProspectList:
        items = await prospect_service.create_many(owner, data.items)
        return ProspectList(items=items)

    @post(
        "/bulk-status",
        status_code=HTTP_200_OK,
        summary="Approve or reject many prospects",
        description=prose("""
            Ids that are not the user's prospects come back in `not_found` and nothing happens to them. Emits
            `prospect_updated` (reason `approved`/`rejected`) per changed prospect.
        """),
        responses=problems(401, 403, 413, 422),
    )
    async def set_prospects_status(
        self,
        owner: Owner,
        data: JSONBody[ProspectBulkStatus],
        prospect_service: NamedDependency[ProspectService],
    ) -> ProspectBulkStatusResult:
        return await prospect_service.set_status(owner, data.ids, data.status)

    list_prospects = prospects.list(
        ProspectPage,
        query={
            "status": optional(ApprovalStatusName),
            "q": optional(str, max_length=200, description="Text search."),
            "min_score": optional(int, ge=0, le=100, description="Minimum fit_score."),
            "tag": optional(str, max_length=50, description="Has this tag."),
            "created_after": optional(dt.datetime, description="Inclusive."),
            "created_before": optional(dt.datetime, description="Exclusive."),
            "sort": defaulted(ProspectSort, "created_at"),
            **ORDERED_PAGE,
        },
        summary="List prospects",
        description=prose("""
            Filters combine with AND. `q` matches name, company or email (case-insensitive substring). Keyset
            pagination: pass `next_cursor` back as `cursor` with the same sort and order.
        """),
        responses=problems(401, 403, 422),
    )

    get_prospect = prospects.get(summary="Get a prospect", responses=problems(401, 403, 404))
    update_prospect = prospects.update(
        ProspectUpdate,
        summary="Change some fields of a prospect",
        description=prose("""
            Only the fields present change; `null` clears an optional field. Emits `prospect_updated` with the
            changed field names (reason `approved`/`rejected` when the status moved there, else `edited`);
            nothing is emitted when no value actually changes.
        """),
        responses=problems(401, 403, 404, 409, 413, 422),
    )
    delete_prospect = prospects.delete(
        summary="Delete a prospect",
        description=prose("""
            Also deletes its outreach messages. Emits `prospect_updated` with reason `deleted` and the
            prospect as it was.
        """),
        responses=problems(401, 403, 404),
    )
