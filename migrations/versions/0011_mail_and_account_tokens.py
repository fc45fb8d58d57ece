"""mail outbox, account tokens, verified email addresses

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 21:50:00.000000

Accounts that exist before this revision count as verified. Their addresses are brought to the
canonical form of aiclone.auth.emails (they were only lower-cased before): an address whose
canonical form another account already holds, or that the new rules refuse, is left as it was
and named (by account id) in the migration's output, for an operator to settle.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aiclone.db
from aiclone.auth.emails import normalize_email
from aiclone.errors import InvalidInput

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def _canonical_addresses() -> None:
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("email", sa.String(254)))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.email)).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        try:
            canonical = normalize_email(email)
        except InvalidInput:
            logger.warning("account %s: its address is refused by the new rules; left as it was", user_id)
            continue
        if canonical == email:
            continue
        if canonical in taken:
            logger.warning(
                "account %s: its canonical address belongs to another account; left as it was", user_id
            )
            continue
        connection.execute(users.update().where(users.c.id == user_id).values(email=canonical))
        taken.discard(email)
        taken.add(canonical)


def upgrade() -> None:
    op.create_table(
        "account_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("created_at", aiclone.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", aiclone.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", aiclone.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_account_tokens_user_id_purpose", ["user_id", "purpose"], unique=False)

    op.create_table(
        "mail_outbox",
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", aiclone.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", aiclone.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", aiclone.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", aiclone.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_mail_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mail_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mail_outbox_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", aiclone.db.UTCDateTime(timezone=True), nullable=True)
        )
    users = sa.table("users", sa.column("email_verified_at", aiclone.db.UTCDateTime(timezone=True)))
    op.execute(users.update().values(email_verified_at=dt.datetime.now(dt.UTC)))
    _canonical_addresses()


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")

    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_user_id"))
        batch_op.drop_index("ix_mail_outbox_status_next_attempt_at")
    op.drop_table("mail_outbox")

    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_account_tokens_user_id_purpose")
    op.drop_table("account_tokens")
