"""Compressed pages: decoded as they stream, never past the size limit, whatever the ratio.

The bombs are real: 400 MiB of zeros compressed to about 400 KB (built chunk by chunk, so the
test itself never holds the decoded size), served by a real HTTP server on 127.0.0.1. Memory is
measured with tracemalloc (the peak of Python allocations during the fetch, the server's
included), which is deterministic where the process RSS is not.
"""

from __future__ import annotations

import gzip
import tracemalloc
import uuid
import zlib
from collections.abc import Iterator

import pytest

from aiclone.research.engines.base import ResearchJob
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.research.models import SourceType
from aiclone.research.schemas import SourceReport
from tests.support.localweb import LocalSite, local_site

MiB = 1024 * 1024
BOMB_SIZE = 400 * MiB
# Far above the 2 MiB page limit, far below what one decoded network chunk of a bomb weighs.
PEAK_BUDGET = 16 * MiB
PAGE = (
    b"<html><head><title>Packed page</title></head><body><p>Hello from a compressed page.</p></body></html>"
)


def compress(size: int, *, wbits: int) -> bytes:
    """``size`` zero bytes compressed (gzip wbits=31, zlib 15, raw deflate -15), 1 MiB at a time."""
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    zeros = bytes(MiB)
    parts = [packer.compress(zeros) for _ in range(size // MiB)]
    parts.append(packer.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    gzipped = compress(BOMB_SIZE, wbits=31)
    return {
        "gzip": gzipped,
        "deflate": compress(BOMB_SIZE, wbits=15),
        "raw-deflate": compress(BOMB_SIZE, wbits=-15),
        # A bomb inside a bomb: the outer layer decodes to the inner one's 400 KB.
        "gzip, gzip": gzip.compress(gzipped),
    }


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_site() as running:
        yield running


def engine() -> WebEngine:
    return WebEngine(WebEngineConfig(allow_private=True, fetch_timeout=30.0))


def job(*urls: str) -> ResearchJob:
    return ResearchJob(
        task_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        title="t",
        input_source="\n".join(urls),
        source_type=SourceType.URLS,
    )


async def read(url: str) -> SourceReport:
    web = engine()
    async with web.client() as client:
        report, _ = await web.read(client, url)
    return report


@pytest.mark.parametrize(
    ("kind", "encoding"),
    [
        ("gzip", "gzip"),
        ("gzip", "x-gzip"),
        ("deflate", "deflate"),
        ("raw-deflate", "deflate"),
        ("gzip, gzip", "gzip, gzip"),
    ],
)
async def test_a_compression_bomb_is_refused_with_bounded_memory(
    site: LocalSite, bombs: dict[str, bytes], kind: str, encoding: str
) -> None:
    site.encoded("/bomb", bombs[kind], encoding=encoding)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        report = await read(site.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.status == "failed"
    assert report.error == f"the page is larger than the limit of {2 * MiB} bytes"
    assert peak - before < PEAK_BUDGET, f"peak grew by {(peak - before) / MiB:.1f} MiB"


async def test_three_bombs_at_once_stay_within_the_budget(site: LocalSite, bombs: dict[str, bytes]) -> None:
    for index in range(3):
        site.encoded(f"/bomb{index}", bombs["gzip"], encoding="gzip")
    site.page("/ok", PAGE)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        insight = await engine().research(
            job(*(site.url(f"/bomb{i}") for i in range(3)), site.url("/ok")), _ticks
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [s.status for s in insight.sources] == ["failed", "failed", "failed", "ok"]
    assert peak - before < PEAK_BUDGET, f"peak grew by {(peak - before) / MiB:.1f} MiB"


async def _ticks(percent: int, message: str) -> None:
    return None


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(PAGE)),
        ("deflate", zlib.compress(PAGE)),
        ("deflate", zlib.compress(PAGE, wbits=-15)),
        ("gzip, deflate", zlib.compress(gzip.compress(PAGE))),
        ("identity", PAGE),
        # Two gzip members, as concatenating compressed files gives.
        ("gzip", gzip.compress(PAGE[:40]) + gzip.compress(PAGE[40:])),
    ],
    # Named, not derived from the bytes: gzip stamps the time, and every xdist worker must
    # collect the same test ids.
    ids=["gzip", "zlib-deflate", "raw-deflate", "gzip-in-deflate", "identity", "two-gzip-members"],
)
async def test_compressed_pages_are_read(site: LocalSite, encoding: str, body: bytes) -> None:
    site.encoded("/packed", body, encoding=encoding)
    report = await read(site.url("/packed"))
    assert report.status == "ok", report.error
    assert report.title == "Packed page"


async def test_an_encoding_that_is_not_decoded_is_refused(site: LocalSite) -> None:
    site.encoded("/br", b"\x1b\x00\x00", encoding="br")
    site.encoded("/broken", b"\x1f\x8b not gzip at all", encoding="gzip")
    assert (await read(site.url("/br"))).error == "the page is encoded with br, which is not read"
    assert (await read(site.url("/broken"))).error == "the page's gzip encoding is corrupt"


async def test_the_engine_asks_only_for_encodings_it_decodes(site: LocalSite) -> None:
    seen: list[str] = []

    def handler(request: object) -> None:
        seen.append(request.headers.get("Accept-Encoding", ""))  # type: ignore[attr-defined]
        site_page(request)

    site.page("/page", PAGE)
    site_page = site.routes["/page"]
    site.routes["/echo"] = handler  # type: ignore[assignment]
    assert (await read(site.url("/echo"))).status == "ok"
    assert seen == ["gzip, deflate"]
