"""webhook endpoint flavours (standard, slack, zapier)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 00:50:00.000000

Every endpoint that exists before this revision is a Standard Webhooks endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("flavour", sa.String(length=16), server_default="standard", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("flavour")
