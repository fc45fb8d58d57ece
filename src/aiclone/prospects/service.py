"""Prospect rules: validation beyond the schema, duplicate emails, and change + event in one go.

Every change writes its event in its own transaction: ``prospect_added`` per created prospect,
``prospect_updated`` (with the changed field names and a reason) per changed prospect, including
deletion, whose event carries the prospect as it was. A request that changes nothing (a PATCH
with the current values, approving an approved prospect) writes no event.

Bulk creation is all-or-nothing: every item is checked first and the errors come back together
under ``items[<index>].<field>``; a duplicate email — against stored prospects or within the
batch — is a 409 that names the item.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy.exc import IntegrityError

from aiclone.db import Database, utcnow
from aiclone.errors import Conflict, FieldError, InvalidInput, NotFound, existing
from aiclone.events.log import EventLog
from aiclone.events.types import EventType
from aiclone.fields import check_http_url, clean_text, normalize_email, normalize_tags
from aiclone.keyset import page_of, read_cursor
from aiclone.prospects.changes import record_prospect_updated
from aiclone.prospects.repository import ProspectRepository
from aiclone.prospects.schemas import (
    ApprovalStatusName,
    ProspectBulkStatusResult,
    ProspectCreate,
    ProspectFilters,
    ProspectPage,
    ProspectRead,
    ProspectUpdate,
    UpdateReason,
)

_OPTIONAL_TEXT = (
    "phone",
    "job_title",
    "company",
    "discovery_source",
    "best_outreach_angle",
    "scoring_reasoning",
    "notes",
)
_SORT_TYPES: dict[str, type] = {"created_at": dt.datetime, "fit_score": int, "name": str}
_DUPLICATE = "A prospect with this email already exists."
_NOT_FOUND = "The prospect does not exist."


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Query times without an offset are taken as UTC (the API speaks UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _clean_one(name: str, value: Any, row: dict[str, Any]) -> None:
    """Put the column value(s) of one input field into ``row``; ValueError names the problem."""
    if name == "name":
        row[name] = clean_text(value)
        if row[name] is None:
            raise ValueError("may not be blank")
    elif name == "email":
        row["email"] = row["email_normalized"] = None
        if clean_text(value) is not None:
            row["email"], row["email_normalized"] = normalize_email(value)
    elif name in ("website", "linkedin"):
        row[name] = clean_text(value)
        if row[name] is not None:
            row[name] = check_http_url(row[name], hosts=("linkedin.com",) if name == "linkedin" else ())
    elif name == "tags":
        row[name] = normalize_tags(value)
    elif name in _OPTIONAL_TEXT:
        row[name] = clean_text(value)
    else:
        row[name] = value


def _clean(values: dict[str, Any], prefix: str, errors: list[FieldError]) -> dict[str, Any]:
    """Normalize the given input fields into column values, collecting field errors."""
    row: dict[str, Any] = {}
    for name, value in values.items():
        try:
            _clean_one(name, value, row)
        except ValueError as exc:
            errors.append(FieldError(field=prefix + name, message=str(exc)))
    return row


def _integrity_error(exc: IntegrityError, field: str) -> Exception:
    # The only constraints a validated write can break: the per-user email index (a racing
    # insert got there first) and the owner's foreign key (an admin named a missing user).
    if "email_normalized" in str(exc.orig):
        return Conflict(_DUPLICATE, errors=[FieldError(field=field, message="already used by a prospect")])
    return NotFound("The user does not exist.")


@dataclass(eq=False)
class ProspectService:
    db: Database
    events: EventLog

    async def create(self, user_id: uuid.UUID, data: ProspectCreate) -> ProspectRead:
        (created,) = await self._create(user_id, [data], bulk=False)
        return created

    async def create_many(self, user_id: uuid.UUID, items: Sequence[ProspectCreate]) -> list[ProspectRead]:
        return await self._create(user_id, items, bulk=True)

    async def _create(
        self, user_id: uuid.UUID, items: Sequence[ProspectCreate], *, bulk: bool
    ) -> list[ProspectRead]:
        errors: list[FieldError] = []
        now = utcnow()
        rows: list[dict[str, Any]] = []
        first_with_email: dict[str, int] = {}
        duplicates: list[tuple[int, FieldError]] = []
        for index, item in enumerate(items):
            prefix = f"items[{index}]." if bulk else ""
            row = _clean(msgspec.structs.asdict(item), prefix, errors)
            key = row.get("email_normalized")
            if key is not None:
                if key in first_with_email:
                    message = f"same email as items[{first_with_email[key]}]"
                    duplicates.append((index, FieldError(field=prefix + "email", message=message)))
                else:
                    first_with_email[key] = index
            # One timestamp per request: a bulk import shares its created_at.
            rows.append({**row, "id": uuid.uuid4(), "user_id": user_id, "created_at": now, "updated_at": now})
        if errors:
            raise InvalidInput("One or more fields are invalid.", errors=errors)
        try:
            async with self.db.session() as session:
                repo = ProspectRepository(session)
                # A bulk request looks up stored emails first to name every clashing item; a
                # single prospect leaves it to the unique index (one statement fewer).
                taken = (
                    await repo.taken_emails(user_id, first_with_email) if bulk and first_with_email else set()
                )
                duplicates.extend(
                    (index, FieldError(field=f"items[{index}].email", message="already used"))
                    for key, index in first_with_email.items()
                    if key in taken
                )
                if duplicates:
                    raise Conflict(
                        _DUPLICATE, errors=[error for _, error in sorted(duplicates, key=lambda d: d[0])]
                    )
                created = await repo.insert(rows)
                for prospect in created:
                    await self.events.record(
                        session, user_id=user_id, type=EventType.PROSPECT_ADDED, data=prospect
                    )
        except IntegrityError as exc:
            raise _integrity_error(exc, "items" if bulk else "email") from None
        return created

    async def get(self, user_id: uuid.UUID, prospect_id: uuid.UUID) -> ProspectRead:
        async with self.db.read_connection() as connection:
            return existing(await ProspectRepository(connection).get(user_id, prospect_id), _NOT_FOUND)

    async def update(self, user_id: uuid.UUID, prospect_id: uuid.UUID, data: ProspectUpdate) -> ProspectRead:
        errors: list[FieldError] = []
        given = {
            name: value
            for name in data.__struct_fields__
            if (value := getattr(data, name)) is not msgspec.UNSET
        }
        values = _clean(given, "", errors)
        if errors:
            raise InvalidInput("One or more fields are invalid.", errors=errors)
        try:
            async with self.db.session() as session:
                repo = ProspectRepository(session)
                current = existing(await repo.get(user_id, prospect_id, for_update=True), _NOT_FOUND)
                changed = {
                    name: value
                    for name, value in values.items()
                    if name != "email_normalized" and getattr(current, name) != value
                }
                if not changed:
                    return current
                if "email" in changed:
                    changed["email_normalized"] = values["email_normalized"]
                    key = values["email_normalized"]
                    if key is not None and await repo.taken_emails(user_id, [key], except_id=prospect_id):
                        raise Conflict(_DUPLICATE, errors=[FieldError(field="email", message="already used")])
                (updated,) = await repo.update(user_id, [prospect_id], {**changed, "updated_at": utcnow()})
                names = [name for name in ProspectUpdate.__struct_fields__ if name in changed]
                reason: UpdateReason = "edited"
                if "approval_status" in changed and updated.approval_status in ("approved", "rejected"):
                    reason = "approved" if updated.approval_status == "approved" else "rejected"
                await record_prospect_updated(self.events, session, updated, changes=names, reason=reason)
        except IntegrityError as exc:
            raise _integrity_error(exc, "email") from None
        return updated

    async def delete(self, user_id: uuid.UUID, prospect_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            gone = existing(await ProspectRepository(session).delete(user_id, prospect_id), _NOT_FOUND)
            await record_prospect_updated(self.events, session, gone, changes=[], reason="deleted")

    async def set_status(
        self, user_id: uuid.UUID, ids: Sequence[uuid.UUID], status: str
    ) -> ProspectBulkStatusResult:
        wanted = list(dict.fromkeys(ids))
        reason: UpdateReason = "approved" if status == "approved" else "rejected"
        async with self.db.session() as session:
            repo = ProspectRepository(session)
            found = {p.id: p for p in await repo.get_many_for_update(user_id, wanted)}
            to_change = [i for i in wanted if i in found and found[i].approval_status != status]
            updated = (
                await repo.update(user_id, to_change, {"approval_status": status, "updated_at": utcnow()})
                if to_change
                else []
            )
            for prospect in updated:
                await record_prospect_updated(
                    self.events, session, prospect, changes=["approval_status"], reason=reason
                )
        return ProspectBulkStatusResult(
            updated=updated,
            unchanged=[i for i in wanted if i in found and found[i].approval_status == status],
            not_found=[i for i in wanted if i not in found],
        )

    async def list(
        self,
        user_id: uuid.UUID,
        *,
        status: ApprovalStatusName | None = None,
        q: str | None = None,
        min_score: int | None = None,
        tag: str | None = None,
        created_after: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        sort: str = "created_at",
        order: str = "desc",
        limit: int = 50,
        cursor: str | None = None,
    ) -> ProspectPage:
        """The filters combine with AND; ``q`` and ``tag`` are cleaned (trimmed, ``tag`` lower-cased)
        and naive datetimes read as UTC."""
        sort_name = f"{sort}:{order}"
        after = read_cursor(cursor, sort_name, _SORT_TYPES[sort])
        filters = ProspectFilters(
            status=status,
            q=clean_text(q),
            min_score=min_score,
            tag=(clean_text(tag) or "").lower() or None,
            created_after=_as_utc(created_after),
            created_before=_as_utc(created_before),
        )
        async with self.db.read_connection() as connection:
            rows = await ProspectRepository(connection).find_page(
                user_id, filters, sort=sort, descending=order == "desc", after=after, limit=limit
            )
        items, next_cursor = page_of(
            rows, limit=limit, sort=sort_name, key_of=lambda p: getattr(p, sort), id_of=lambda p: p.id
        )
        return ProspectPage(items=items, next_cursor=next_cursor)
