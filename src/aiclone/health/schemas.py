from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

DatabaseState = Literal["ok", "unreachable"]
SchemaState = Literal["head", "behind", "empty", "unknown"]


class Liveness(msgspec.Struct):
    status: Literal["ok"]
    time: dt.datetime


class Readiness(msgspec.Struct):
    status: Literal["ok"]
    database: Literal["ok"]
    schema: Literal["head"]


class NotReady(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem with two extension members that say which check failed."""

    type: str
    title: str
    status: int
    detail: str
    database: DatabaseState
    schema: SchemaState
    instance: str | None = None
