"""Every table of the application, imported so ``Base.metadata`` is complete.

Alembic's autogenerate and the models-versus-migrations test read this module; each domain
package adds its ``models`` import here.
"""

from __future__ import annotations

from aiclone.activities.models import Activity
from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.auth.models import RefreshToken, User
from aiclone.db import Base
from aiclone.events.models import Event, EventCounter
from aiclone.notifications.models import Notification

metadata = Base.metadata

__all__ = [
    "Activity",
    "AnalyticsCounter",
    "Base",
    "Event",
    "EventCounter",
    "Notification",
    "ProspectFunnelEntry",
    "RefreshToken",
    "User",
    "metadata",
]
