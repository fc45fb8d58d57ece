"""The account export: a ZIP with one JSON file per owned table and a ``manifest.json``.

Tables and rows come from :mod:`aiclone.accounts.ownership`, so the export covers what erasure
deletes. Secrets never leave: columns whose names say they hold one (``*hash*``, ``*secret*``,
``*sealed*``, ``*password*``: the password hash, refresh-token hashes, sealed webhook signing
secrets) are withheld everywhere, and credential tables (:data:`EXCLUDED_TABLES`) are left
out entirely. The manifest lists both, with the row count of every file and the export time.

Streaming: the rows of each table are read with a server-side cursor in batches of
:data:`BATCH_SIZE`, encoded, and written through a ZIP writer whose output is handed to the
response after every batch, so memory stays flat whatever the size of the account (see
bench/account_export.py). All tables are read in one read transaction: on PostgreSQL it is
``REPEATABLE READ``, on SQLite a deferred WAL read, so the files agree with each other. On
SQLite that transaction holds back the WAL checkpoint while a slow client downloads; exports
are rare and bounded in number (:class:`AccountExports`), which makes that acceptable.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

import msgspec
from sqlalchemy import Column, MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts.ownership import OwnedTable, owned_tables
from aiclone.db import Database, utcnow
from aiclone.zipsink import ZipSink

BATCH_SIZE = 1000
FORMAT_VERSION = 1
SECRET_COLUMN = re.compile(r"hash|secret|sealed|password", re.IGNORECASE)
# Tables that hold nothing but credentials.
# Mails in the outbox may hold single-use links (password reset, address confirmation).
EXCLUDED_TABLES = frozenset({"stream_tickets", "mail_outbox"})

_json = msgspec.json.Encoder()


@dataclass
class Manifest:
    user_id: uuid.UUID
    exported_at: dt.datetime
    tables: dict[str, dict[str, object]] = field(default_factory=dict)

    def encode(self, withheld: dict[str, list[str]]) -> bytes:
        return msgspec.json.format(
            _json.encode(
                {
                    "format_version": FORMAT_VERSION,
                    "user_id": self.user_id,
                    "exported_at": self.exported_at,
                    "tables": self.tables,
                    "withheld_columns": withheld,
                    "excluded_tables": sorted(EXCLUDED_TABLES),
                }
            )
        )


def exported_columns(entry: OwnedTable) -> list[Column[object]]:
    return [c for c in entry.table.columns if not SECRET_COLUMN.search(c.name)]


def withheld_columns(metadata: MetaData) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in owned_tables(metadata):
        names = [c.name for c in entry.table.columns if SECRET_COLUMN.search(c.name)]
        if names and entry.name not in EXCLUDED_TABLES:
            found[entry.name] = names
    return found


def exported_tables(metadata: MetaData) -> list[OwnedTable]:
    return [e for e in owned_tables(metadata) if e.name not in EXCLUDED_TABLES]


async def _snapshot(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # The first statement of the transaction, so it still may set the isolation level.
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


async def _table_file(
    session: AsyncSession, entry: OwnedTable, user_id: uuid.UUID, member: IO[bytes]
) -> AsyncIterator[int]:
    """Write one table's JSON array into ``member``; yields after each batch the rows so far."""
    columns = exported_columns(entry)
    names = [c.name for c in columns]
    query = entry.table.select().with_only_columns(*columns).where(entry.owned(user_id))
    query = query.order_by(*entry.table.primary_key.columns)
    result = await session.stream(query.execution_options(yield_per=BATCH_SIZE))
    write = member.write
    write(b"[")
    rows = 0
    async for batch in result.partitions():
        body = _json.encode([dict(zip(names, row, strict=True)) for row in batch])[1:-1]
        write(body if rows == 0 else b"," + body)
        rows += len(batch)
        yield rows
    write(b"]")


async def account_zip(db: Database, metadata: MetaData, user_id: uuid.UUID) -> AsyncIterator[bytes]:
    sink = ZipSink()
    manifest = Manifest(user_id=user_id, exported_at=utcnow())
    async with db.read_session() as session:
        await _snapshot(session)
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for entry in exported_tables(metadata):
                filename = f"{entry.name}.json"
                rows = 0
                with archive.open(filename, "w", force_zip64=True) as member:
                    async for rows in _table_file(session, entry, user_id, member):  # noqa: B007
                        if data := sink.take():
                            yield data
                manifest.tables[entry.name] = {"file": filename, "rows": rows}
                yield sink.take()
            archive.writestr("manifest.json", manifest.encode(withheld_columns(metadata)))
    yield sink.take()
