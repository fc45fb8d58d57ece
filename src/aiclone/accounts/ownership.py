"""Which rows of which table belong to a user, derived from the schema itself.

A table is owned when it has a ``user_id`` column referencing ``users.id`` (its rows with that
user id are the user's), or when a foreign key with ``ON DELETE CASCADE`` ties it to an owned
table (``webhook_attempts`` through ``webhook_deliveries``). Another column referencing
``users.id`` under a different name must say what happens to it: ``CASCADE`` makes its rows the
user's, ``SET NULL`` keeps the row and forgets the user; anything else stops the plan, so a new
table cannot slip past erasure or export without a decision.

Deriving this from ``metadata`` means a table added later is erased and exported without a
change here; the erasure test checks every table of the metadata afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Column, ColumnElement, ForeignKey, MetaData, Table, false, or_, select

USERS = "users"
OWNER_COLUMN = "user_id"

Condition = Callable[[uuid.UUID], ColumnElement[bool]]


class UnplannedReference(RuntimeError):
    """A column references a user (or owned rows) with no rule for erasing it."""


@dataclass(frozen=True)
class OwnedTable:
    table: Table
    # The rows of the user, as a WHERE clause.
    owned: Condition
    # Columns of other rows that point at the user and are cleared (ON DELETE SET NULL).
    detach: tuple[Column[object], ...] = ()

    @property
    def name(self) -> str:
        return self.table.name


def _references_users(fk: ForeignKey) -> bool:
    return fk.column.table.name == USERS


def _user_condition(column: Column[object]) -> Condition:
    return lambda user_id: column == user_id


def _parent_condition(fk: ForeignKey, parent: OwnedTable) -> Condition:
    child_column, parent_column = fk.parent, fk.column

    def condition(user_id: uuid.UUID) -> ColumnElement[bool]:
        return child_column.in_(select(parent_column).where(parent.owned(user_id)))

    return condition


def _plan_table(table: Table, owned: dict[str, OwnedTable]) -> OwnedTable | None:
    conditions: list[Condition] = []
    detach: list[Column[object]] = []
    for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
        rule = (fk.ondelete or "").upper()
        if _references_users(fk):
            if fk.parent.name == OWNER_COLUMN or rule == "CASCADE":
                conditions.append(_user_condition(fk.parent))
            elif rule == "SET NULL":
                detach.append(fk.parent)
            else:
                raise UnplannedReference(f"{table.name}.{fk.parent.name} references users without a rule")
        elif fk.column.table.name in owned and rule == "CASCADE" and OWNER_COLUMN not in table.c:
            conditions.append(_parent_condition(fk, owned[fk.column.table.name]))
    if not conditions and not detach:
        return None
    if not conditions:
        return OwnedTable(table, lambda _user_id: false(), tuple(detach))

    def owned_rows(user_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(*(c(user_id) for c in conditions)) if len(conditions) > 1 else conditions[0](user_id)

    return OwnedTable(table, owned_rows, tuple(detach))


@cache
def owned_tables(metadata: MetaData) -> tuple[OwnedTable, ...]:
    """Every owned table of ``metadata``, parents before children (``users`` first).

    ``metadata`` is the application's whole (``aiclone.models.metadata``, handed in by the
    container): accounts does not import every domain's models itself."""
    users = metadata.tables[USERS]
    plan: dict[str, OwnedTable] = {USERS: OwnedTable(users, _user_condition(users.c.id))}
    for table in metadata.sorted_tables:
        if table.name == USERS:
            continue
        entry = _plan_table(table, plan)
        if entry is not None:
            plan[table.name] = entry
    return tuple(plan.values())
