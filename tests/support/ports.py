"""Free TCP ports on 127.0.0.1 for the servers the tests start."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick); the caller binds it soon after."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# How long a starting server may take to answer its readiness probe. The wait polls, so a quick
# start costs nothing; the bound only decides when a server that never comes up fails its test,
# and a busy machine (several servers migrating and importing at once) must not be that.
SERVER_READY_SECONDS = 180.0
