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
from sqlalchemy import BigInteger, Integer, String, Uuid, and_, bindparam, func, select, true
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
    c = AnalyticsCounter
    if dialect == "postgresql":
        r = _pg_ranges()
        # One primary-key range scan per range, forced by an aggregating LATERAL subquery (which
        # the planner cannot flatten): as a plain join it cannot estimate the range condition and
        # hash-joins against every counter row of the user instead.
        per_range = (
            select(c.metric, func.sum(c.count).label("total"))
            .where(
                c.user_id == bindparam("user_id", type_=Uuid()),
                c.grain == r.c.grain,
                c.bucket_start >= r.c.lo,
                c.bucket_start < r.c.hi,
            )
            .group_by(c.metric)
            .lateral("c")
        )
        return (
            select(per_range.c.metric, r.c.no.label("no"), func.sum(per_range.c.total).label("total"))
            .select_from(r)
            .join(per_range, true())
            .group_by(per_range.c.metric, r.c.no)
        )
    # SQLite runs joins as nested loops in FROM order: each json_each row drives a key range scan.
    ranges = func.json_each(bindparam("ranges", type_=String)).table_valued("value").alias("r")
    no = func.json_extract(ranges.c.value, "$[0]")
    return (
        select(c.metric, no.label("no"), func.sum(c.count).label("total"))
        .select_from(ranges)
        .join(
            c,
            and_(
                c.user_id == bindparam("user_id", type_=Uuid()),
                c.grain == func.json_extract(ranges.c.value, "$[1]"),
                c.bucket_start >= func.json_extract(ranges.c.value, "$[2]"),
                c.bucket_start < func.json_extract(ranges.c.value, "$[3]"),
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
