"""The per-process singletons: database, event backbone, domain services, background jobs.

Built from settings by the app factory and by the CLI (``aiclone worker``, admin commands), so
HTTP handlers, workers and commands share one way of wiring the product.
"""

from __future__ import annotations

import datetime as dt
import uuid

from aiclone.accounts.memory import AccountMemory
from aiclone.accounts.service import AccountService
from aiclone.accounts.setup import build_account_flows
from aiclone.activities.feed import ActivityFeedHook
from aiclone.activities.service import ActivityService
from aiclone.admin.service import AdminService
from aiclone.analytics.counters import AnalyticsCounterHook, DeliveryCounterHook, TokenUsageCounters
from aiclone.analytics.export import ExportService
from aiclone.analytics.service import AnalyticsService
from aiclone.apikeys.credentials import StoredKeys
from aiclone.apikeys.service import ApiKeyService
from aiclone.apikeys.usage import KeyUsage
from aiclone.auth.identity import IdentityGate
from aiclone.auth.password_change import PasswordChangeService
from aiclone.auth.passwords import PasswordHasher
from aiclone.auth.service import AuthService
from aiclone.auth.sessions import SessionRevoker, SessionService
from aiclone.auth.tokens import TokenCodec
from aiclone.automations.hook import AutomationHook
from aiclone.automations.runs import AutomationRunner
from aiclone.automations.service import AutomationService
from aiclone.content.service import ContentService
from aiclone.db import Database
from aiclone.drafting.drafter import LLMDrafter
from aiclone.drafting.service import DraftingService
from aiclone.events.broker import EventBroker, MemoryBroker, PostgresBroker
from aiclone.events.log import EventLog
from aiclone.health.service import HealthService
from aiclone.live.credentials import StreamAuthenticator
from aiclone.live.hub import StreamHub
from aiclone.live.jobs import StreamTicketPruneJob
from aiclone.live.revocation import StreamRevocation
from aiclone.live.service import LiveEventService
from aiclone.llm import LLMClient, LLMConfig
from aiclone.mail.worker import MailWorker
from aiclone.metrics import Metrics
from aiclone.migrate import head_revisions
from aiclone.models import metadata
from aiclone.notifications.service import NotificationService
from aiclone.outreach.service import OutreachService
from aiclone.prospects.service import ProspectService
from aiclone.ratelimit.setup import RateLimiting
from aiclone.research.engines import build_engines
from aiclone.research.metrics import TaskStateMetricsHook
from aiclone.research.queue import ResearchQueue
from aiclone.research.runner import ResearchRunner, RunnerConfig
from aiclone.research.service import ResearchService
from aiclone.research.usage import TokenBudget, TokenPrices
from aiclone.settings import Settings
from aiclone.webhooks.delivery import DeliveryRetentionJob, DeliveryWorker
from aiclone.webhooks.flavours import Renderer
from aiclone.webhooks.hook import WebhookDeliveryHook
from aiclone.webhooks.outcomes import OutcomeRecorder, RetryPolicy
from aiclone.webhooks.sender import Sender, user_agent
from aiclone.webhooks.service import WebhookService
from aiclone.webhooks.signing import SecretBox
from aiclone.webhooks.subscriptions import SubscriptionService
from aiclone.webhooks.transport import WebhookNetwork
from aiclone.workers import BackgroundJob, EventRetentionJob, WorkerGroup

# How long the identity gate trusts a verdict it read (see aiclone.auth.identity).
SQLITE_VERDICT_SECONDS = 0.5
POSTGRES_VERDICT_SECONDS = 30.0


class Services:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._wire_backbone(settings)
        self.codec = TokenCodec(settings.auth)
        self.hasher = PasswordHasher(settings.auth)
        self.metrics = Metrics()
        self.metrics.watch_database(self.db.outages)
        # The language model provider, shared by the llm research engine and drafting.
        self.llm = LLMClient(LLMConfig.from_settings(settings.llm), metrics=self.metrics)
        self.rate_limiting = RateLimiting.from_settings(settings.rate_limit, self.metrics)
        self._wire_identity()
        self._wire_accounts(settings)
        self.health = HealthService(self.db, head_revisions())
        self.admin = AdminService(self.db, self.session_revoker)
        self._wire_research(settings)
        self.prospects = ProspectService(self.db, self.events)
        self.outreach = OutreachService(self.db, self.events)
        self.content = ContentService(self.db, self.events)
        self._wire_drafting(settings)
        self._wire_webhooks(settings)
        # Registered last: the triggering event's own feed line, counters and deliveries are
        # written before a rule's action records events of its own.
        automation_runner = AutomationRunner(self.events, self.notifications)
        self.events.add_hook(AutomationHook(automation_runner))
        self.automations = AutomationService(self.db, automation_runner)
        self._wire_live(settings)
        self.account_data = AccountService(
            self.db,
            self.hasher,
            self.session_revoker,
            metadata,
            failed_logins=self.rate_limiting.failed_logins if self.rate_limiting else None,
            max_concurrent_exports=settings.server.max_concurrent_exports,
        )
        # After an erasure commits (other instances refuse the tokens through the identity signal).
        self.account_data.on_erased.append(self._end_streams_of_erased_user)
        self.jobs: list[BackgroundJob] = [
            EventRetentionJob(self.db, max_age=dt.timedelta(days=settings.events.retention_days)),
            self.webhook_worker,
            DeliveryRetentionJob(
                self.db, max_age=dt.timedelta(days=settings.webhooks.delivery_retention_days)
            ),
            StreamTicketPruneJob(self.db),
            self.mail_worker,
            self.research_runner,
        ]
        self.workers = WorkerGroup(self.jobs)

    def _wire_backbone(self, settings: Settings) -> None:
        database = settings.database
        self.db = Database(
            settings.resolved_database_url,
            pool_size=database.pool_size,
            connect_timeout=database.connect_timeout_seconds,
            pool_timeout=database.pool_timeout_seconds,
            statement_timeout=database.statement_timeout_seconds,
        )
        self.broker: EventBroker = (
            MemoryBroker(queue_size=settings.events.queue_size)
            if self.db.is_sqlite
            else PostgresBroker(
                self.db.engine,
                self.db.url,
                queue_size=settings.events.queue_size,
                connect_timeout=database.connect_timeout_seconds,
            )
        )
        self.events = EventLog(self.broker, max_payload_bytes=settings.events.max_payload_bytes)
        self.notifications = NotificationService(self.db, self.events)
        self.activities = ActivityService(self.db)
        self.events.add_hook(ActivityFeedHook(self.events))
        self.events.add_hook(AnalyticsCounterHook())
        self.analytics = AnalyticsService(
            self.db, prices=TokenPrices(settings.llm.price_input_per_mtok, settings.llm.price_output_per_mtok)
        )
        self.exports = ExportService(self.db, max_concurrent=settings.server.max_concurrent_exports)

    def _wire_accounts(self, settings: Settings) -> None:
        failed_logins = self.rate_limiting.failed_logins if self.rate_limiting else None
        self.key_usage = KeyUsage(self.db)
        self.api_keys = ApiKeyService(self.db, self.broker)
        self.auth = AuthService(
            self.db,
            settings.auth,
            self.hasher,
            self.codec,
            sessions=self.session_revoker,
            failed_logins=failed_logins,
            email_verification_required=settings.email_verification_required,
        )
        self.user_sessions = SessionService(self.db, self.session_revoker)
        self.password_change = PasswordChangeService(
            self.db, settings.auth, self.hasher, self.session_revoker, failed_logins
        )
        self.mail_worker = MailWorker.from_settings(
            self.db, settings.mail, mail_dir=settings.mail_dir, production=settings.production
        )
        self.account_memory = AccountMemory(
            self.db, max_age=self.identity.max_age, listening=lambda: self.broker.listening
        )
        self.broker.add_identity_listener(self.account_memory.on_signal)
        self.accounts = build_account_flows(
            self.db,
            settings,
            self.hasher,
            self.mail_worker,
            self.auth,
            self.rate_limiting,
            self.account_memory,
        )

    def _wire_research(self, settings: Settings) -> None:
        research = settings.research
        self.events.add_hook(TaskStateMetricsHook(self.metrics.research_tasks))
        self.research_engines = build_engines(research, settings.llm, self.llm)
        # Language-model tokens: the daily budget checked when a task is queued (aiclone.research.usage).
        self.token_counters = TokenUsageCounters()
        budget = TokenBudget(
            self.token_counters,
            settings.llm.daily_tokens_per_user,
            reservation=settings.llm.max_output_tokens,
        )
        self.research = ResearchService(
            self.db, self.events, max_urls=research.max_urls, engines=self.research_engines, budget=budget
        )
        self.research_queue = ResearchQueue(
            self.db,
            self.events,
            self.token_counters,
            lease_seconds=research.lease_seconds,
            max_interruptions=research.max_interruptions,
        )
        self.research_runner = ResearchRunner(
            self.research_queue, self.broker, self.research_engines, RunnerConfig.from_settings(research)
        )

    def _wire_live(self, settings: Settings) -> None:
        # Streams are held by the serving process only: the app's lifespan starts and stops the hub.
        self.stream_hub = StreamHub(
            self.db, self.broker, settings.live, connect_timeout=settings.database.connect_timeout_seconds
        )
        # Open streams end when their session or account stops standing, on every instance.
        self.stream_revocation = StreamRevocation(self.stream_hub, self.identity)
        self.broker.add_identity_listener(self.stream_revocation.on_signal)
        self.live = LiveEventService(
            self.db,
            self.stream_hub,
            StreamAuthenticator(self.db, settings.auth, settings.live, self.codec, self.identity),
            self.notifications,
            settings,
        )

    async def _end_streams_of_erased_user(self, user_id: uuid.UUID) -> None:
        self.stream_hub.end_user_streams(user_id)

    def _wire_drafting(self, settings: Settings) -> None:
        # Drafting tasks run in the research runner; without a provider they are refused at creation.
        if self.llm.config.configured:
            self.research_runner.drafter = LLMDrafter(
                self.llm,
                self.events,
                self.prospects,
                self.research,
                max_output_tokens=settings.llm.max_output_tokens,
            )
        self.drafting = DraftingService(
            self.research, self.prospects, unavailable_reason=lambda: self.llm.config.unavailable_reason
        )

    def _wire_identity(self) -> None:
        # SQLite: the command line writes from another process, which no signal reaches.
        broker = self.broker
        self.identity = IdentityGate(
            self.db,
            keys=StoredKeys(self.db),
            max_age=SQLITE_VERDICT_SECONDS if self.db.is_sqlite else POSTGRES_VERDICT_SECONDS,
            listening=lambda: broker.listening,
        )
        broker.add_identity_listener(self.identity.on_signal)
        self.session_revoker = SessionRevoker(broker)

    def _wire_webhooks(self, settings: Settings) -> None:
        hooks = settings.webhooks
        renderer = Renderer(public_url=settings.resolved_public_url)
        self.events.add_hook(
            WebhookDeliveryHook(max_payload_bytes=hooks.max_payload_bytes, renderer=renderer)
        )
        network = WebhookNetwork(
            allow_private=hooks.allow_private, production=settings.production, slack_hosts=hooks.slack_hosts
        )
        self.webhook_sender = Sender(
            network,
            user_agent=user_agent(),
            connect_timeout=hooks.connect_timeout_seconds,
            total_timeout=hooks.timeout_seconds,
            endpoint_concurrency=hooks.endpoint_concurrency,
        )
        box = SecretBox(settings.auth.secret_key)
        recorder = OutcomeRecorder(
            RetryPolicy.from_settings(hooks),
            self.notifications,
            # Settled deliveries move the analytics counters, as events do through the event log's hook.
            counters=DeliveryCounterHook(),
            attempts=self.metrics.webhook_deliveries,
        )
        self.webhooks = WebhookService(
            self.db,
            network=network,
            sender=self.webhook_sender,
            box=box,
            recorder=recorder,
            renderer=renderer,
            settings=hooks,
        )
        self.webhook_worker = DeliveryWorker(self.db, self.broker, self.webhook_sender, recorder, box, hooks)
        self.webhooks.wake_workers = self.webhook_worker.wake
        self.hooks = SubscriptionService(self.db, self.webhooks)

    async def start(self, *, run_workers: bool) -> None:
        await self.broker.start()
        if run_workers:
            await self.workers.start()

    async def stop(self) -> None:
        await self.workers.stop()
        await self.stream_revocation.stop()
        await self.key_usage.stop()
        await self.webhook_sender.aclose()
        await self.llm.aclose()
        await self.broker.stop()
        await self.db.dispose()
