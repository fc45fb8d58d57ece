"""Keeps stream tickets out of logs.

aiclone's own code never logs a query string, and ``aiclone serve`` turns access logs off. A
deployment that runs the app under a server with access logging on would still write request
lines; this filter, attached to the servers' access loggers, replaces ticket values there.
"""

from __future__ import annotations

import logging
import re

_TICKET = re.compile(r"(ticket=)[^&\s\"']+", re.IGNORECASE)
ACCESS_LOGGERS = ("uvicorn.access", "granian.access", "hypercorn.access")


def redact(text: str) -> str:
    return _TICKET.sub(r"\1[redacted]", text)


class TicketRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "ticket=" in record.msg.lower():
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_ticket_redaction() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TicketRedactor) for f in logger.filters):
            logger.addFilter(TicketRedactor())
