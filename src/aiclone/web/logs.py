"""Log formatting: JSON lines in production, a readable line elsewhere, never a secret.

``AICLONE_LOG_FORMAT`` (auto/json/text) picks the format; auto means JSON when
``AICLONE_ENV=production``. Records carry their ``extra=`` fields: as keys of the JSON object,
or as ``key=value`` after the message in text mode.

Nothing here logs headers or bodies. As a second line of defence every formatted line is
scrubbed of bearer credentials and JWT-shaped strings, and :func:`redact_query` hides the
values of query parameters whose names suggest a secret (``token``, ``ticket``, ``password``…).
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.config
import re
import sys
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar.logging import LoggingConfig

from aiclone.settings import Settings

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"token|ticket|passw|secret|signature|auth|session|cookie|api[-_]?key|^key$|^code$|^sig$", re.IGNORECASE
)
_SCRUB = re.compile(
    r"(?i:bearer)\s+[A-Za-z0-9\-_.~+/=]{8,}"  # "Bearer <credential>"
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # a JWT
    r"|ack_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}"  # an API key (aiclone.auth.keytext)
)
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# LogRecord's own attributes; everything else on a record came in through ``extra=``.
# (uvicorn's ``color_message`` is its message again, with terminal colour codes.)
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def scrub(text: str) -> str:
    return _SCRUB.sub(REDACTED, text)


def redact_query(query_string: bytes | str) -> str:
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    if not text:
        return ""
    pairs = parse_qsl(text, keep_blank_values=True)
    return urlencode(
        [
            (key, REDACTED if _SECRET_NAME.search(key) or _SCRUB.search(value) else value)
            for key, value in pairs
        ]
    )


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return scrub(msgspec.json.encode(entry, enc_hook=str).decode())


def escape_controls(text: str) -> str:
    """``\\n``, ``\\r``, ``\\t``, ``\\xNN``, ``\\uNNNN`` for control and line-separator characters."""
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class TextFormatter(logging.Formatter):
    """One line per record: the message and every extra have their control characters escaped,
    so a value from a client (a path with ``%0a``) cannot start a line of its own. A traceback
    keeps its lines. (JSON lines need none of this: the encoder escapes them.)"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escape_controls(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras and not getattr(record, "access", False):
            fields = " ".join(f"{key}={value}" for key, value in extras.items())
            line += " " + escape_controls(fields)
        return scrub(line)


def logging_config(settings: Settings) -> LoggingConfig:
    formatter = JsonFormatter if settings.json_logs else TextFormatter
    return LoggingConfig(
        root={"level": settings.server.log_level, "handlers": ["queue_listener"]},
        formatters={"standard": {"()": formatter}},
        loggers={"aiclone": {"level": settings.server.log_level, "propagate": True}},
        log_exceptions="never",
    )


# The loggers of the HTTP servers themselves (their start, stop and error lines).
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "_granian", "granian.access")


def json_log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that writes every record as one JSON line on stderr.

    Given to uvicorn (``log_config``) and granian (``log_dictconfig``), which configure logging
    in every worker process they start, so their own lines come out like the app's.
    """
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            name: {"handlers": ["json"], "level": level, "propagate": False} for name in SERVER_LOGGERS
        },
        "root": {"handlers": ["json"], "level": level},
    }


def configure_process_logging(settings: Settings) -> None:
    """Logging of a command before (or without) the app: alembic's lines, uncaught errors.

    In JSON mode an uncaught exception is one JSON line with its traceback in ``exception``
    (not Python's plain-text traceback), and warnings go through logging too.
    """
    if not settings.json_logs:
        logging.basicConfig(level=settings.server.log_level, format="%(levelname)-7s %(name)s: %(message)s")
        return
    logging.config.dictConfig(json_log_config(settings.server.log_level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    logging.getLogger("aiclone").critical("uncaught exception", exc_info=(kind, error, trace))
