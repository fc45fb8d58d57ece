"""a configuration version on each user's event counter

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:00:00.000000

``event_counters.config_version`` counts the changes to what a user's events react to (their
automation rules and webhook endpoints). The event statement that locks the counter row returns
it, so a process can keep the user's rules and endpoints in memory and know, at no extra round
trip, whether its copy is still current (:mod:`aiclone.events.config`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_counters") as batch:
        batch.add_column(sa.Column("config_version", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("event_counters") as batch:
        batch.drop_column("config_version")
