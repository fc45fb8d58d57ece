"""Every table of the application, imported so ``Base.metadata`` is complete.

Alembic's autogenerate and the models-versus-migrations test read this module; each domain
package adds its ``models`` import here.
"""

from __future__ import annotations

from aiclone.auth.models import RefreshToken, User
from aiclone.content.models import ContentItem
from aiclone.db import Base
from aiclone.events.models import Event, EventCounter
from aiclone.outreach.models import OutreachMessage
from aiclone.prospects.models import Prospect

metadata = Base.metadata

__all__ = [
    "Base",
    "ContentItem",
    "Event",
    "EventCounter",
    "OutreachMessage",
    "Prospect",
    "RefreshToken",
    "User",
    "metadata",
]
