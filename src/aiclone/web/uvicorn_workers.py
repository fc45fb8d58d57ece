"""uvicorn's worker process, seen dead at once.

uvicorn's supervisor checks a worker by pinging it through a pipe and waiting up to
``timeout_worker_healthcheck`` for the answer. A worker still importing the app answers nothing
for seconds on a busy machine (so that timeout must be generous, or it is killed as hung), but a
worker that has exited answers nothing either, and the parent keeps its end of the pipe open, so
the wait runs to the end: a worker whose startup failed would stop the server only that much
later. Here a worker that answers no ping counts as alive while its process is, and as dead as
soon as its process has exited. (Module-level: the process object is pickled for spawn.)
"""

from __future__ import annotations

import socket
import time

from uvicorn import Config
from uvicorn.supervisors.multiprocess import Process

PING_SECONDS = 0.5


class WorkerProcess(Process):
    def is_alive(self, timeout: float = 5) -> bool:
        deadline = time.monotonic() + timeout
        while self.process.is_alive():
            if self.ping(timeout=PING_SECONDS):
                return True
            if time.monotonic() >= deadline:
                return False
        return False


def start_worker(config: Config, sockets: list[socket.socket]) -> WorkerProcess:
    worker = WorkerProcess(config, sockets)
    worker.start()
    return worker
