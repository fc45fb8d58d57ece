from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from aiclone.analytics.periods import BucketUnit, TimeRange

Trend = Literal["up", "down", "stable"]


class Period(msgspec.Struct):
    start: dt.datetime
    end: dt.datetime


class Bucket(msgspec.Struct):
    start: dt.datetime
    end: dt.datetime
    # The bucket's start in the requested time zone, with its UTC offset (for labels).
    local_start: str
    count: int


class MetricSummary(msgspec.Struct):
    period_start: dt.datetime
    period_end: dt.datetime
    buckets: list[Bucket]
    total: int
    # total / number of buckets (the current, partial bucket included), rounded to 3 places.
    average: float
    previous_total: int
    # (total - previous_total) / previous_total * 100, rounded to 1 place; null when previous is 0.
    change_percent: float | None
    trend: Trend


class FunnelStage(msgspec.Struct):
    stage: Literal["added", "approved", "contacted", "meeting_booked"]
    count: int
    # count / the previous stage's count * 100 (null for the first stage or a zero previous stage).
    conversion_percent: float | None


class Funnel(msgspec.Struct):
    stages: list[FunnelStage]
    # meeting_booked / added * 100, null when nothing was added.
    overall_conversion_percent: float | None


class DateSpan(msgspec.Struct):
    """Local dates in the summary's time zone, both inclusive."""

    start: dt.date
    end: dt.date


class LlmUsageSummary(msgspec.Struct):
    """Language-model tokens in the period (the ``llm_tokens`` metric split by direction), and
    their cost at ``AICLONE_LLM_PRICE_INPUT_PER_MTOK`` / ``..._OUTPUT_PER_MTOK`` (null when no
    price is set; in the provider's currency, rounded to 6 places)."""

    tokens_in: int
    tokens_out: int
    cost: float | None
    price_input_per_mtok: float | None
    price_output_per_mtok: float | None


class AnalyticsSummary(msgspec.Struct):
    user_id: uuid.UUID
    # The preset period; null for a custom range.
    time_range: TimeRange | None
    # The requested dates of a custom range; null for a preset period.
    custom_range: DateSpan | None
    tz: str
    bucket: BucketUnit
    as_of: dt.datetime
    period: Period
    previous_period: Period
    metrics: dict[str, MetricSummary]
    funnel: Funnel
    llm_usage: LlmUsageSummary | None = None


class DataType(StrEnum):
    PROSPECTS = "prospects"
    ACTIVITIES = "activities"
    RESEARCH_TASKS = "research_tasks"
    OUTREACH = "outreach"
    CONTENT = "content"
    WEBHOOK_DELIVERIES = "webhook_deliveries"
    ALL = "all"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    NDJSON = "ndjson"
    XLSX = "xlsx"


class DateRange(msgspec.Struct, forbid_unknown_fields=True):
    """``start <= time < end``, both with a UTC offset."""

    start: dt.datetime
    end: dt.datetime


FilterValues = Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=100)]


class ExportRequest(msgspec.Struct, forbid_unknown_fields=True):
    data_type: DataType
    format: ExportFormat
    date_range: DateRange
    # Column name -> accepted values (equality; several values mean any of them). Which columns
    # accept filters depends on the data type; see the endpoint description.
    filters: Annotated[dict[str, FilterValues], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=dict
    )
    # Admins only: export another user's data.
    user_id: uuid.UUID | None = None
