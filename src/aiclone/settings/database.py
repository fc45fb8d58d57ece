"""The database connection (aiclone.db) and migrations at start."""

from __future__ import annotations

from typing import ClassVar

from aiclone.settings.env import SettingsError, Slice, prefixed


class DatabaseSettings(
    Slice, frozen=True, kw_only=True, rename=prefixed("database_", auto_migrate="auto_migrate")
):
    SECRETS: ClassVar[frozenset[str]] = frozenset({"url"})

    # Empty means "sqlite+aiosqlite:///<data_dir>/aiclone.db" (see Settings.resolved_database_url).
    url: str = ""
    pool_size: int = 10
    connect_timeout_seconds: float = 10.0
    # Waiting for a free pooled connection, and each statement (see aiclone.db).
    pool_timeout_seconds: float = 10.0
    statement_timeout_seconds: float = 15.0
    auto_migrate: bool = True

    def __post_init__(self) -> None:
        self.check_positive(("pool_size",))
        self.check_between(
            {
                "connect_timeout_seconds": (0.1, 300.0),
                "pool_timeout_seconds": (0.1, 300.0),
                "statement_timeout_seconds": (0.1, 3600.0),
            }
        )
        if self.url and not self.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                f"{self.variable('url')} must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
