"""Alembic underneath ``aiclone db …`` and the automatic migration at start.

The migration scripts live in the repository's top-level ``migrations/`` folder; a wheel carries
them inside the package (see pyproject), so both layouts are looked up here.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection

_PACKAGE_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"


def _locate() -> tuple[Path, Path]:
    for root in (_PACKAGE_DIR, _PACKAGE_DIR.parent.parent):
        if (root / "migrations" / "env.py").is_file() and (root / "alembic.ini").is_file():
            return root / "alembic.ini", root / "migrations"
    raise FileNotFoundError("the migrations folder was not found next to the aiclone package")


def alembic_config(database_url: str | None = None) -> Config:
    ini, scripts = _locate()
    config = Config(str(ini))
    config.set_main_option("script_location", str(scripts))
    if database_url:
        # ConfigParser interpolation would choke on '%' in passwords.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    # "heads", not "head": when packages developed side by side each add a migration, the
    # history can have several heads until they are merged, and all of them must be applied.
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=True)


def revision(database_url: str, message: str, *, autogenerate: bool) -> None:
    command.revision(alembic_config(database_url), message=message, autogenerate=autogenerate)


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The applied revisions, read straight from Alembic's version table.

    ``MigrationContext`` would log two INFO lines per call, once for every readiness probe.
    """
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    version = table(VERSION_TABLE, column("version_num"))
    return {str(value) for value in connection.execute(select(version.c.version_num)).scalars()}
