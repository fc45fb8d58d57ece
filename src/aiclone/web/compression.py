"""Response compression (gzip) for large text and JSON, never for event streams.

Litestar's compression middleware compresses whatever it is given, streaming bodies included;
a gzip stream buffers, so Server-Sent Events would stall. This subclass decides per response,
from its Content-Type: JSON, problem+json, HTML, CSS, JavaScript, plain text and SVG bodies of
at least ``MINIMUM_SIZE`` bytes are compressed; ``text/event-stream`` and everything else
(already compressed images, downloads, a response that already has a Content-Encoding) pass
through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from litestar.config.compression import CompressionConfig
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Scope, Send

MINIMUM_SIZE = 1024
# Level 6 is zlib's default: most of level 9's ratio for a fraction of its CPU.
GZIP_LEVEL = 6
_COMPRESSIBLE_PREFIXES = (
    b"application/json",
    b"application/problem+json",
    b"application/vnd.oai.openapi+json",
    b"application/javascript",
    b"text/html",
    b"text/css",
    b"text/javascript",
    b"text/plain",
    b"image/svg+xml",
)


def is_compressible(content_type: bytes) -> bool:
    value = content_type.lower().lstrip()
    if value.startswith(b"text/event-stream"):
        return False
    return value.startswith(_COMPRESSIBLE_PREFIXES)


class SelectiveCompressionMiddleware(CompressionMiddleware):
    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Literal[CompressionEncoding.BROTLI, CompressionEncoding.GZIP] | str,
        scope: Scope,
    ) -> Send:
        # The compressor (a gzip stream and its buffer) is made only for a response that will be
        # compressed: most API answers are smaller than MINIMUM_SIZE and say so in Content-Length.
        target = send

        async def choose(message: Message) -> None:
            nonlocal target
            if message["type"] == "http.response.start" and _wants_compression(message.get("headers", ())):
                target = super(SelectiveCompressionMiddleware, self).create_compression_send_wrapper(
                    send, compression_encoding, scope
                )
            await target(message)

        return choose


def _wants_compression(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    content_type = b""
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-type":
            content_type = value
        elif lowered == b"content-encoding" or (
            lowered == b"content-length" and value.isdigit() and int(value) < MINIMUM_SIZE
        ):
            return False  # already encoded, or too small to gain anything
    return is_compressible(content_type)


def compression_config() -> CompressionConfig:
    return CompressionConfig(
        backend="gzip",
        minimum_size=MINIMUM_SIZE,
        gzip_compress_level=GZIP_LEVEL,
        middleware_class=SelectiveCompressionMiddleware,
    )
