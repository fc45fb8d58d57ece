"""Running an ASGI app factory under uvicorn or granian, configured the same way for both.

``aiclone serve`` uses this for the product; the benchmarks use it for their baseline app, so a
comparison between the two measures the application, not a difference in server settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

ServerName = Literal["uvicorn", "granian"]
SERVERS: tuple[ServerName, ...] = ("uvicorn", "granian")
# Exit status of a server that never got to accept connections (uvicorn's own convention).
STARTUP_FAILURE = 3


def run_server(
    app_factory: str, *, server: ServerName, host: str, port: int, workers: int, log_level: str
) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit status."""
    if server == "granian":
        return _run_granian(app_factory, host=host, port=port, workers=workers, log_level=log_level)
    return _run_uvicorn(app_factory, host=host, port=port, workers=workers, log_level=log_level)


def _run_granian(app_factory: str, *, host: str, port: int, workers: int, log_level: str) -> int:
    from granian.constants import Interfaces, Loops  # noqa: PLC0415 - imported on use
    from granian.log import LogLevels  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    Server(
        app_factory,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        loop=Loops.uvloop,
        log_level=LogLevels(log_level.lower()),
        log_access=False,
    ).serve()
    return 0


def _run_uvicorn(app_factory: str, *, host: str, port: int, workers: int, log_level: str) -> int:
    import uvicorn  # noqa: PLC0415 - imported on use so other commands start fast
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown so that the process dies
        of the signal (status -15). A graceful stop is the normal end of a server, so the
        command exits 0 instead, as it does under granian."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    config = uvicorn.Config(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    instance = GracefulServer(config)
    instance.run()
    return 0 if instance.started else STARTUP_FAILURE
