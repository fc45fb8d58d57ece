"""user sessions (one row per refresh-token family)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:55:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiclone.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("created_at", aiclone.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", aiclone.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", aiclone.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_user_sessions_user_id_created_at", ["user_id", "created_at"], unique=False)
    # Families issued before this revision become sessions, so their access tokens stay valid;
    # a family with no live token left is recorded as ended.
    op.execute(
        """
        INSERT INTO user_sessions (id, user_id, user_agent, client_address, created_at, last_used_at, ended_at)
        SELECT family_id, user_id, '', '', MIN(created_at), MAX(created_at),
               CASE WHEN COUNT(*) = COUNT(revoked_at) THEN MAX(revoked_at) END
        FROM refresh_tokens
        GROUP BY family_id, user_id
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_user_sessions_user_id_created_at")
    op.drop_table("user_sessions")
