"""Alembic underneath ``aiclone db …`` and the automatic migration at start.

The migration scripts live in the repository's top-level ``migrations/`` folder; a wheel carries
them inside the package (see pyproject), so both layouts are looked up here.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration runs, not with this module: a restart whose database is
# already at head never needs it, and importing it is about a tenth of a restart.

_PACKAGE_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"


def _locate() -> tuple[Path, Path]:
    for root in (_PACKAGE_DIR, _PACKAGE_DIR.parent.parent):
        if (root / "migrations" / "env.py").is_file() and (root / "alembic.ini").is_file():
            return root / "alembic.ini", root / "migrations"
    raise FileNotFoundError("the migrations folder was not found next to the aiclone package")


def alembic_config(database_url: str | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see the note at the top

    ini, scripts = _locate()
    config = Config(str(ini))
    config.set_main_option("script_location", str(scripts))
    if database_url:
        # ConfigParser interpolation would choke on '%' in passwords.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    from alembic import command  # noqa: PLC0415

    # "heads", not "head": when packages developed side by side each add a migration, the
    # history can have several heads until they are merged, and all of them must be applied.
    command.upgrade(alembic_config(database_url), revision)


def upgrade_unless_at_head(database_url: str) -> bool:
    """:func:`upgrade` to every head, unless the database is there already; True if it ran.

    The start-up check of ``aiclone serve``: Alembic's own upgrade loads its environment, every
    migration script and the models before it finds nothing to do (about a fifth of a restart).
    Here the heads come from the scripts' ``revision`` / ``down_revision`` lines and the applied
    revisions from the version table, in one short connection; anything unexpected (a script
    this cannot read, a database behind or ahead) goes through Alembic as before, which also
    takes the migration lock on PostgreSQL.
    """
    heads = _declared_heads()
    try:
        at_head = heads is not None and heads == asyncio.run(_applied_revisions(database_url))
    except (OSError, SQLAlchemyError):
        at_head = False  # no database yet, say: Alembic creates it and says what went wrong
    if not at_head:
        upgrade(database_url)
    return not at_head


def _declared_heads() -> set[str] | None:
    """The head revisions named by the scripts' headers, or None if a script is not plain."""
    _, scripts = _locate()
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (scripts / "versions").glob("*.py"):
        values: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target, value = (
                (node.target, node.value)
                if isinstance(node, ast.AnnAssign)
                else (node.targets[0], node.value)
                if isinstance(node, ast.Assign) and len(node.targets) == 1
                else (None, None)
            )
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    return revisions - parents if revisions else None


async def _applied_revisions(database_url: str) -> set[str]:
    from aiclone.db import build_engine  # noqa: PLC0415 - only for this one check

    engine = build_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(current_revisions)
    finally:
        await engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    from alembic import command  # noqa: PLC0415

    command.current(alembic_config(database_url), verbose=True)


def revision(database_url: str, message: str, *, autogenerate: bool) -> None:
    from alembic import command  # noqa: PLC0415

    command.revision(alembic_config(database_url), message=message, autogenerate=autogenerate)


def head_revisions() -> set[str]:
    # The scripts' headers are enough (and far quicker than loading every script); Alembic decides
    # when one is not plain.
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return _declared_heads() or set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The applied revisions, read straight from Alembic's version table.

    ``MigrationContext`` would log two INFO lines per call, once for every readiness probe.
    """
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    version = table(VERSION_TABLE, column("version_num"))
    return {str(value) for value in connection.execute(select(version.c.version_num)).scalars()}
