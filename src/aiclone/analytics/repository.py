"""The one summary query: counter sums per (metric, bucket) over a list of row ranges.

The ranges (``bucket_no, grain, lo, hi``; a few dozen, from :func:`aiclone.analytics.periods.ranges`)
are passed as a single parameter — arrays unnested on PostgreSQL, a JSON array through
``json_each`` on SQLite — so the statement text is the same for every request and its plan is
cached. Each range is one primary-key range scan; the counters hold at most one row per grain,
bucket and metric, so the work depends on the length of the period, never on the number of
events behind the counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import BigInteger, Integer, String, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.analytics.models import AnalyticsCounter

Range = tuple[int, int, int, int]


def _pg_ranges() -> Any:
    return (
        func.unnest(
            bindparam("nos", type_=ARRAY(Integer)),
            bindparam("grains", type_=ARRAY(Integer)),
            bindparam("los", type_=ARRAY(BigInteger)),
            bindparam("his", type_=ARRAY(BigInteger)),
        )
        .table_valued("no", "grain", "lo", "hi")
        .render_derived(name="r")
    )


def _summary_statement(dialect: str) -> Any:
    if dialect == "postgresql":
        r = _pg_ranges()
        no, grain, lo, hi = r.c.no, r.c.grain, r.c.lo, r.c.hi
    else:
        r = func.json_each(bindparam("ranges", type_=String)).table_valued("value").alias("r")
        no = func.json_extract(r.c.value, "$[0]")
        grain = func.json_extract(r.c.value, "$[1]")
        lo = func.json_extract(r.c.value, "$[2]")
        hi = func.json_extract(r.c.value, "$[3]")
    c = AnalyticsCounter
    return (
        select(c.metric, no.label("no"), func.sum(c.count).label("total"))
        .select_from(r)
        .join(
            c,
            and_(
                c.user_id == bindparam("user_id"),
                c.grain == grain,
                c.bucket_start >= lo,
                c.bucket_start < hi,
            ),
        )
        .group_by(c.metric, no)
    )


_STATEMENTS: dict[str, Any] = {}


async def counter_sums(
    session: AsyncSession, user_id: uuid.UUID, ranges: Sequence[Range]
) -> dict[tuple[str, int], int]:
    """``{(metric, bucket_no): sum}`` for the counters of ``user_id`` inside ``ranges``."""
    dialect = session.get_bind().dialect.name
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        statement = _STATEMENTS[dialect] = _summary_statement(dialect)
    params: dict[str, Any] = {"user_id": user_id}
    if dialect == "postgresql":
        params |= {
            "nos": [r[0] for r in ranges],
            "grains": [r[1] for r in ranges],
            "los": [r[2] for r in ranges],
            "his": [r[3] for r in ranges],
        }
    else:
        params["ranges"] = msgspec.json.encode(list(ranges)).decode()
    rows = await session.execute(statement, params)
    return {(row.metric, int(row.no)): int(row.total) for row in rows}
