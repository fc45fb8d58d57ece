"""Exports on both databases: every format parsed back, formula injection, scope, streaming."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl.utils.escape import unescape
from sqlalchemy import insert

from aiclone.activities.models import Activity
from aiclone.analytics.export import ExportService
from aiclone.analytics.schemas import DataType, DateRange, ExportFormat, ExportRequest
from aiclone.analytics.sources import ACTIVITIES, EXPORT_SOURCES
from aiclone.app import create_app
from aiclone.container import Services
from aiclone.errors import TooManyRequests
from aiclone.events.types import EventType
from aiclone.research.models import ResearchTask
from aiclone.settings import Settings
from aiclone.shared_tables import DELIVERY_FAILED, DELIVERY_SUCCEEDED, webhook_deliveries
from aiclone.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.conftest import make_settings
from tests.support.analytics_flows import insert_deliveries, run_flows
from tests.support.factories import UserFactory

Client = AsyncTestClient[Litestar]
UTC = dt.UTC
START, END = "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"
HEADER = ["id", "created_at", "type", "title", "message", "link", "source_seq", "metadata"]

TRICKY_TITLES = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR", "safe = text"]
NEUTRALISED = ["'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A2)", "'\tTAB", "'\rCR", "safe = text"]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


async def insert_activities(services: Services, user_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    defaults = {"type": "prospect_added", "message": "", "link": None, "meta": {}, "source_seq": None}
    async with services.db.session() as session:
        await session.execute(insert(Activity), [{**defaults, "user_id": user_id, **row} for row in rows])


async def seed_standard(services: Services, user_id: uuid.UUID) -> None:
    rows: list[dict[str, Any]] = [
        {"title": "too early", "created_at": at("2024-12-31T23:59:59.999999")},
        {"title": "first", "created_at": at("2025-01-01T00:00:00"), "link": "/prospects/1", "source_seq": 7},
    ]
    rows += [
        {"title": title, "created_at": at("2025-01-10T00:00:00") + dt.timedelta(minutes=i), "source_seq": i}
        for i, title in enumerate(TRICKY_TITLES)
    ]
    rows += [
        {
            "title": 'comma, "quotes"\nand a newline',
            "message": "ünïcødé ✓",
            "type": "outreach_sent",
            "meta": {"event_type": "outreach_sent", "seq": 3, "nested": [1, None]},
            "created_at": at("2025-01-20T12:00:00"),
        },
        {"title": "too late", "created_at": at("2025-02-01T00:00:00")},
    ]
    await insert_activities(services, user_id, rows)


async def post_export(client: Client, headers: dict[str, str], **overrides: Any) -> Any:
    body: dict[str, Any] = {
        "data_type": "activities",
        "format": "csv",
        "date_range": {"start": START, "end": END},
        **overrides,
    }
    return await client.post("/api/analytics/export", json=body, headers=headers)


def parse_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def test_what_analytics_reads_of_the_delivery_table_is_the_table_itself() -> None:
    # Analytics reads webhook_deliveries through a plain description (it may not import webhooks).
    table = WebhookDelivery.__table__
    for column in webhook_deliveries.c:
        assert column.name in table.c, column.name
        assert isinstance(table.c[column.name].type, type(column.type)), column.name
    assert (DeliveryStatus.SUCCEEDED.value, DeliveryStatus.FAILED.value) == (
        DELIVERY_SUCCEEDED,
        DELIVERY_FAILED,
    )


async def test_csv_round_trip_header_order_range_and_formula_neutralisation(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    await seed_standard(services, user.id)
    response = await post_export(client, user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="aiclone-activities-20250101T000000Z-20250201T000000Z.csv"'
    )
    assert b"\r\n" in response.content
    assert not response.content.startswith(b"\xef\xbb\xbf")
    rows = parse_csv(response.content)
    assert rows[0] == HEADER
    records = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    assert [r["title"] for r in records] == ["first", *NEUTRALISED, 'comma, "quotes"\nand a newline']
    first = records[0]
    assert first["created_at"] == "2025-01-01T00:00:00.000000Z"
    assert first["link"] == "/prospects/1"
    assert first["source_seq"] == "7"
    uuid.UUID(first["id"])
    last = records[-1]
    assert last["message"] == "ünïcødé ✓"
    assert last["link"] == ""
    assert json.loads(last["metadata"]) == {"event_type": "outreach_sent", "seq": 3, "nested": [1, None]}


async def test_json_and_ndjson_keep_values_typed_and_unchanged(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    await seed_standard(services, user.id)
    as_json = await post_export(client, user.headers, format="json")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.headers["content-disposition"].endswith('.json"')
    items = json.loads(as_json.content)
    assert [i["title"] for i in items] == ["first", *TRICKY_TITLES, 'comma, "quotes"\nand a newline']
    assert items[0]["source_seq"] == 7
    assert items[0]["created_at"] == "2025-01-01T00:00:00Z"
    assert items[-1]["metadata"] == {"event_type": "outreach_sent", "seq": 3, "nested": [1, None]}
    assert list(items[0]) == HEADER

    as_ndjson = await post_export(client, user.headers, format="ndjson")
    assert as_ndjson.headers["content-type"] == "application/x-ndjson"
    lines = as_ndjson.content.decode().splitlines()
    assert [json.loads(line) for line in lines] == items

    empty = await post_export(
        client,
        user.headers,
        format="json",
        date_range={"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z"},
    )
    assert json.loads(empty.content) == []
    empty_csv = await post_export(
        client, user.headers, date_range={"start": "2030-01-01T00:00:00Z", "end": "2030-02-01T00:00:00Z"}
    )
    assert parse_csv(empty_csv.content) == [HEADER]


async def test_xlsx_has_typed_cells_header_frozen_pane_and_no_formulas(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    await seed_standard(services, user.id)
    before = set(Path(tempfile.gettempdir()).glob("aiclone-export-*"))
    response = await post_export(client, user.headers, format="xlsx")
    assert response.status_code == 200
    assert (
        response.headers["content-type"]
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"].endswith('.xlsx"')
    assert set(Path(tempfile.gettempdir()).glob("aiclone-export-*")) == before  # temp files removed
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["activities"]
    sheet = book["activities"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header == HEADER
    assert all(c.font.b for c in sheet[1])
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 2 + len(TRICKY_TITLES)
    first = dict(zip(HEADER, rows[0], strict=True))
    assert first["created_at"].value == dt.datetime(2025, 1, 1)
    assert first["created_at"].is_date
    assert first["source_seq"].value == 7
    assert first["source_seq"].data_type == "n"
    assert first["title"].value == "first"
    tricky = [row[HEADER.index("title")] for row in rows[1:-1]]
    # XLSX stores control characters as _xHHHH_ escapes (ECMA-376), which Excel decodes and
    # openpyxl leaves as they are.
    assert [unescape(c.value) for c in tricky] == TRICKY_TITLES
    assert all(c.data_type == "s" for c in tricky)
    last = dict(zip(HEADER, rows[-1], strict=True))
    assert last["link"].value is None
    assert json.loads(last["metadata"].value)["seq"] == 3


async def test_all_gives_every_table_in_each_format(
    client: Client, users: UserFactory, services: Services
) -> None:
    user = await users.create()
    await seed_standard(services, user.id)
    names = list(EXPORT_SOURCES)

    xlsx = await post_export(client, user.headers, data_type="all", format="xlsx")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames == names
    as_json = await post_export(client, user.headers, data_type="all", format="json")
    document = json.loads(as_json.content)
    assert list(document) == names
    assert len(document["activities"]) == 9
    ndjson = await post_export(client, user.headers, data_type="all", format="ndjson")
    lines = [json.loads(line) for line in ndjson.content.decode().splitlines()]
    assert {line["data_type"] for line in lines} == {"activities"}
    assert len(lines) == 9
    zipped = await post_export(client, user.headers, data_type="all", format="csv")
    assert zipped.headers["content-type"] == "application/zip"
    assert zipped.headers["content-disposition"] == (
        'attachment; filename="aiclone-all-20250101T000000Z-20250201T000000Z.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert archive.namelist() == [f"{name}.csv" for name in names]
    rows = parse_csv(archive.read("activities.csv"))
    assert rows[0] == HEADER
    assert len(rows) == 10


async def test_filters_scope_and_isolation(client: Client, users: UserFactory, services: Services) -> None:
    alice, bob = await users.create(), await users.create()
    admin = await users.create(admin=True)
    await seed_standard(services, alice.id)
    # Bob's line comes from a real event through the feed hook.
    async with services.db.session() as session:
        await services.events.record(
            session, user_id=bob.id, type=EventType.PROSPECT_ADDED, data={"id": "p", "name": "=BOB()"}
        )
    now = dt.datetime.now(UTC)
    window = {
        "start": (now - dt.timedelta(days=1)).isoformat(),
        "end": (now + dt.timedelta(days=1)).isoformat(),
    }

    filtered = await post_export(client, alice.headers, format="json", filters={"type": ["outreach_sent"]})
    assert [i["type"] for i in json.loads(filtered.content)] == ["outreach_sent"]
    several = await post_export(
        client, alice.headers, format="json", filters={"type": ["outreach_sent", "prospect_added"]}
    )
    assert len(json.loads(several.content)) == 9

    bobs = json.loads((await post_export(client, bob.headers, format="json", date_range=window)).content)
    assert [i["message"] for i in bobs] == ["=BOB()"]
    assert json.loads((await post_export(client, bob.headers, format="json")).content) == []
    alices_now = json.loads(
        (await post_export(client, alice.headers, format="json", date_range=window)).content
    )
    assert alices_now == []

    as_admin = await post_export(client, admin.headers, format="json", user_id=str(alice.id))
    assert len(json.loads(as_admin.content)) == 9
    assert (await post_export(client, bob.headers, user_id=str(alice.id))).status_code == 403
    assert (await client.post("/api/analytics/export", json={})).status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_range": {"start": "2025-01-01T00:00:00", "end": END}}, "date_range.start"),
        ({"date_range": {"start": START, "end": "2025-02-01T00:00:00"}}, "date_range.end"),
        ({"date_range": {"start": END, "end": START}}, "date_range.end"),
        ({"date_range": {"start": START, "end": START}}, "date_range.end"),
        ({"date_range": {"start": "0001-01-01T00:00:00+01:00", "end": END}}, "date_range.start"),
        ({"date_range": {"start": "2024-01-01T00:00:00Z", "end": "2025-01-02T00:00:01Z"}}, "date_range"),
        ({"filters": {"nope": ["x"]}}, "filters"),
        ({"data_type": "unregistered"}, "data_type"),
        ({"data_type": "planets"}, "data_type"),
        ({"format": "pdf"}, "format"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_invalid_requests_are_422_with_the_field(
    client: Client, users: UserFactory, overrides: dict[str, Any], field: str
) -> None:
    if overrides.get("data_type") == "unregistered":
        missing = [t.value for t in DataType if t is not DataType.ALL and t.value not in EXPORT_SOURCES]
        if not missing:
            pytest.skip("every data type is exportable on this installation")
        overrides = {"data_type": missing[0]}
    user = await users.create()
    response = await post_export(client, user.headers, **overrides)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field) for f in fields), fields


async def test_admins_may_export_longer_ranges(client: Client, users: UserFactory) -> None:
    admin = await users.create(admin=True)
    long_range = {"start": "2020-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    response = await post_export(client, admin.headers, date_range=long_range)
    assert response.status_code == 200
    assert parse_csv(response.content) == [HEADER]


async def test_concurrent_export_limit_and_release(services: Services, users: UserFactory) -> None:
    user = await users.create()
    await insert_activities(services, user.id, [{"title": "x", "created_at": at("2025-01-05T00:00:00")}])
    exports = ExportService(services.db, max_concurrent=1)
    request = ExportRequest(
        data_type=DataType.ACTIVITIES,
        format=ExportFormat.CSV,
        date_range=DateRange(start=at(START[:-1]), end=at(END[:-1])),
    )
    first = exports.start(user.id, request, unbounded=False)
    assert (await first.body.__anext__()).startswith(b"id,created_at")
    with pytest.raises(TooManyRequests) as refused:
        exports.start(user.id, request, unbounded=False)
    assert refused.value.retry_after is not None  # sent as Retry-After, like every 429
    await first.body.aclose()  # e.g. the client went away
    assert exports.active == 0
    second = exports.start(user.id, request, unbounded=False)
    assert len(parse_csv(b"".join([chunk async for chunk in second.body]))) == 2


@contextlib.asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[int]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


async def read_chunked(
    port: int, path: str, headers: dict[str, str], body: bytes
) -> tuple[dict[str, str], list[bytes]]:
    """One HTTP/1.1 request; the response's transfer-encoding chunks exactly as the server sent them."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    response_headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        response_headers[name.strip().lower()] = value.strip()
    assert response_headers.get("transfer-encoding") == "chunked"
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            break
        chunks.append(await reader.readexactly(size))
        assert await reader.readexactly(2) == b"\r\n"
    writer.close()
    return response_headers, chunks


async def test_a_few_thousand_rows_stream_in_batches(
    users: UserFactory, services: Services, database_url: str, tmp_path: Path
) -> None:
    user = await users.create()
    base = at("2025-01-02T00:00:00")
    await insert_activities(
        services,
        user.id,
        [
            {"title": f"row {i}", "created_at": base + dt.timedelta(seconds=i // 3), "source_seq": i}
            for i in range(3500)
        ],
    )
    settings = make_settings(database_url, tmp_path, run_workers=False)
    body = json.dumps(
        {"data_type": "activities", "format": "csv", "date_range": {"start": START, "end": END}}
    )
    async with running_server(settings) as port:
        headers, chunks = await asyncio.wait_for(
            read_chunked(
                port,
                "/api/analytics/export",
                {"Authorization": f"Bearer {user.access_token}", "Content-Type": "application/json"},
                body.encode(),
            ),
            timeout=60,
        )
    assert headers["content-type"] == "text/csv; charset=utf-8"
    # The header row, then one chunk per batch of 1000 rows.
    assert len(chunks) == 5
    rows = parse_csv(b"".join(chunks))
    assert len(rows) == 3501
    # Keyset batches on SQLite / the cursor on PostgreSQL: every row once, in (created_at, id) order.
    seqs = [int(r[HEADER.index("source_seq")]) for r in rows[1:]]
    assert sorted(seqs) == list(range(3500))
    created = [r[1] for r in rows[1:]]
    assert created == sorted(created)


async def test_research_tasks_export_with_filters(
    client: Client, users: UserFactory, services: Services
) -> None:
    user, other = await users.create(), await users.create()
    base = {
        "input_source": "acme.example",
        "source_type": "keywords",
        "engine": "web",
        "priority": "medium",
        "priority_rank": 1,
    }
    async with services.db.session() as session:
        await session.execute(
            insert(ResearchTask),
            [
                {
                    **base,
                    "user_id": user.id,
                    "title": "=2*3",
                    "status": "done",
                    "progress": 100,
                    "insight": {"summary": "ok", "signals": ["a"]},
                    "created_at": at("2025-01-03T00:00:00"),
                    "updated_at": at("2025-01-03T00:05:00"),
                    "completed_at": at("2025-01-03T00:05:00"),
                },
                {
                    **base,
                    "user_id": user.id,
                    "title": "second",
                    "status": "failed",
                    "error": "timeout",
                    "created_at": at("2025-01-04T00:00:00"),
                    "updated_at": at("2025-01-04T00:00:00"),
                },
                {
                    **base,
                    "user_id": other.id,
                    "title": "not yours",
                    "status": "done",
                    "created_at": at("2025-01-04T00:00:00"),
                    "updated_at": at("2025-01-04T00:00:00"),
                },
            ],
        )
    rows = parse_csv((await post_export(client, user.headers, data_type="research_tasks")).content)
    assert rows[0][:4] == ["id", "created_at", "updated_at", "title"]
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["title"] for r in records] == ["'=2*3", "second"]
    assert records[0]["progress"] == "100"
    assert records[0]["completed_at"] == "2025-01-03T00:05:00.000000Z"
    assert json.loads(records[0]["insight"]) == {"summary": "ok", "signals": ["a"]}
    assert records[1]["insight"] == ""
    done = json.loads(
        (
            await post_export(
                client, user.headers, data_type="research_tasks", format="json", filters={"status": ["done"]}
            )
        ).content
    )
    assert [t["title"] for t in done] == ["=2*3"]
    book = openpyxl.load_workbook(
        io.BytesIO((await post_export(client, user.headers, data_type="all", format="xlsx")).content)
    )
    assert book.sheetnames == list(EXPORT_SOURCES)
    tasks = book["research_tasks"]
    assert [c.value for c in tasks[2]][3] == "=2*3"
    assert tasks.max_row == 3
    # A filter only some tables have applies to those; one no table has is refused.
    both = json.loads(
        (
            await post_export(
                client, user.headers, data_type="all", format="json", filters={"status": ["failed"]}
            )
        ).content
    )
    assert [t["title"] for t in both["research_tasks"]] == ["second"]
    assert both["activities"] == []


async def test_prospects_outreach_and_content_exports(client: Client, users: UserFactory) -> None:
    user, other = await users.create(), await users.create()
    flows = await run_flows(client, user.headers)
    await run_flows(client, other.headers)
    now = dt.datetime.now(UTC)
    window = {
        "start": (now - dt.timedelta(hours=1)).isoformat(),
        "end": (now + dt.timedelta(hours=1)).isoformat(),
    }

    rows = parse_csv(
        (await post_export(client, user.headers, data_type="prospects", date_range=window)).content
    )
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["id"] for r in records] == [p["id"] for p in flows.prospects]
    assert records[2]["name"] == '\'=HYPERLINK("http://x","y")'
    assert records[2]["company"] == "'+Evil"
    assert [r["approval_status"] for r in records] == ["approved", "approved", "pending"]
    assert json.loads(records[0]["tags"]) == ["a"]
    assert "email_normalized" not in rows[0]
    approved = await post_export(
        client,
        user.headers,
        data_type="prospects",
        format="json",
        date_range=window,
        filters={"approval_status": ["approved"]},
    )
    assert [p["name"] for p in json.loads(approved.content)] == ["Ada", "Grace"]

    book = openpyxl.load_workbook(
        io.BytesIO(
            (
                await post_export(
                    client, user.headers, data_type="outreach", format="xlsx", date_range=window
                )
            ).content
        )
    )
    sheet = book["outreach"]
    header = [c.value for c in sheet[1]]
    message = dict(zip(header, sheet[2], strict=True))
    assert sheet.max_row == 2
    assert message["id"].value == flows.outreach["id"]
    assert message["meeting_booked"].value is True
    assert message["meeting_booked"].data_type == "b"
    assert message["subject"].value == "-Hello"
    assert message["subject"].data_type == "s"
    assert message["sent_at"].is_date

    content = json.loads(
        (
            await post_export(client, user.headers, data_type="content", format="ndjson", date_range=window)
        ).content
    )
    assert content == {
        **{k: flows.content[k] for k in ("id", "title", "body", "channel", "tags", "status")},
        "created_at": content["created_at"],
        "updated_at": content["updated_at"],
        "published_at": content["published_at"],
    }
    assert content["title"] == "@launch"
    outreach_csv = parse_csv(
        (await post_export(client, user.headers, data_type="outreach", date_range=window)).content
    )
    assert dict(zip(outreach_csv[0], outreach_csv[1], strict=True))["meeting_booked"] == "true"


async def test_webhook_deliveries_export(client: Client, users: UserFactory, services: Services) -> None:
    user, other = await users.create(), await users.create()
    created = at("2025-01-05T10:00:00")
    await insert_deliveries(
        services,
        user.id,
        [
            {
                "status": "succeeded",
                "created_at": created,
                "finished_at": created,
                "last_status_code": 204,
                "attempts": 1,
            },
            {
                "status": "failed",
                "created_at": created + dt.timedelta(minutes=1),
                "last_error": "=timeout",
                "attempts": 8,
            },
            {
                "status": "succeeded",
                "created_at": created + dt.timedelta(minutes=2),
                "is_test": True,
                "event_seq": None,
            },
        ],
    )
    await insert_deliveries(services, other.id, [{"status": "succeeded", "created_at": created}])
    response = await post_export(client, user.headers, data_type="webhook_deliveries")
    header = parse_csv(response.content)[0]
    records = [dict(zip(header, r, strict=True)) for r in parse_csv(response.content)[1:]]
    assert "payload" not in header
    assert [(r["status"], r["is_test"], r["last_status_code"]) for r in records] == [
        ("succeeded", "false", "204"),
        ("failed", "false", ""),
        ("succeeded", "true", ""),
    ]
    assert records[1]["last_error"] == "'=timeout"
    failed = json.loads(
        (
            await post_export(
                client,
                user.headers,
                data_type="webhook_deliveries",
                format="json",
                filters={"status": ["failed"]},
            )
        ).content
    )
    assert [(d["attempts"], d["is_test"], d["finished_at"]) for d in failed] == [(8, False, None)]


def test_registry_entries_are_consistent() -> None:
    for name, source in EXPORT_SOURCES.items():
        assert name == source.name
        assert source.time in source.names
        assert source.key in source.names
        assert source.filterable <= set(source.names)
        assert len(name) <= 31
    assert ACTIVITIES.column("created_at").kind == "datetime"
