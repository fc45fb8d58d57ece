"""Streamed exports: validated up front, then rows flow from the database in batches.

Everything that can be refused (unknown table, bad range, unknown filter, too many exports at
once) is checked in :meth:`ExportService.start`, before the response starts; after that the
body is produced batch by batch, so memory stays flat however many rows there are:

* PostgreSQL: one read transaction with a server-side cursor (``stream`` + ``yield_per``); the
  connection is held for as long as the client takes to download.
* SQLite: keyset batches, each its own short read transaction, so a slow download never holds
  back the WAL checkpoint.

Per batch the CPU work is small (a thousand rows), and XLSX runs in worker threads, so other
requests are served between batches. A per-process limit on concurrent exports keeps them from
taking every database connection; over it the request is refused with 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
from sqlalchemy import Select
from sqlalchemy.engine import Row

from aiclone.analytics.formats import (
    Batch,
    Part,
    csv_stream,
    csv_zip_stream,
    json_stream,
    ndjson_stream,
    pg_csv_cell,
    xlsx_stream,
)
from aiclone.analytics.schemas import DataType, ExportFormat, ExportRequest
from aiclone.analytics.sources import EXPORT_SOURCES, ExportSource
from aiclone.db import Database
from aiclone.errors import FieldError, InvalidInput, TooManyRequests

MAX_RANGE_DAYS = 366

MEDIA_TYPES = {
    # Litestar adds "; charset=utf-8" to text/* types.
    ExportFormat.CSV: "text/csv",
    ExportFormat.JSON: "application/json",
    ExportFormat.NDJSON: "application/x-ndjson",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ZIP_MEDIA_TYPE = "application/zip"


@dataclass
class ExportDownload:
    filename: str
    media_type: str
    body: AsyncIterator[bytes]

    @property
    def content_disposition(self) -> str:
        return f'attachment; filename="{self.filename}"'


def safe_filename(name: str) -> str:
    """Only ``[A-Za-z0-9._-]``, so the header needs no quoting rules and no path can sneak in."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "export"
    return cleaned[:120]


def _invalid(field: str, message: str, detail: str = "The export request is not valid.") -> InvalidInput:
    return InvalidInput(detail, errors=[FieldError(field=field, message=message)])


class ExportService:
    def __init__(self, db: Database, *, batch_size: int = 1000, max_concurrent: int = 4) -> None:
        self.db = db
        self.batch_size = batch_size
        self.max_concurrent = max_concurrent
        self.active = 0

    def sources_for(self, data_type: DataType) -> list[ExportSource]:
        if data_type is DataType.ALL:
            return list(EXPORT_SOURCES.values())
        source = EXPORT_SOURCES.get(data_type.value)
        if source is None:
            available = ", ".join([*EXPORT_SOURCES, "all"])
            raise _invalid("data_type", f"not available on this installation; available: {available}")
        return [source]

    def start(self, user_id: uuid.UUID, request: ExportRequest, *, unbounded: bool) -> ExportDownload:
        start, end = request.date_range.start, request.date_range.end
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None:
                raise _invalid(f"date_range.{name}", "must include a UTC offset, e.g. 2025-01-01T00:00:00Z")
            try:
                value.astimezone(dt.UTC)
            except OverflowError:
                raise _invalid(f"date_range.{name}", "is out of range") from None
        if end <= start:
            raise _invalid("date_range.end", "must be after date_range.start")
        if not unbounded and end - start > dt.timedelta(days=MAX_RANGE_DAYS):
            raise _invalid("date_range", f"may span at most {MAX_RANGE_DAYS} days")
        sources = self.sources_for(request.data_type)
        known = {name for source in sources for name in source.filterable}
        unknown = sorted(set(request.filters) - known)
        if unknown:
            raise _invalid(
                "filters",
                f"unknown filter {', '.join(unknown)}; filterable: {', '.join(sorted(known)) or 'none'}",
            )
        if self.active >= self.max_concurrent:
            raise TooManyRequests("Too many exports are running; try again shortly.", retry_after=5)

        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        # On PostgreSQL the database renders CSV cells; SQLite rows are converted in Python.
        rendered = request.format is ExportFormat.CSV and not self.db.is_sqlite
        parts: list[Part] = [
            (source, partial(self.batches, source, user_id, start, end, request.filters, rendered=rendered))
            for source in sources
        ]
        many = request.data_type is DataType.ALL
        extension = "zip" if many and request.format is ExportFormat.CSV else request.format.value
        filename = safe_filename(
            f"aiclone-{request.data_type.value}-{start:%Y%m%dT%H%M%SZ}-{end:%Y%m%dT%H%M%SZ}.{extension}"
        )
        media_type = ZIP_MEDIA_TYPE if extension == "zip" else MEDIA_TYPES[request.format]
        return ExportDownload(
            filename=filename, media_type=media_type, body=self._body(request.format, parts, many, rendered)
        )

    async def _body(
        self, fmt: ExportFormat, parts: Sequence[Part], many: bool, rendered: bool
    ) -> AsyncIterator[bytes]:
        self.active += 1
        try:
            chunks: AsyncGenerator[bytes, None]
            if fmt is ExportFormat.CSV:
                chunks = (
                    csv_zip_stream(parts, rendered=rendered)
                    if many
                    else csv_stream(parts[0], rendered=rendered)
                )
            elif fmt is ExportFormat.JSON:
                chunks = json_stream(parts, keyed=many)
            elif fmt is ExportFormat.NDJSON:
                chunks = ndjson_stream(parts, tagged=many)
            else:
                chunks = xlsx_stream(parts)
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    if chunk:
                        yield chunk
        finally:
            self.active -= 1

    async def batches(
        self,
        source: ExportSource,
        user_id: uuid.UUID,
        start: dt.datetime,
        end: dt.datetime,
        filters: dict[str, list[str]],
        *,
        rendered: bool = False,
    ) -> AsyncIterator[Batch]:
        own = {k: v for k, v in filters.items() if k in source.filterable}
        if not self.db.is_sqlite:
            render = pg_csv_cell if rendered else None
            async for batch in self._cursor_batches(source.select(user_id, start, end, own, render=render)):
                yield batch
            return
        time_at, key_at = source.position(source.time), source.position(source.key)
        after = None
        while True:
            query = source.select(user_id, start, end, own, after=after).limit(self.batch_size)
            async with self.db.read_session() as session:
                rows: Sequence[Row[object]] = (await session.execute(query)).all()
            if rows:
                yield rows
            if len(rows) < self.batch_size:
                return
            after = (rows[-1][time_at], rows[-1][key_at])

    async def _cursor_batches(self, query: Select[Any]) -> AsyncIterator[Batch]:
        stack = contextlib.AsyncExitStack()
        pending: asyncio.Future[Any] | None = None
        try:
            session = await stack.enter_async_context(self.db.read_session())
            result = await session.stream(query.execution_options(yield_per=self.batch_size))
            partitions = result.partitions()
            # Read one batch ahead: the database prepares the next batch while this one is
            # formatted and sent.
            pending = asyncio.ensure_future(anext(partitions, None))
            while (batch := await pending) is not None:
                pending = asyncio.ensure_future(anext(partitions, None))
                yield batch
            pending = None
        finally:
            # Give the connection back even when the download was cancelled midway; a fetch in
            # flight is let finish (one batch) rather than cut off inside the driver.
            with anyio.CancelScope(shield=True):
                if pending is not None:
                    with contextlib.suppress(Exception):
                        await pending
                await stack.aclose()
