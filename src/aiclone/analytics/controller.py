from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from aiclone.analytics.export import MEDIA_TYPES, ZIP_MEDIA_TYPE, ExportService
from aiclone.analytics.export_schema import json_export_schema, ndjson_line_schema
from aiclone.analytics.periods import (
    DAILY_MAX_DAYS,
    DEFAULT_TIME_RANGE,
    HOURLY_MAX_DAYS,
    MAX_RANGE_DAYS,
    TimeRange,
)
from aiclone.analytics.schemas import AnalyticsSummary, ExportFormat, ExportRequest
from aiclone.analytics.service import AnalyticsService
from aiclone.analytics.sources import EXPORT_SOURCES
from aiclone.auth.guards import owner_scope
from aiclone.auth.owner import Owner
from aiclone.auth.scopes import ApiScope, requires_scope
from aiclone.auth.tokens import Principal
from aiclone.openapi import MEDIA_SCHEMAS_OPT_KEY, MEDIA_TYPES_OPT_KEY, problems, prose

_SUMMARY_DESCRIPTION = f"""
Per metric: zero-filled buckets (hour for `day`, day for `week` and `month`, ISO week for
`quarter`, calendar month for `year`) in the time zone `tz`, the total, the average per bucket,
the previous period's total, the change in percent and the trend; and the prospect funnel
(added → approved → contacted → meeting booked) of the prospects added in the period.

The period is the 24 hours / 7 days / 30 days / 13 weeks / 12 months ending with the bucket that
contains now (that bucket is still filling); the previous period is the same number of buckets
just before it. Instead of `time_range`, `start` and `end` (local dates in `tz`, `end` inclusive, both
required, at most {MAX_RANGE_DAYS} days) choose a custom range: buckets by hour up to
{HOURLY_MAX_DAYS} days, by day up to {DAILY_MAX_DAYS} days, else by ISO week, the first and last
week cut at the range's edges; the previous period is the same number of days just before.
Combining them with `time_range` is a 422 naming `time_range`.

Trend: `up` at +10 % or more against the previous period, `down` at -10 % or
less, otherwise `stable`; with a zero previous total it is `up` when anything happened and
`stable` when nothing did, and `change_percent` is null. Computed from counters kept with every
event, so its cost does not depend on the number of events.
"""

_EXPORT_DESCRIPTION = f"""
Streams the rows of one table (or of every table with `all`) whose timestamp lies in
`[date_range.start, date_range.end)` as a download (`Content-Disposition: attachment`).

* `csv` — `text/csv; charset=utf-8`, RFC 4180 with a header row; `all` gives a ZIP of one CSV per table.
* `json` — `application/json`, an array of objects (an object of arrays for `all`).
* `ndjson` — `application/x-ndjson`, one object per line (with `data_type` for `all`).
* `xlsx` — one sheet per table, header row, frozen pane, typed cells.

Text cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading apostrophe in CSV and are
plain string cells in XLSX, so no spreadsheet runs them as formulas. The range may span at most
366 days (admins: any). `filters` maps a column to the accepted values. Tables on this
installation: {", ".join(EXPORT_SOURCES)}; filterable columns:
{"; ".join(f"{s.name}: {', '.join(sorted(s.filterable)) or 'none'}" for s in EXPORT_SOURCES.values())}.
"""


class AnalyticsController(Controller):
    path = "/api/analytics"
    opt = requires_scope(ApiScope.ANALYTICS_READ)
    tags = ["analytics"]

    @get(
        "/summary",
        summary="Metrics, trends and the prospect funnel over a period",
        description=_SUMMARY_DESCRIPTION,
        responses=problems(401, 403, 422),
    )
    async def get_analytics_summary(
        self,
        owner: Owner,
        analytics: NamedDependency[AnalyticsService],
        time_range: Annotated[
            TimeRange | None,
            QueryParameter(
                name="time_range",
                description=f"The period and its buckets; `{DEFAULT_TIME_RANGE}` unless `start`/`end` are given.",
            ),
        ] = None,
        start: Annotated[
            dt.date | None,
            QueryParameter(
                name="start", description="First local date of a custom range (with `end`, not `time_range`)."
            ),
        ] = None,
        end: Annotated[
            dt.date | None,
            QueryParameter(name="end", description="Last local date of a custom range, inclusive."),
        ] = None,
        tz: Annotated[
            str,
            QueryParameter(name="tz", description="IANA time zone of the bucket boundaries.", max_length=64),
        ] = "UTC",
    ) -> AnalyticsSummary:
        return await analytics.summary(owner, time_range=time_range, start=start, end=end, tz=tz)

    @post(
        "/export",
        status_code=HTTP_200_OK,
        opt={
            MEDIA_TYPES_OPT_KEY: [*MEDIA_TYPES.values(), ZIP_MEDIA_TYPE],
            MEDIA_SCHEMAS_OPT_KEY: {
                MEDIA_TYPES[ExportFormat.JSON]: json_export_schema(),
                MEDIA_TYPES[ExportFormat.NDJSON]: ndjson_line_schema(),
            },
        },
        summary="Download data as CSV, JSON, NDJSON or XLSX",
        description=_EXPORT_DESCRIPTION,
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/octet-stream",
                generate_examples=False,
                description=prose("""
                    The file, streamed, as text/csv; charset=utf-8, application/json, application/x-ndjson,
                    application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, or application/zip (CSV
                    of `all`), with `Content-Disposition: attachment;
                    filename="aiclone-<data_type>-<start>-<end>.<ext>"`.
                """),
            ),
            **problems(401, 403, 413, 422, 429),
        },
    )
    async def export_analytics(
        self,
        request: Request[Principal, str, Any],
        exports: NamedDependency[ExportService],
        data: JSONBody[ExportRequest],
    ) -> Stream:
        download = exports.start(
            owner_scope(request.user, data.user_id), data, unbounded=request.user.is_admin
        )
        return Stream(
            download.body,
            media_type=download.media_type,
            headers={
                "Content-Disposition": download.content_disposition,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
