from __future__ import annotations

from typing import Annotated

import msgspec


class EraseAccountRequest(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[
        str, msgspec.Meta(min_length=1, max_length=1024, description="The current password, to confirm.")
    ]
