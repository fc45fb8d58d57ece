"""drafting tasks and language-model token usage on research tasks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 00:50:00.000000

Drafting tasks share the research task queue: ``kind`` says what a task produces, ``params``
holds a drafting request, ``output_id`` the draft it wrote. ``tokens_in`` / ``tokens_out`` count
the language-model tokens a task spent; the per-user, per-day totals live in the analytics
counters (metrics ``llm_tokens``, ``llm_tokens_in``, ``llm_tokens_out``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("research_tasks") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="research"))
        batch.add_column(
            sa.Column("params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )
        batch.add_column(sa.Column("output_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("tokens_in", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("tokens_out", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("research_tasks") as batch:
        batch.drop_column("tokens_out")
        batch.drop_column("tokens_in")
        batch.drop_column("output_id")
        batch.drop_column("params")
        batch.drop_column("kind")
