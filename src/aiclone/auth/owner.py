"""``Owner``: whose data a request acts on, resolved once per request for every handler that asks.

The app provides it app-wide (``dependencies={"owner": Provide(provide_owner)}``); a handler
takes ``owner: Owner`` and passes it to its service. It is the caller's id, or, for an admin,
the user named by the ``user_id`` query parameter (:func:`aiclone.auth.guards.owner_scope`: a
non-admin naming another user is refused with 403, naming themselves is harmless). Only the
handlers that take ``owner`` read and document ``user_id``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from aiclone.auth.guards import owner_scope
from aiclone.auth.tokens import Principal

Owner = NamedDependency[uuid.UUID]

UserIdParam = Annotated[
    uuid.UUID | None,
    QueryParameter(
        name="user_id",
        description="Admins only: act on this user's data instead of your own (others naming another user get 403).",
    ),
]


def provide_owner(request: Request[Principal, str, Any], user_id: UserIdParam = None) -> uuid.UUID:
    return owner_scope(request.user, user_id)


OWNER_DEPENDENCY = Provide(provide_owner, sync_to_thread=False)
