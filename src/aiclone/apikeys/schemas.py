from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from aiclone.apikeys.models import NAME_MAX_LENGTH
from aiclone.auth.scopes import ApiScope

KeyName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=NAME_MAX_LENGTH, description="What the key is for.")
]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: KeyName
    scopes: Annotated[
        list[ApiScope],
        msgspec.Meta(
            min_length=1,
            max_length=len(ApiScope),
            description="What the key may do; `metrics:read` and `admin` for admins only.",
        ),
    ]
    expires_at: Annotated[
        dt.datetime | None, msgspec.Meta(description="When the key stops working (future, UTC); none: never.")
    ] = None


class ApiKeyRead(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: Annotated[str, msgspec.Meta(description="The key's public start, to recognise it; no secret.")]
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: Annotated[
        dt.datetime | None, msgspec.Meta(description="Last use, to within a minute; none: never used.")
    ]
    last_used_ip: str | None


class ApiKeyCreated(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    key: Annotated[str, msgspec.Meta(description="The key itself: shown this once, never again.")]


class ApiKeyList(msgspec.Struct):
    items: list[ApiKeyRead]
