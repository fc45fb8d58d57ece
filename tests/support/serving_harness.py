"""``aiclone serve`` with two faults a test can switch on; everything else is the real command.

- ``AICLONE_TEST_SINGLE_STARTUP=<path>``: the first worker to create that file starts; every
  later worker's app fails its startup (a worker that cannot start, next to one that can).
- ``GET /_test/fail``: a route that raises an unexpected exception (a 500 with a traceback in
  the log).

Run as ``python -m tests.support.serving_harness serve --port N …`` (same arguments as ``aiclone``).
"""

from __future__ import annotations

import os
import sys

from litestar import Litestar, get

from aiclone import cli
from aiclone.app import create_app_from_env

MARKER = "AICLONE_TEST_SINGLE_STARTUP"


class ForcedFailure(RuntimeError):
    pass


@get("/_test/fail", exclude_from_auth=True, include_in_schema=False)
async def fail() -> None:
    raise ForcedFailure("forced for a test\nwith a second line")


def _only_the_first_worker_starts() -> None:
    marker = os.environ.get(MARKER)
    if not marker:
        return
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise ForcedFailure(f"worker {os.getpid()} refuses to start") from None


def create_app_with_faults() -> Litestar:
    app = create_app_from_env()
    app.register(fail)
    app.on_startup.append(_only_the_first_worker_starts)
    return app


if __name__ == "__main__":
    cli.APP_FACTORY = "tests.support.serving_harness:create_app_with_faults"
    sys.exit(cli.main(sys.argv[1:]))
