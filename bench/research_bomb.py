"""Peak memory of the web engine reading compression bombs (400 MiB of zeros as ~400 KB of gzip).

Each case runs in a fresh process: a real HTTP server on 127.0.0.1 serves N bombs, the engine
reads them (at most three at once, as a task does), and the script prints the growth of the
process's peak RSS (``VmHWM``, reset through ``/proc/self/clear_refs`` once the server and the
bombs are ready) and tracemalloc's peak of Python allocations.

    PYTHONPATH=src:. python bench/research_bomb.py [--urls 1 3] [--encoding gzip]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tracemalloc
import uuid
import zlib
from pathlib import Path

from tests.support.localweb import local_site

from aiclone.research.engines.base import ResearchJob
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.research.models import SourceType

MiB = 1024 * 1024
WBITS = {"gzip": 31, "deflate": 15}


def bomb(size: int, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    zeros = bytes(MiB)
    parts = [packer.compress(zeros) for _ in range(size // MiB)]
    parts.append(packer.flush())
    return b"".join(parts)


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


async def _noop(*_: object) -> None:
    return None


async def child(urls: int, encoding: str, trace: bool) -> None:
    body = bomb(400 * MiB, WBITS[encoding])
    with local_site() as site:
        for index in range(urls):
            site.encoded(f"/bomb{index}", body, encoding=encoding)
        site.page("/ok", "<title>ok</title><p>fine</p>")
        web = WebEngine(WebEngineConfig(allow_private=True, fetch_timeout=60.0))
        job = ResearchJob(
            task_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            title="bench",
            input_source="\n".join([*(site.url(f"/bomb{i}") for i in range(urls)), site.url("/ok")]),
            source_type=SourceType.URLS,
        )
        async with web.client():  # loads the CA bundle before the baseline
            pass
        if trace:
            tracemalloc.start()
        Path("/proc/self/clear_refs").write_text("5")
        baseline = status_kib("VmRSS")
        insight = await web.research(job, _noop)
        peak = status_kib("VmHWM")
        traced = tracemalloc.get_traced_memory()[1] if trace else 0
    statuses = ",".join(source.status for source in insight.sources)
    print(
        f"{urls} bomb(s) ({len(body) // 1024} KB {encoding} each): peak RSS +{(peak - baseline) / 1024:.1f} MiB"
        + (f", tracemalloc peak {traced / MiB:.1f} MiB" if trace else "")
        + f", sources {statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--encoding", choices=sorted(WBITS), default="gzip")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help="also report tracemalloc's peak (slower)")
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.urls[0], args.encoding, args.trace))
        return
    for urls in args.urls:
        command = [sys.executable, __file__, "--child", "--urls", str(urls), "--encoding", args.encoding]
        subprocess.run([*command, *(["--trace"] if args.trace else [])], check=True)


if __name__ == "__main__":
    main()
