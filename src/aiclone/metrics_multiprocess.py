"""One view of the metrics of a server that runs several worker processes.

With ``aiclone serve --workers N`` (N > 1) every worker has its own memory, so its own counters.
The server's parent process therefore gives the workers a private directory for
prometheus_client's multiprocess mode (:func:`shared_metrics`): it creates a fresh temporary
directory before any worker starts, names it in ``PROMETHEUS_MULTIPROC_DIR`` (which every worker
inherits, and which prometheus_client reads when it is first imported, so the workers keep their
values in memory-mapped files there), and removes it when the server exits. The directory holds
an ``owner.pid`` file, which is how a process tells our directory from one a user may have set
for other reasons (:func:`shared_directory`).

Reading is :class:`ServerCollector`: the files of all workers merged, so a counter is the sum over
every worker that ever ran in this server (a restarted worker's counts are kept), and a gauge
follows its ``multiprocess_mode`` (``livesum`` for in-flight requests and open streams, counted
over live processes only). Before each read the live-gauge files of processes that have exited
are dropped (``mark_process_dead``), whichever server (uvicorn, granian) restarted them.

Process metrics (``process_*``) cannot come from one process's registry here; the collector
reports them for the whole server instead: memory, CPU time and open files summed over the
parent and its live workers, the earliest start time, and ``aiclone_server_processes``.

A separate metrics port (``AICLONE_METRICS_BIND``) is bound by the parent alone; the workers
serve neither the port nor the ``/metrics`` route then.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

ENV = "PROMETHEUS_MULTIPROC_DIR"
OWNER_FILE = "owner.pid"
logger = logging.getLogger("aiclone.metrics")

# How each process_* figure of several processes becomes one figure of the server.
_PROCESS_COMBINE: dict[str, Callable[[list[float]], float]] = {
    "process_virtual_memory_bytes": sum,
    "process_resident_memory_bytes": sum,
    "process_cpu_seconds_total": sum,
    "process_open_fds": sum,
    "process_max_fds": max,
    "process_start_time_seconds": min,
}


def shared_directory() -> Path | None:
    """The directory this process shares its metrics through, when a server parent made one."""
    value = os.environ.get(ENV)
    if not value:
        return None
    path = Path(value)
    return path if (path / OWNER_FILE).is_file() else None


def use_shared_values() -> None:
    """Make metrics created from now on in this process keep their values in the directory.

    prometheus_client picks its value class when it is first imported. A worker started by
    spawn (uvicorn) imports it afresh and sees the variable; a forked one (granian) inherits
    the parent's choice, made before the parent named the directory, so it is made again here.
    """
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process took the number
        return True
    return True


def _live_pids(path: Path) -> set[int]:
    pids: set[int] = set()
    for name in glob.glob(str(path / "gauge_live*_*.db")):
        stem = Path(name).stem
        with contextlib.suppress(ValueError):
            pids.add(int(stem.rpartition("_")[2]))
    return pids


def sweep(path: Path) -> set[int]:
    """Forget the live gauges of processes that have exited; returns the pids still alive."""
    alive: set[int] = set()
    for pid in _live_pids(path):
        if _alive(pid):
            alive.add(pid)
        else:
            # Another process may sweep at the same moment.
            with contextlib.suppress(FileNotFoundError):
                mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
    return alive


def _owner(path: Path) -> int | None:
    try:
        return int((path / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


class ServerCollector(Collector):
    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        workers = sweep(self.path)
        files = glob.glob(str(self.path / "*.db"))
        yield from MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        owner = _owner(self.path)
        pids = sorted(workers | ({owner} if owner is not None and _alive(owner) else set()))
        yield from _process_metrics(pids)


def _process_metrics(pids: list[int]) -> Iterator[Metric]:
    figures: dict[str, list[float]] = {}
    families: dict[str, Metric] = {}
    for pid in pids:
        collector = ProcessCollector(pid=lambda pid=pid: pid, registry=None)  # type: ignore[misc]
        for family in collector.collect():
            for sample in family.samples:
                if sample.name in _PROCESS_COMBINE:
                    figures.setdefault(sample.name, []).append(sample.value)
                    families.setdefault(sample.name, family)
    for name, found in figures.items():
        source = families[name]
        merged = Metric(source.name, source.documentation + " (whole server)", source.type)
        merged.add_sample(name, {}, float(_PROCESS_COMBINE[name](found)))
        yield merged
    count = Metric("aiclone_server_processes", "Live processes of this server (parent and workers).", "gauge")
    count.add_sample("aiclone_server_processes", {}, float(len(pids)))
    yield count


def server_registry(path: Path) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(path))
    PlatformCollector(registry=registry)
    return registry


@contextlib.contextmanager
def shared_metrics(workers: int, address: tuple[str, int] | None) -> Iterator[None]:
    """For the server's parent: the shared directory, and the metrics port when one is asked for.

    Raises ``OSError`` when the port cannot be bound, before any worker starts.
    """
    if workers <= 1:
        yield
        return
    path = Path(tempfile.mkdtemp(prefix="aiclone-metrics-"))
    previous = os.environ.get(ENV)
    listener = None
    try:
        (path / OWNER_FILE).write_text(str(os.getpid()))
        os.environ[ENV] = str(path)
        if address is not None:
            host, port = address
            listener = start_http_server(port, addr=host, registry=server_registry(path))
            logger.info("metrics of all %d workers served on http://%s:%d/metrics", workers, host, port)
        yield
    finally:
        if listener is not None:
            server, thread = listener
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        shutil.rmtree(path, ignore_errors=True)
