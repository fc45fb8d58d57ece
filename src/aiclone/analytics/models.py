from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from aiclone.db import Base


class AnalyticsCounter(Base):
    """How often ``metric`` happened for a user in ``[bucket_start, bucket_start + grain)``.

    ``bucket_start`` is Unix seconds (UTC) and a multiple of ``grain`` (15 min to 7 days; see
    :mod:`aiclone.analytics.metrics`). The key leads with ``(user_id, grain, bucket_start)`` so a
    summary reads each of its ranges as one index range scan that never touches the table: on
    PostgreSQL the key index INCLUDEs ``count`` (index-only scans; the price is that increments
    are not HOT updates), on SQLite the table is stored WITHOUT ROWID, clustered on the key.
    """

    __tablename__ = "analytics_counters"
    __table_args__ = (
        PrimaryKeyConstraint(
            "user_id",
            "grain",
            "bucket_start",
            "metric",
            name="pk_analytics_counters",
            # A covering key: the summary's range scans are index-only on PostgreSQL.
            postgresql_include=["count"],
        ),
        {"sqlite_with_rowid": False},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    grain: Mapped[int] = mapped_column(Integer)
    bucket_start: Mapped[int] = mapped_column(BigInteger)
    metric: Mapped[str] = mapped_column(String(48))
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class ProspectFunnelEntry(Base):
    """When one prospect was added and first reached each later funnel stage.

    Written by the counter hook alongside the counters; it is what makes every stage count a
    prospect once, in the bucket of the prospect's addition. ``prospect_id`` is the id exactly as
    the events carry it (text), so the rebuild can join on the events' JSON without casts.
    """

    __tablename__ = "analytics_prospect_funnel"
    __table_args__ = (PrimaryKeyConstraint("user_id", "prospect_id", name="pk_analytics_prospect_funnel"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    prospect_id: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[dt.datetime]
    approved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    contacted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    meeting_booked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
