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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from sqlalchemy import Select, select, tuple_

from aiclone.activities.models import Activity
from aiclone.content.models import ContentItem
from aiclone.outreach.models import OutreachMessage
from aiclone.prospects.models import Prospect
from aiclone.research.models import ResearchTask
from aiclone.shared_tables import webhook_deliveries

Kind = Literal["str", "int", "float", "bool", "datetime", "uuid", "json"]
KINDS: frozenset[str] = frozenset(get_args(Kind))


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


def _columns(model: Any, *specs: str) -> tuple[ExportColumn, ...]:
    """Columns named as attributes of ``model`` (a mapped class, or a table's ``.c``), in order:
    ``"name"`` for text, ``"name:kind"`` for any other kind (``"id:uuid created_at:datetime title"``)."""
    columns = []
    for name, _, kind in (word.partition(":") for spec in specs for word in spec.split()):
        if kind and kind not in KINDS:
            raise ValueError(f"{getattr(model, '__name__', 'table')}.{name}: unknown export kind {kind!r}")
        columns.append(ExportColumn(name, cast(Kind, kind or "str"), getattr(model, name)))
    return tuple(columns)


def _source(
    name: str, model: Any, *specs: str, filterable: Iterable[str] = (), more: Sequence[ExportColumn] = ()
) -> ExportSource:
    """The rows of ``model`` (as in :func:`_columns`) scoped by its ``user_id``: the columns of
    ``specs``, then ``more``."""
    return ExportSource(
        name=name,
        columns=(*_columns(model, *specs), *more),
        user_column=model.user_id,
        filterable=frozenset(filterable),
    )


ACTIVITIES = _source(
    "activities",
    Activity,
    "id:uuid created_at:datetime type title message link source_seq:int",
    more=[ExportColumn("metadata", "json", Activity.meta)],
    filterable={"type"},
)

PROSPECTS = _source(
    "prospects",
    Prospect,
    "id:uuid created_at:datetime updated_at:datetime name email phone job_title company website",
    "linkedin discovery_source approval_status fit_score:int referral_capacity:int",
    "signal_strength:int best_outreach_angle scoring_reasoning tags:json notes drafts_generated:int",
    "emails_sent:int meetings_booked:int last_contacted:datetime",
    filterable={"approval_status", "discovery_source", "company"},
)

OUTREACH = _source(
    "outreach",
    OutreachMessage,
    "id:uuid created_at:datetime updated_at:datetime prospect_id:uuid channel subject body status",
    "sent_at:datetime meeting_booked:bool meeting_booked_at:datetime",
    filterable={"channel", "status"},
)

CONTENT = _source(
    "content",
    ContentItem,
    "id:uuid created_at:datetime updated_at:datetime title body channel tags:json status",
    "published_at:datetime",
    filterable={"channel", "status"},
)

RESEARCH_TASKS = _source(
    "research_tasks",
    ResearchTask,
    "id:uuid created_at:datetime updated_at:datetime title input_source source_type engine priority",
    "prospect_id:uuid status progress:int attempts:int started_at:datetime completed_at:datetime",
    "error insight:json kind output_id:uuid tokens_in:int tokens_out:int",
    filterable={"status", "source_type", "priority", "engine"},
)

# The frozen request bodies (payload) are left out: up to the event size limit each.
WEBHOOK_DELIVERIES = _source(
    "webhook_deliveries",
    webhook_deliveries.c,
    "id:uuid created_at:datetime endpoint_id:uuid event_type event_seq:int is_test:bool status",
    "attempts:int retries_used:int next_attempt_at:datetime last_attempt_at:datetime",
    "last_status_code:int last_error finished_at:datetime",
    filterable={"status", "event_type"},
)

EXPORT_SOURCES: dict[str, ExportSource] = {
    source.name: source
    for source in (PROSPECTS, ACTIVITIES, RESEARCH_TASKS, OUTREACH, CONTENT, WEBHOOK_DELIVERIES)
}
