"""The automations API contract and the payload of ``automation_triggered``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from aiclone.events.types import AUTOMATION_TRIGGERS, EventType
from aiclone.fields import Tags
from aiclone.notifications.schemas import Level
from aiclone.research.models import Priority

MAX_CONDITIONS = 10
MAX_SAMPLE_BYTES = 16 * 1024

# Events a rule may react to: the catalogue's AUTOMATION_TRIGGERS, as a Literal so that msgspec
# refuses any other with the list of the known ones and the API document enumerates them. Type
# checkers see the plain string the decoder has already checked.
if TYPE_CHECKING:
    TriggerEvent = str
else:
    TriggerEvent = Literal[tuple(event.value for event in AUTOMATION_TRIGGERS)]
TRIGGER_EVENTS: frozenset[str] = frozenset(event.value for event in AUTOMATION_TRIGGERS)
# Events about a research task: a rule on them may not create research tasks, since the new
# task's own events (recorded by the research worker) would trigger it again, forever.
RESEARCH_EVENTS: frozenset[str] = frozenset(
    {EventType.RESEARCH_COMPLETED.value, EventType.TASK_UPDATE.value, EventType.TASK_COMPLETED.value}
)
Operator = Literal["eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
FieldPath = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        description="Dotted path into the event's `data`, e.g. `company` or `insight.summary`; "
        "a number segment indexes a list (`tags.0`).",
    ),
]
Scalar = str | int | float | bool | None
TitleTemplate = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        description="Text; `{{field.path}}` is replaced by that value of the event's data.",
    ),
]
BodyTemplate = Annotated[
    str, msgspec.Meta(max_length=2000, description="Text with `{{field.path}}` placeholders.")
]


class Condition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``exists`` takes ``true`` (present and not null, the default) or ``false``; ``in`` and
    ``not_in`` take a list; ``gt``…``lte`` a number or a string (compared with values of the
    same kind only); ``contains`` a substring (case-insensitive) or a list item."""

    field: FieldPath
    op: Operator
    value: Scalar | list[Scalar] = None


class NotifyAction(msgspec.Struct, tag="notify", tag_field="type", forbid_unknown_fields=True, kw_only=True):
    """Send the user a notification."""

    title: TitleTemplate
    body: BodyTemplate = ""
    level: Level = "info"


class CreateResearchTaskAction(
    msgspec.Struct, tag="create_research_task", tag_field="type", forbid_unknown_fields=True, kw_only=True
):
    """Queue web research of the event's prospect's website (`urls` task, engine `web`)."""

    priority: Priority = Priority.MEDIUM
    # Without a title: "Research <prospect name>".
    title: TitleTemplate | None = None


class TagProspectAction(
    msgspec.Struct, tag="tag_prospect", tag_field="type", forbid_unknown_fields=True, kw_only=True
):
    """Add and remove tags of the event's prospect (emits ``prospect_updated`` if they change)."""

    add: Tags = msgspec.field(default_factory=list)
    remove: Tags = msgspec.field(default_factory=list)


Action = NotifyAction | CreateResearchTaskAction | TagProspectAction


class AutomationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    trigger_event: TriggerEvent
    action: Action
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=MAX_CONDITIONS)] = msgspec.field(
        default_factory=list
    )
    enabled: bool = True


class AutomationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields present change; ``conditions`` and ``action`` are replaced whole."""

    name: Name | UnsetType = UNSET
    trigger_event: TriggerEvent | UnsetType = UNSET
    action: Action | UnsetType = UNSET
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=MAX_CONDITIONS)] | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


class AutomationRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    enabled: bool
    trigger_event: str
    conditions: list[Condition]
    action: Action
    run_count: int
    last_run_at: dt.datetime | None
    failure_count: int
    last_error: str | None
    last_failed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class AutomationPage(msgspec.Struct):
    items: list[AutomationRead]
    next_cursor: str | None = None


class TriggerRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    data: dict[str, Any] = msgspec.field(default_factory=dict)


# Event payloads ---------------------------------------------------------------------------


class AutomationTriggeredData(msgspec.Struct, kw_only=True):
    """``automation_triggered``: a rule ran its action successfully.

    ``trigger_seq`` is the seq of the event that matched (``None`` for a manual run);
    ``result`` names what the action made (``notification_id``, ``task_id``, or the prospect
    and its tag changes). The action's own events carry ``by_automation: true``.
    """

    automation_id: uuid.UUID
    automation_name: str
    action: str
    summary: str
    trigger_event: str
    trigger_seq: int | None
    manual: bool
    result: dict[str, Any]


class TriggerResult(msgspec.Struct, kw_only=True):
    """Outcome of a manual run: ``ok`` with the ``automation_triggered`` event it wrote, or
    ``failed`` with the reason (also recorded on the rule)."""

    status: Literal["ok", "failed"]
    error: str | None = None
    # Whether the sample data would have matched the conditions (they are not applied here).
    conditions_matched: bool
    event_seq: int | None = None
    event: AutomationTriggeredData | None = None
    automation: AutomationRead


EVENT_PAYLOADS: dict[str, type[msgspec.Struct]] = {
    EventType.AUTOMATION_TRIGGERED.value: AutomationTriggeredData,
}
