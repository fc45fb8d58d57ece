"""Export file formats, each written batch by batch as the rows arrive.

* CSV: UTF-8 (no BOM), RFC 4180 (comma, CRLF, double quotes doubled), one header row. Each
  batch goes through :mod:`csv` into a small string buffer that is sent and emptied. Several
  tables (``all``) cannot share one CSV, so they come as a ZIP of one CSV per table.
* JSON: one array of objects, streamed (``{"<table>": [...], ...}`` for ``all``). NDJSON: one
  object per line (with a ``data_type`` member for ``all``).
* XLSX: XlsxWriter in constant-memory mode, one sheet per table (continued on "<table> (2)"
  past Excel's 1,048,576 rows), a bold header row, a frozen pane below it, typed cells (numbers,
  booleans, datetimes in UTC, text). XlsxWriter writes a file: it runs in worker threads into a
  private temporary directory, the finished file is streamed out and the directory deleted.

Formula injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
return would run as a formula in a spreadsheet. In CSV such cells get a leading apostrophe
(``'=1+1``), which spreadsheets show as text. In XLSX every text value is written as a string
cell (``write_string``), never a formula, so the value is kept exactly. JSON and NDJSON are not
spreadsheet formats and carry values unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import tempfile
import zipfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import msgspec
from sqlalchemy import String, Text, case, cast, func, literal

from aiclone.analytics.sources import ExportColumn, ExportSource, Kind
from aiclone.zipsink import ZipSink

if TYPE_CHECKING:
    from xlsxwriter.worksheet import Worksheet

Batch = Sequence[Sequence[Any]]
Part = tuple[ExportSource, Callable[[], AsyncIterator[Batch]]]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576
READ_CHUNK = 256 * 1024

_json = msgspec.json.Encoder()


def neutralize(text: str) -> str:
    """The CSV form of a text cell: a leading apostrophe where a spreadsheet would see a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# Fixed width and sortable; the same text whether Python or PostgreSQL renders it.
CSV_DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"
PG_CSV_DATETIME = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime(CSV_DATETIME)


def _json_text(value: Any) -> str:
    return _json.encode(value).decode()


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


_CSV_CELL: dict[Kind, Callable[[Any], Any] | None] = {
    "str": neutralize,
    "int": None,
    "float": None,
    "bool": _bool_text,
    "datetime": _iso,
    "uuid": str,
    "json": _json_text,
}


def pg_csv_cell(column: ExportColumn) -> Any:
    """The CSV text of a cell as a PostgreSQL expression (same text as the Python path).

    Rendering in the database spares Python a conversion per cell, which is most of the cost of
    a large CSV export; the csv module then only quotes.
    """
    expr = column.expr
    if column.kind == "str":
        return case((func.substr(expr, 1, 1).in_(FORMULA_PREFIXES), literal("'", String) + expr), else_=expr)
    if column.kind == "datetime":
        return func.to_char(func.timezone("UTC", expr), PG_CSV_DATETIME)
    if column.kind == "bool":
        return case((expr.is_(True), "true"), (expr.is_(False), "false"))
    # int, float, uuid, json: PostgreSQL's text form (JSON with its own spacing).
    return cast(expr, Text)


def _csv_rows(source: ExportSource) -> Callable[[Batch], list[list[Any]]]:
    converters = [_CSV_CELL[c.kind] for c in source.columns]
    if all(c is None for c in converters):
        return lambda batch: [list(row) for row in batch]

    def convert(batch: Batch) -> list[list[Any]]:
        return [
            [v if f is None or v is None else f(v) for f, v in zip(converters, row, strict=True)]
            for row in batch
        ]

    return convert


class _CsvText:
    """A csv.writer over a string buffer that is handed out and emptied after every batch."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def take(self) -> bytes:
        data = self.buffer.getvalue().encode()
        self.buffer.seek(0)
        self.buffer.truncate()
        return data


async def csv_stream(part: Part, *, rendered: bool = False) -> AsyncGenerator[bytes, None]:
    """CSV of one table; ``rendered`` rows already hold the cells' text (see :func:`pg_csv_cell`)."""
    source, batches = part
    out = _CsvText()
    convert = _csv_rows(source)
    out.writer.writerow(source.names)
    yield out.take()
    async for batch in batches():
        out.writer.writerows(batch if rendered else convert(batch))
        yield out.take()


async def csv_zip_stream(parts: Sequence[Part], *, rendered: bool = False) -> AsyncGenerator[bytes, None]:
    sink = ZipSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for source, batches in parts:
            with archive.open(f"{source.name}.csv", "w", force_zip64=True) as member:
                async for chunk in csv_stream((source, batches), rendered=rendered):
                    member.write(chunk)
                    data = sink.take()
                    if data:
                        yield data
    yield sink.take()


def _objects(source: ExportSource) -> Callable[[Batch], list[dict[str, Any]]]:
    names = source.names
    return lambda batch: [dict(zip(names, row, strict=True)) for row in batch]


async def _json_array(part: Part) -> AsyncGenerator[bytes, None]:
    source, batches = part
    to_objects = _objects(source)
    first = True
    yield b"["
    async for batch in batches():
        if not batch:
            continue
        body = _json.encode(to_objects(batch))[1:-1]
        yield body if first else b"," + body
        first = False
    yield b"]"


async def json_stream(parts: Sequence[Part], *, keyed: bool) -> AsyncGenerator[bytes, None]:
    if not keyed:
        async for chunk in _json_array(parts[0]):
            yield chunk
        return
    for i, part in enumerate(parts):
        yield (b"{" if i == 0 else b",") + _json.encode(part[0].name) + b":"
        async for chunk in _json_array(part):
            yield chunk
    yield b"}" if parts else b"{}"


async def ndjson_stream(parts: Sequence[Part], *, tagged: bool) -> AsyncGenerator[bytes, None]:
    for source, batches in parts:
        to_objects = _objects(source)
        async for batch in batches():
            objects = to_objects(batch)
            if tagged:
                objects = [{"data_type": source.name, **o} for o in objects]
            if objects:
                yield _json.encode_lines(objects)


class XlsxBook:
    """One workbook being written (called from worker threads, one call at a time)."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter  # noqa: PLC0415 - only exports load it, not every start-up

        self.workbook = xlsxwriter.Workbook(
            str(path),
            {"constant_memory": True, "remove_timezone": True, "tmpdir": str(path.parent)},
        )
        self.header_format = self.workbook.add_format({"bold": True})
        self.datetime_format = self.workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.source: ExportSource | None = None
        self.sheet: Worksheet | None = None
        self.sheets_of_source = 0
        self.row = 0

    def start(self, source: ExportSource) -> None:
        self.source = source
        self.sheets_of_source = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        assert self.source is not None
        self.sheets_of_source += 1
        name = (
            self.source.name
            if self.sheets_of_source == 1
            else f"{self.source.name} ({self.sheets_of_source})"
        )
        sheet = self.workbook.add_worksheet(name[:31])
        sheet.freeze_panes(1, 0)
        for col, column in enumerate(self.source.columns):
            width = 20 if column.kind == "datetime" else 38 if column.kind == "uuid" else 16
            sheet.set_column(col, col, width)
            sheet.write_string(0, col, column.name, self.header_format)
        self.sheet = sheet
        self.row = 0

    def write(self, batch: Batch) -> None:
        assert self.source is not None
        assert self.sheet is not None
        kinds = [c.kind for c in self.source.columns]
        for values in batch:
            if self.row + 1 >= XLSX_MAX_ROWS:
                self._new_sheet()
            self.row += 1
            row, sheet = self.row, self.sheet
            for col, (kind, value) in enumerate(zip(kinds, values, strict=True)):
                if value is None:
                    continue
                if kind == "str":
                    sheet.write_string(row, col, value)
                elif kind in ("int", "float"):
                    sheet.write_number(row, col, value)
                elif kind == "datetime":
                    sheet.write_datetime(row, col, value, self.datetime_format)
                elif kind == "bool":
                    sheet.write_boolean(row, col, value)
                elif kind == "uuid":
                    sheet.write_string(row, col, str(value))
                else:
                    sheet.write_string(row, col, _json_text(value))

    def close(self) -> None:
        self.workbook.close()


async def xlsx_stream(parts: Sequence[Part]) -> AsyncGenerator[bytes, None]:
    folder = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, "", "aiclone-export-"))
    try:
        path = folder / "export.xlsx"
        book = await anyio.to_thread.run_sync(XlsxBook, path)
        for source, batches in parts:
            await anyio.to_thread.run_sync(book.start, source)
            async for batch in batches():
                await anyio.to_thread.run_sync(book.write, batch)
        await anyio.to_thread.run_sync(book.close)
        async with await anyio.open_file(path, "rb") as handle:
            while chunk := await handle.read(READ_CHUNK):
                yield chunk
    finally:
        # Also when the client went away and the stream was cancelled.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, folder, True)
