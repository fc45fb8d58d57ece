"""Content-Encoding decoded as the body streams, in bounded steps.

httpx decodes each network chunk whole before handing it on, so 64 KB of a gzip bomb arrives
as 64 MB of zeros before a caller can count a byte. Here the engine reads the raw (undecoded)
stream and inflates it with :mod:`zlib` in steps of at most :data:`STEP` bytes of output (the
``max_length`` of ``decompressobj.decompress``; the rest of the input waits in
``unconsumed_tail``), so the caller can stop at its size limit with at most one step per layer
in memory, whatever the compression ratio.

Decoded: ``gzip`` (also ``x-gzip``, and several members one after another), ``deflate`` (zlib
wrapped, or raw as some servers send it) and ``identity``, stacked up to :data:`MAX_LAYERS`
deep (``Content-Encoding: gzip, gzip``). Anything else (``br``, ``zstd``, ``compress``) is
refused: the engine only asks for what it decodes (:data:`ACCEPT_ENCODING`).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

STEP = 64 * 1024
MAX_LAYERS = 3
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = zlib.MAX_WBITS | 16
_ALIASES = {"x-gzip": "gzip"}


class DecodingError(Exception):
    """The body cannot be decoded; the message goes into the source's report."""


class _Inflater:
    """One layer of ``gzip`` or ``deflate``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._inflater = zlib.decompressobj(_GZIP if kind == "gzip" else zlib.MAX_WBITS)
        self._started = False
        self._members = 1
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data``, yielding pieces of at most :data:`STEP` bytes."""
        while not self._done:
            if self._inflater.eof:
                data = self._inflater.unused_data + data
                if not data:
                    return
                if self.kind != "gzip":
                    self._done = True  # bytes after the end of a deflate stream are ignored
                    return
                self._inflater = zlib.decompressobj(_GZIP)  # the next gzip member
                self._members += 1
            try:
                out = self._inflater.decompress(data, STEP)
            except zlib.error:
                self._recover()
                continue
            self._started = True
            if out:
                yield out
            data = self._inflater.unconsumed_tail
            if not data and len(out) < STEP and not self._inflater.eof:
                return

    def _recover(self) -> None:
        if self.kind == "deflate" and not self._started:
            # "deflate" without the zlib wrapper: start again as raw deflate.
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self._started = True
        elif self.kind == "gzip" and self._members > 1:
            self._done = True  # padding or junk after a complete gzip member, as browsers allow
        else:
            raise DecodingError(f"the page's {self.kind} encoding is corrupt")


def content_codings(header: str) -> list[str]:
    """The codings of a ``Content-Encoding`` header in the order they were applied."""
    names = [_ALIASES.get(name, name) for name in (part.strip().lower() for part in header.split(","))]
    codings = [name for name in names if name and name != "identity"]
    for name in codings:
        if name not in ("gzip", "deflate"):
            raise DecodingError(f"the page is encoded with {name[:40]}, which is not read")
    if len(codings) > MAX_LAYERS:
        raise DecodingError(f"the page is encoded {len(codings)} times over; at most {MAX_LAYERS} are read")
    return codings


async def decoded_chunks(raw: AsyncIterator[bytes], header: str) -> AsyncIterator[bytes]:
    """The body of ``raw`` (bytes as they came off the wire) with ``header``'s codings undone."""
    layers = [_Inflater(kind) for kind in reversed(content_codings(header))]
    async for chunk in raw:
        if not layers:
            yield chunk
            continue
        for piece in _through(layers, chunk):
            yield piece


def _through(layers: list[_Inflater], chunk: bytes) -> Iterator[bytes]:
    first, rest = layers[0], layers[1:]
    for piece in first.feed(chunk):
        if rest:
            yield from _through(rest, piece)
        else:
            yield piece
