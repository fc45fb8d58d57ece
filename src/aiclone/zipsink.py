"""A write-only file for :mod:`zipfile`, emptied piece by piece.

A streamed response builds its archive into a :class:`ZipSink` and sends what it holds after
every batch (:meth:`ZipSink.take`), so a large export is never held in memory whole.
"""

from __future__ import annotations


class ZipSink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        """What was written since the last call."""
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data
