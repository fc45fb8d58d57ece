"""The registry of exportable tables.

Each :class:`ExportSource` is a SQLAlchemy Core select of one table's columns (each with the kind
that decides how it is written: typed XLSX cells, JSON values, CSV text), the column that scopes
it to a user, the timestamp the date range applies to and the unique key that, with that
timestamp, gives rows a total order for batching. Exporting another table is one more entry in
:data:`EXPORT_SOURCES`; the table needs an index leading with ``(user_id, <time>)``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Select, select, tuple_

from aiclone.activities.models import Activity
from aiclone.content.models import ContentItem
from aiclone.outreach.models import OutreachMessage
from aiclone.prospects.models import Prospect
from aiclone.research.models import ResearchTask
from aiclone.shared_tables import webhook_deliveries

Kind = Literal["str", "int", "float", "bool", "datetime", "uuid", "json"]


@dataclass(frozen=True)
class ExportColumn:
    name: str
    kind: Kind
    expr: Any


@dataclass(frozen=True)
class ExportSource:
    name: str
    columns: tuple[ExportColumn, ...]
    user_column: Any
    # Names of two of the columns: the date range applies to ``time``; (time, key) orders rows.
    time: str = "created_at"
    key: str = "id"
    # Columns that accept equality filters (text columns).
    filterable: frozenset[str] = field(default_factory=frozenset)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ExportColumn:
        return next(c for c in self.columns if c.name == name)

    def position(self, name: str) -> int:
        return self.names.index(name)

    def select(
        self,
        user_id: uuid.UUID,
        start: dt.datetime,
        end: dt.datetime,
        filters: Mapping[str, Sequence[str]],
        after: tuple[Any, Any] | None = None,
        render: Callable[[ExportColumn], Any] | None = None,
    ) -> Select[Any]:
        """The rows of one user in ``[start, end)``, in (time, key) order.

        ``render`` turns each column into the expression selected (the CSV text of the cell,
        computed by the database, for instance); by default the column's own value.
        """
        time, key = self.column(self.time).expr, self.column(self.key).expr
        selected = [c.expr if render is None else render(c).label(c.name) for c in self.columns]
        query = select(*selected).where(self.user_column == user_id, time >= start, time < end)
        for name, values in filters.items():
            if name in self.filterable:
                query = query.where(self.column(name).expr.in_(list(values)))
        if after is not None:
            query = query.where(tuple_(time, key) > tuple_(*after))
        return query.order_by(time, key)


ACTIVITIES = ExportSource(
    name="activities",
    columns=(
        ExportColumn("id", "uuid", Activity.id),
        ExportColumn("created_at", "datetime", Activity.created_at),
        ExportColumn("type", "str", Activity.type),
        ExportColumn("title", "str", Activity.title),
        ExportColumn("message", "str", Activity.message),
        ExportColumn("link", "str", Activity.link),
        ExportColumn("source_seq", "int", Activity.source_seq),
        ExportColumn("metadata", "json", Activity.meta),
    ),
    user_column=Activity.user_id,
    filterable=frozenset({"type"}),
)

PROSPECTS = ExportSource(
    name="prospects",
    columns=(
        ExportColumn("id", "uuid", Prospect.id),
        ExportColumn("created_at", "datetime", Prospect.created_at),
        ExportColumn("updated_at", "datetime", Prospect.updated_at),
        ExportColumn("name", "str", Prospect.name),
        ExportColumn("email", "str", Prospect.email),
        ExportColumn("phone", "str", Prospect.phone),
        ExportColumn("job_title", "str", Prospect.job_title),
        ExportColumn("company", "str", Prospect.company),
        ExportColumn("website", "str", Prospect.website),
        ExportColumn("linkedin", "str", Prospect.linkedin),
        ExportColumn("discovery_source", "str", Prospect.discovery_source),
        ExportColumn("approval_status", "str", Prospect.approval_status),
        ExportColumn("fit_score", "int", Prospect.fit_score),
        ExportColumn("referral_capacity", "int", Prospect.referral_capacity),
        ExportColumn("signal_strength", "int", Prospect.signal_strength),
        ExportColumn("best_outreach_angle", "str", Prospect.best_outreach_angle),
        ExportColumn("scoring_reasoning", "str", Prospect.scoring_reasoning),
        ExportColumn("tags", "json", Prospect.tags),
        ExportColumn("notes", "str", Prospect.notes),
        ExportColumn("drafts_generated", "int", Prospect.drafts_generated),
        ExportColumn("emails_sent", "int", Prospect.emails_sent),
        ExportColumn("meetings_booked", "int", Prospect.meetings_booked),
        ExportColumn("last_contacted", "datetime", Prospect.last_contacted),
    ),
    user_column=Prospect.user_id,
    filterable=frozenset({"approval_status", "discovery_source", "company"}),
)

OUTREACH = ExportSource(
    name="outreach",
    columns=(
        ExportColumn("id", "uuid", OutreachMessage.id),
        ExportColumn("created_at", "datetime", OutreachMessage.created_at),
        ExportColumn("updated_at", "datetime", OutreachMessage.updated_at),
        ExportColumn("prospect_id", "uuid", OutreachMessage.prospect_id),
        ExportColumn("channel", "str", OutreachMessage.channel),
        ExportColumn("subject", "str", OutreachMessage.subject),
        ExportColumn("body", "str", OutreachMessage.body),
        ExportColumn("status", "str", OutreachMessage.status),
        ExportColumn("sent_at", "datetime", OutreachMessage.sent_at),
        ExportColumn("meeting_booked", "bool", OutreachMessage.meeting_booked),
        ExportColumn("meeting_booked_at", "datetime", OutreachMessage.meeting_booked_at),
    ),
    user_column=OutreachMessage.user_id,
    filterable=frozenset({"channel", "status"}),
)

CONTENT = ExportSource(
    name="content",
    columns=(
        ExportColumn("id", "uuid", ContentItem.id),
        ExportColumn("created_at", "datetime", ContentItem.created_at),
        ExportColumn("updated_at", "datetime", ContentItem.updated_at),
        ExportColumn("title", "str", ContentItem.title),
        ExportColumn("body", "str", ContentItem.body),
        ExportColumn("channel", "str", ContentItem.channel),
        ExportColumn("tags", "json", ContentItem.tags),
        ExportColumn("status", "str", ContentItem.status),
        ExportColumn("published_at", "datetime", ContentItem.published_at),
    ),
    user_column=ContentItem.user_id,
    filterable=frozenset({"channel", "status"}),
)

RESEARCH_TASKS = ExportSource(
    name="research_tasks",
    columns=(
        ExportColumn("id", "uuid", ResearchTask.id),
        ExportColumn("created_at", "datetime", ResearchTask.created_at),
        ExportColumn("updated_at", "datetime", ResearchTask.updated_at),
        ExportColumn("title", "str", ResearchTask.title),
        ExportColumn("input_source", "str", ResearchTask.input_source),
        ExportColumn("source_type", "str", ResearchTask.source_type),
        ExportColumn("engine", "str", ResearchTask.engine),
        ExportColumn("priority", "str", ResearchTask.priority),
        ExportColumn("prospect_id", "uuid", ResearchTask.prospect_id),
        ExportColumn("status", "str", ResearchTask.status),
        ExportColumn("progress", "int", ResearchTask.progress),
        ExportColumn("attempts", "int", ResearchTask.attempts),
        ExportColumn("started_at", "datetime", ResearchTask.started_at),
        ExportColumn("completed_at", "datetime", ResearchTask.completed_at),
        ExportColumn("error", "str", ResearchTask.error),
        ExportColumn("insight", "json", ResearchTask.insight),
        ExportColumn("kind", "str", ResearchTask.kind),
        ExportColumn("output_id", "uuid", ResearchTask.output_id),
        ExportColumn("tokens_in", "int", ResearchTask.tokens_in),
        ExportColumn("tokens_out", "int", ResearchTask.tokens_out),
    ),
    user_column=ResearchTask.user_id,
    filterable=frozenset({"status", "source_type", "priority", "engine"}),
)

_deliveries = webhook_deliveries.c
# The frozen request bodies (payload) are left out: up to the event size limit each.
WEBHOOK_DELIVERIES = ExportSource(
    name="webhook_deliveries",
    columns=(
        ExportColumn("id", "uuid", _deliveries.id),
        ExportColumn("created_at", "datetime", _deliveries.created_at),
        ExportColumn("endpoint_id", "uuid", _deliveries.endpoint_id),
        ExportColumn("event_type", "str", _deliveries.event_type),
        ExportColumn("event_seq", "int", _deliveries.event_seq),
        ExportColumn("is_test", "bool", _deliveries.is_test),
        ExportColumn("status", "str", _deliveries.status),
        ExportColumn("attempts", "int", _deliveries.attempts),
        ExportColumn("retries_used", "int", _deliveries.retries_used),
        ExportColumn("next_attempt_at", "datetime", _deliveries.next_attempt_at),
        ExportColumn("last_attempt_at", "datetime", _deliveries.last_attempt_at),
        ExportColumn("last_status_code", "int", _deliveries.last_status_code),
        ExportColumn("last_error", "str", _deliveries.last_error),
        ExportColumn("finished_at", "datetime", _deliveries.finished_at),
    ),
    user_column=_deliveries.user_id,
    filterable=frozenset({"status", "event_type"}),
)

EXPORT_SOURCES: dict[str, ExportSource] = {
    source.name: source
    for source in (PROSPECTS, ACTIVITIES, RESEARCH_TASKS, OUTREACH, CONTENT, WEBHOOK_DELIVERIES)
}
