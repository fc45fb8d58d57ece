"""A prospect's addition moves its counters and opens its funnel entry: on PostgreSQL in one
statement (the counters' upsert is a data-modifying CTE of the funnel insert), on SQLite in two."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select

from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.prospects.schemas import ProspectCreate
from tests.conftest import make_settings, started_services
from tests.support.statements import watch_statements


async def test_a_prospects_counters_and_funnel_entry_are_one_statement_on_postgresql(
    database_url: str, tmp_path: Path, clean_tables: None, backend: str
) -> None:
    statements: list[str] = []

    def note(statement: str) -> None:
        if statement.lstrip().startswith(("INSERT INTO analytics_", "WITH counted AS")):
            statements.append(statement)

    async with started_services(make_settings(database_url, tmp_path), workers=False) as services:
        user = (
            await services.auth.register(
                email=f"funnel-{uuid.uuid4().hex[:8]}@example.com",
                password="a long enough passphrase 42",
                full_name="F",
            )
        ).id
        await watch_statements(services.db, note)

        for name in ("Ada", "Grace"):
            await services.prospects.create(user, ProspectCreate(name=name))
        again = await services.prospects.create(
            user, ProspectCreate(name="Edsger", approval_status="approved")
        )

        async with services.db.read_session() as session:
            funnel = await session.scalar(select(func.count()).where(ProspectFunnelEntry.user_id == user))
            approved = await session.scalar(
                select(func.count()).where(
                    ProspectFunnelEntry.user_id == user, ProspectFunnelEntry.approved_at.is_not(None)
                )
            )
            counted = dict(
                (
                    await session.execute(
                        select(AnalyticsCounter.metric, func.max(AnalyticsCounter.count))
                        .where(AnalyticsCounter.user_id == user)
                        .group_by(AnalyticsCounter.metric)
                    )
                ).all()
            )
    assert again.approval_status == "approved"
    assert (funnel, approved) == (3, 1)
    assert counted["prospects_analyzed"] == 3
    assert counted["funnel_approved"] == 1
    # Two plain additions, then one approved (its "approved" counter is one statement more).
    per_plain = 1 if backend == "postgresql" else 2
    assert len(statements) == 3 * per_plain + 1, statements
