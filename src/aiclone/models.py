"""Every table of the application, imported so ``Base.metadata`` is complete.

Alembic's autogenerate and the models-versus-migrations test read this module; each domain
package adds its ``models`` import here (one line each).
"""

from __future__ import annotations

# ruff: noqa: F401 - imported for their side effect of registering tables on Base.metadata
from aiclone.accounts.models import AccountToken
from aiclone.activities.models import Activity
from aiclone.analytics.models import AnalyticsCounter, ProspectFunnelEntry
from aiclone.apikeys.models import ApiKey
from aiclone.auth.models import RefreshToken, User, UserSession
from aiclone.automations.models import Automation
from aiclone.content.models import ContentItem
from aiclone.db import Base
from aiclone.events.models import Event, EventCounter
from aiclone.live.models import StreamInstance, StreamPresence, StreamTicket
from aiclone.mail.models import OutboxMail
from aiclone.notifications.models import Notification
from aiclone.outreach.models import OutreachMessage
from aiclone.prospects.models import Prospect
from aiclone.research.models import ResearchTask
from aiclone.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

metadata = Base.metadata
