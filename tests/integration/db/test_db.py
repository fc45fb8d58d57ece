"""Database.read_row: the hot point-read path returns what a session returns, and never stale data."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select, update

from aiclone.app import Services
from aiclone.auth.models import User
from aiclone.auth.users import USER_READ_COLUMNS

BY_ID = select(*USER_READ_COLUMNS).where(User.id == bindparam("user_id", type_=User.id.type))
ADMIN_BY_EMAIL = select(User.id, User.role).where(User.email == bindparam("email"), User.role == "admin")


async def _add_user(services: Services, **values: object) -> uuid.UUID:
    user = User(
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        full_name="Read Back",
        password_hash="not-a-real-hash",
        **values,
    )
    async with services.db.session() as session:
        session.add(user)
    return user.id


async def test_read_row_matches_a_session(services: Services) -> None:
    user_id = await _add_user(services, role="admin", is_active=False)
    row = await services.db.read_row(BY_ID, {"user_id": user_id})
    async with services.db.read_session() as session:
        expected = (await session.execute(BY_ID, {"user_id": user_id})).one()
    assert row == tuple(expected)
    assert row is not None
    assert isinstance(row[0], uuid.UUID)
    assert row[4] is False
    created_at = row[5]
    assert isinstance(created_at, dt.datetime)
    assert created_at.tzinfo is not None
    assert created_at.utcoffset() == dt.timedelta(0)


async def test_read_row_of_nothing_is_none(services: Services) -> None:
    assert await services.db.read_row(BY_ID, {"user_id": uuid.uuid4()}) is None


async def test_literal_values_in_the_statement_are_bound(services: Services) -> None:
    user_id = await _add_user(services, role="admin")
    async with services.db.read_session() as session:
        email = (await session.execute(select(User.email).where(User.id == user_id))).scalar_one()
    assert await services.db.read_row(ADMIN_BY_EMAIL, {"email": email}) == (user_id, "admin")
    assert await services.db.read_row(ADMIN_BY_EMAIL, {"email": "nobody@example.com"}) is None


async def test_read_row_sees_every_commit_at_once(services: Services) -> None:
    user_id = await _add_user(services)
    for name in ("first", "second", "third"):
        async with services.db.session() as session:
            await session.execute(update(User).where(User.id == user_id).values(full_name=name))
        row = await services.db.read_row(BY_ID, {"user_id": user_id})
        assert row is not None
        assert row[2] == name


async def test_read_row_does_not_see_uncommitted_writes(services: Services) -> None:
    user_id = await _add_user(services)
    async with services.db.session() as session:
        await session.execute(update(User).where(User.id == user_id).values(full_name="pending"))
        row = await services.db.read_row(BY_ID, {"user_id": user_id})
        assert row is not None
        assert row[2] == "Read Back"


def test_statements_built_at_import_know_their_parameter_types() -> None:
    """A statement built when its module is imported must not depend on import order.

    A foreign-key column takes its type from the referenced table, which may not be loaded yet;
    a ``bindparam`` compared with it would then stay untyped, and SQLite refuses to bind a UUID.
    Each repository is imported first, in a fresh interpreter.
    """
    script = """
import importlib, sys
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import NullType
module = importlib.import_module(sys.argv[1])
untyped = []
for name, value in vars(module).items():
    if isinstance(value, ClauseElement) and hasattr(value, "compile"):
        for key, bind in value.compile().binds.items():
            if isinstance(bind.type, NullType):
                untyped.append(f"{name}.{key}")
print(",".join(untyped))
"""
    root = Path(__file__).resolve().parents[3]
    for module in (
        "aiclone.automations.repository",
        "aiclone.prospects.repository",
        "aiclone.analytics.repository",
    ):
        result = subprocess.run(
            [sys.executable, "-c", script, module],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=root,
            env={**os.environ, "PYTHONPATH": f"{root / 'src'}:{root}"},
            check=True,
        )
        assert result.stdout.strip() == "", (module, result.stdout)


async def test_before_commit_work_is_the_transactions_last_and_its_failure_rolls_back(
    services: Services,
) -> None:
    from aiclone.db import after_commit, before_commit

    user_id = await _add_user(services)
    seen: list[str] = []

    async def rename_last() -> None:
        seen.append("before")
        await session.execute(update(User).where(User.id == user_id).values(full_name="renamed at the end"))

    async def fail() -> None:
        raise RuntimeError("refused before commit")

    async def committed() -> None:
        seen.append("after")

    async with services.db.session() as session:
        before_commit(session, rename_last)
        after_commit(session, committed)
        await session.execute(update(User).where(User.id == user_id).values(full_name="in the block"))
        seen.append("block")
    assert seen == ["block", "before", "after"]
    row = await services.db.read_row(BY_ID, {"user_id": user_id})
    assert row is not None
    assert row[2] == "renamed at the end"

    seen.clear()
    with pytest.raises(RuntimeError, match="refused before commit"):
        async with services.db.session() as session:
            before_commit(session, fail)
            after_commit(session, committed)
            await session.execute(update(User).where(User.id == user_id).values(full_name="never committed"))
    assert seen == []
    row = await services.db.read_row(BY_ID, {"user_id": user_id})
    assert row is not None
    assert row[2] == "renamed at the end"

    with pytest.raises(LookupError):  # a raising block runs no before-commit work
        async with services.db.session() as session:
            before_commit(session, rename_last)
            raise LookupError("the block failed")
    assert seen == []
