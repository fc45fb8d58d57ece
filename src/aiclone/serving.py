"""Running an ASGI app factory under uvicorn or granian, configured the same way for both.

``aiclone serve`` uses this for the product; the benchmarks use it for their baseline app, so a
comparison between the two measures the application, not a difference in server settings.

Two things are added to each server here, because the app alone cannot do them:

- **Shutdown drain** (see :mod:`aiclone.web.drain` for the timeline). Both servers stop
  listening as soon as they handle SIGTERM/SIGINT, so :class:`DrainRelay` holds the signal back
  for ``drain_seconds``: it tells the app processes to drain at once (:data:`DRAIN_SIGNAL`,
  ignored by a process until its app listens for it) and hands the signal to the server when
  the drain ends, or at once on a second signal. uvicorn's own grace and granian's worker kill
  timeout are set a little past the app's, so the app answers a request it cuts.
- **Header deadline**: granian's ``header_read_timeout``; for uvicorn, a protocol subclass
  (:mod:`aiclone.web.header_deadline`), since uvicorn has no such option.

With several workers the parent also owns the shared metrics directory and the metrics port
(:mod:`aiclone.metrics_multiprocess`), and a worker that fails to start (its app's startup
failed) stops the server with a non-zero status under both servers. ``json_logs`` gives the
servers' own loggers the JSON formatter of the app (:func:`aiclone.web.logs.json_log_config`).
"""

from __future__ import annotations

import contextlib
import logging
import logging.config
import math
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

from aiclone.metrics_multiprocess import shared_metrics
from aiclone.web.drain import DRAIN_SIGNAL, SERVER_GRACE_MARGIN_SECONDS
from aiclone.web.logs import json_log_config

if TYPE_CHECKING:  # imported on use, so other commands start fast
    import uvicorn
    from uvicorn.supervisors import Multiprocess

ServerName = Literal["uvicorn", "granian"]
SERVERS: tuple[ServerName, ...] = ("uvicorn", "granian")
# Exit status of a server that never got to accept connections (uvicorn's own convention).
STARTUP_FAILURE = 3
WORKER_HEALTHCHECK_SECONDS = 60


@dataclass(frozen=True)
class EdgeTimings:
    """The server-level deadlines (defaults match the settings' defaults)."""

    header_timeout: float = 10.0
    drain_seconds: float = 0.0
    grace_seconds: float = 10.0

    @property
    def server_grace(self) -> int:
        return math.ceil(self.grace_seconds + SERVER_GRACE_MARGIN_SECONDS)


class DrainRelay:
    """Holds the first stop signal back from the server for the drain period.

    ``app_pids`` names the processes running the app at the moment of the signal; ``stop`` is
    the server's own handling of the signal. Runs as a signal handler in the main thread.
    """

    def __init__(
        self,
        drain_seconds: float,
        app_pids: Callable[[], list[int]],
        stop: Callable[[int, FrameType | None], Any],
    ) -> None:
        self.drain_seconds = drain_seconds
        self.app_pids = app_pids
        self.stop = stop
        self.signalled = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.signalled:  # asked again: no more waiting
            self.stop(signum, frame)
            return
        self.signalled = True
        for pid in self.app_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, DRAIN_SIGNAL)
        if self.drain_seconds <= 0:
            self.stop(signum, frame)
            return
        timer = threading.Timer(self.drain_seconds, self.stop, args=(signum, None))
        timer.daemon = True
        timer.start()


@contextlib.contextmanager
def _drain_signal_ignored() -> Iterator[None]:
    """App processes start with the drain signal ignored (inherited across spawn), so one that
    arrives before an app listens for it does no harm."""
    previous = signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(DRAIN_SIGNAL, previous)


def run_server(
    app_factory: str,
    *,
    server: ServerName,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    timings: EdgeTimings | None = None,
    metrics_address: tuple[str, int] | None = None,
    json_logs: bool = False,
) -> int:
    """Serve until SIGTERM/SIGINT (after the drain); returns the process exit status."""
    log_config = json_log_config(log_level.upper()) if json_logs else None
    if log_config is not None:
        logging.config.dictConfig(log_config)
    serve = _Serve(app_factory, host, port, workers, log_level, timings or EdgeTimings(), log_config)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(shared_metrics(workers, metrics_address))
        except OSError as exc:
            logging.getLogger("aiclone.metrics").error("cannot serve metrics on %s: %s", metrics_address, exc)  # noqa: TRY400 - one line, no traceback
            return STARTUP_FAILURE
        stack.enter_context(_drain_signal_ignored())
        return _run_granian(serve) if server == "granian" else _run_uvicorn(serve)


@dataclass(frozen=True)
class _Serve:
    """What both servers are told."""

    app_factory: str
    host: str
    port: int
    workers: int
    log_level: str
    timings: EdgeTimings
    log_config: dict[str, Any] | None


def _run_granian(serve: _Serve) -> int:
    from granian.constants import Interfaces, Loops  # noqa: PLC0415 - imported on use
    from granian.http import HTTP1Settings  # noqa: PLC0415
    from granian.log import LogLevels  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    class DrainingGranian(Server):  # type: ignore[misc, valid-type]
        def signal_handler_interrupt(
            self, signum: int = signal.SIGTERM, frame: FrameType | None = None
        ) -> None:
            relay(signum, frame)

    timings = serve.timings
    instance = DrainingGranian(
        serve.app_factory,
        address=serve.host,
        port=serve.port,
        interface=Interfaces.ASGI,
        workers=serve.workers,
        factory=True,
        loop=Loops.uvloop,
        log_level=LogLevels(serve.log_level.lower()),
        log_access=False,
        log_dictconfig=serve.log_config,
        http1_settings=HTTP1Settings(header_read_timeout=max(1, round(timings.header_timeout * 1000))),
        workers_kill_timeout=timings.server_grace,
    )
    relay = DrainRelay(
        timings.drain_seconds,
        app_pids=lambda: [pid for wrk in instance.wrks if (pid := wrk.inner.pid) is not None],
        stop=lambda *_: Server.signal_handler_interrupt(instance),  # type: ignore[no-untyped-call]
    )
    instance.serve()
    return 0


def _run_uvicorn(serve: _Serve) -> int:
    config = _uvicorn_config(serve)
    if serve.workers > 1:
        supervisor = _draining_supervisor(serve.timings.drain_seconds)(config, sockets=[config.bind_socket()])
        supervisor.run()
        # uvicorn stops every worker when one fails to start, but returns as after a stop.
        failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
        return STARTUP_FAILURE if failed else 0
    instance = _graceful_server(serve.timings.drain_seconds)(config)
    instance.run()
    return 0 if instance.started else STARTUP_FAILURE


def _uvicorn_config(serve: _Serve) -> uvicorn.Config:
    from aiclone.web.header_deadline import PROTOCOL, EdgeConfig  # noqa: PLC0415 - imports uvicorn

    return EdgeConfig(
        serve.app_factory,
        factory=True,
        host=serve.host,
        port=serve.port,
        workers=serve.workers,
        loop="uvloop",
        http=PROTOCOL,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_level=serve.log_level.lower(),
        **({"log_config": serve.log_config} if serve.log_config is not None else {}),
        timeout_graceful_shutdown=serve.timings.server_grace,
        # A worker answers the supervisor's ping only once it has imported the app, which takes
        # seconds on a busy machine; past this the supervisor kills it as hung, and restarts it.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        header_timeout=serve.timings.header_timeout,
    )


def _graceful_server(drain_seconds: float) -> type[uvicorn.Server]:
    import uvicorn  # noqa: PLC0415 - imported on use so other commands start fast

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown so that the process dies
        of the signal (status -15). A graceful stop is the normal end of a server, so the
        command exits 0 instead, as it does under granian. The stop signal goes through the
        drain first."""

        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self._drain = DrainRelay(drain_seconds, app_pids=lambda: [os.getpid()], stop=super().handle_exit)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            self._drain(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    return GracefulServer


def _draining_supervisor(drain_seconds: float) -> type[Multiprocess]:
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    from aiclone.web.uvicorn_workers import start_worker  # noqa: PLC0415

    uvicorn_log = logging.getLogger("uvicorn.error")

    class DrainingSupervisor(Multiprocess):
        """With several workers the supervisor gets the signal; the workers drain meanwhile."""

        def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
            super().__init__(config, sockets)
            self._drain = DrainRelay(
                drain_seconds,
                app_pids=lambda: [p.pid for p in self.processes if p.pid is not None],
                stop=lambda *_: self.should_exit.set(),
            )

        def handle_term(self) -> None:
            self._drain(signal.SIGTERM, None)

        def handle_int(self) -> None:
            self._drain(signal.SIGINT, None)

        def init_processes(self) -> None:
            for _ in range(self.processes_num):
                self.processes.append(start_worker(self.config, self.sockets))

        def keep_subprocess_alive(self) -> None:
            """uvicorn's, with workers that are seen dead at once (:class:`WorkerProcess`)."""
            for idx, process in enumerate(self.processes):
                if self.should_exit.is_set():
                    return
                if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    # The app cannot start: every replacement would fail the same way.
                    uvicorn_log.error("Child process [%s] failed to start, stopping the server.", process.pid)
                    self.should_exit.set()
                    return
                uvicorn_log.info("Child process [%s] died", process.pid)
                self.processes[idx] = start_worker(self.config, self.sockets)

    return DrainingSupervisor
