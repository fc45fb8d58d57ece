"""A PostgreSQL connection a process keeps to itself, re-opened with backoff while it runs.

Some work needs a session of its own rather than one borrowed from the pool: a LISTEN (the
broker's doorbell) or a session-level advisory lock (an instance's liveness). Both need the same
care: the connection is probed every few seconds, so a half-open one is noticed from this side;
when it is lost it is re-opened with a doubling delay (0.1 s up to 5 s); ``start`` waits, up to the
connect timeout, for the first opening so the caller's next step sees it up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from logging import Logger

import asyncpg
from sqlalchemy.engine import make_url

PROBE_SECONDS = 5.0
_FIRST_DELAY = 0.1


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class DedicatedConnection:
    """One connection, held by a background task between ``start`` and ``stop``.

    ``what`` names it in the owner's ``logger`` ("event listener connection lost ...").

    ``on_open`` sets up each fresh connection (LISTEN, take a lock) and says whether it serves;
    a connection that does not is closed and tried again after the longest delay. ``on_reopen``
    runs, without awaiting, each time the connection is up again after the first time: whatever
    was missed while it was down must be caught up by its owner.
    """

    def __init__(
        self,
        url: str,
        *,
        application_name: str,
        what: str,
        logger: Logger,
        on_open: Callable[[asyncpg.Connection], Awaitable[bool]],
        on_reopen: Callable[[], None] | None = None,
        connect_timeout: float = 10.0,
        server_settings: Mapping[str, str] | None = None,
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self._server_settings = {"application_name": application_name, **(server_settings or {})}
        self._what = what
        self._logger = logger
        self._on_open = on_open
        self._on_reopen = on_reopen
        self._connect_timeout = connect_timeout
        self._up = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reconnects = 0

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self._hold_forever(), name=self._server_settings["application_name"]
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), timeout=self._connect_timeout)

    async def stop(self) -> None:
        """Close the connection (which also ends whatever its session held)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _hold_forever(self) -> None:
        delay = _FIRST_DELAY
        opened_before = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=self._connect_timeout, server_settings=self._server_settings
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                if await self._on_open(conn):
                    self._up.set()
                    if opened_before:
                        self.reconnects += 1
                        if self._on_reopen is not None:
                            self._on_reopen()
                    opened_before = True
                    delay = _FIRST_DELAY
                    await self._watch(conn, lost)
                else:
                    delay = PROBE_SECONDS
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                self._logger.warning(
                    "%s connection lost (%s); retrying in %.1fs", self._what, type(exc).__name__, delay
                )
            finally:
                self._up.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, PROBE_SECONDS)

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=PROBE_SECONDS)
            if not lost.is_set():
                # A cheap probe also notices a half-open connection from this side.
                await asyncio.wait_for(conn.execute("SELECT 1"), timeout=PROBE_SECONDS)
        raise ConnectionResetError(f"{self._what} connection closed")
