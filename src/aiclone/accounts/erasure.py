"""Erasing an account: every row the user owns, on both databases, in one transaction.

The statements are set-based (``DELETE … WHERE user_id = :id`` and, for tables owned through a
parent, ``WHERE parent_id IN (SELECT …)``), children before parents, so no row is loaded into
the process whatever the size of the account, and the ``ON DELETE CASCADE`` keys never do the
bulk of the work row by row. The final ``DELETE`` of the user row is also the safety net: a row
that a concurrent transaction committed between two of the statements still goes with it.

Concurrency (PostgreSQL): the user row is locked ``FOR UPDATE`` first. Every insert that
references the user takes a ``KEY SHARE`` lock on that row for its foreign-key check, so new rows
of the user wait for the erasure and then fail their check; nothing is resurrected after the
commit. A writer that already holds one of the user's rows and then waits for the user row can
deadlock with the erasure; PostgreSQL aborts one of the two, and the service runs the erasure
again (:data:`RETRIES`). On SQLite the write lock taken by ``BEGIN IMMEDIATE`` serializes all
of this.
"""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import MetaData, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiclone.accounts.ownership import USERS, owned_tables

# Attempts of one erasure when PostgreSQL aborts it to break a deadlock.
RETRIES = 3
DEADLOCK_SQLSTATES = frozenset({"40P01", "40001"})


def _users(metadata: MetaData) -> Table:
    return metadata.tables[USERS]


async def lock_user(session: AsyncSession, metadata: MetaData, user_id: uuid.UUID) -> bool:
    """Lock the user row until commit; False when there is no such user."""
    users = _users(metadata)
    query = select(users.c.id).where(users.c.id == user_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return (await session.execute(query)).first() is not None


async def erase_rows(session: AsyncSession, metadata: MetaData, user_id: uuid.UUID) -> dict[str, int]:
    """Delete everything ``user_id`` owns in the tables of ``metadata`` (the application's
    whole), the user row last; returns rows deleted per table.

    Runs in the caller's transaction, after :func:`lock_user`.
    """
    deleted: dict[str, int] = {}
    for entry in reversed(owned_tables(metadata)):
        for column in entry.detach:
            await session.execute(update(entry.table).where(column == user_id).values({column.name: None}))
        if entry.name == USERS:
            continue
        result = await session.execute(delete(entry.table).where(entry.owned(user_id)))
        deleted[entry.name] = int(cast("int", result.rowcount))  # type: ignore[attr-defined]
    users = _users(metadata)
    result = await session.execute(delete(users).where(users.c.id == user_id))
    deleted[USERS] = int(cast("int", result.rowcount))  # type: ignore[attr-defined]
    return deleted


def is_deadlock(exc: BaseException) -> bool:
    original = getattr(exc, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code in DEADLOCK_SQLSTATES
