"""Typed settings, read once from ``AICLONE_*`` environment variables (and an optional ``.env``).

Settings come in slices, one per part of the product (``settings.auth``, ``settings.webhooks``,
``settings.research``, …), each in its own module with its fields, its checks and the types its
domain uses; each service receives its slice. Every field is one variable, named by its slice
(``settings.webhooks.timeout_seconds`` is ``AICLONE_WEBHOOK_TIMEOUT_SECONDS``). A bad value stops
the process at start with a message naming the variable; nothing is read lazily later.
Defaults run the whole product locally on an embedded SQLite file; ``AICLONE_ENV=production``
refuses the defaults that are only safe on a developer's machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
from dotenv import dotenv_values

from aiclone.settings.auth import MIN_SECRET_KEY_LENGTH, OWASP_ARGON2_MIN_MEMORY_KIB, AuthSettings
from aiclone.settings.database import DatabaseSettings
from aiclone.settings.env import ENV_PREFIX, SettingsError, Slice, build, var, variables
from aiclone.settings.events import EventSettings
from aiclone.settings.live import LiveSettings
from aiclone.settings.llm import LLMSettings
from aiclone.settings.mail import AccountSettings, MailSettings
from aiclone.settings.rate_limit import RateLimitSettings
from aiclone.settings.research import RESEARCH_ENGINE_NAMES, ResearchSettings
from aiclone.settings.secret_key import persistent_dev_key
from aiclone.settings.server import ServerSettings
from aiclone.settings.webhooks import WebhookSettings

__all__ = [
    "MIN_SECRET_KEY_LENGTH",
    "OWASP_ARGON2_MIN_MEMORY_KIB",
    "RESEARCH_ENGINE_NAMES",
    "AccountSettings",
    "AuthSettings",
    "DatabaseSettings",
    "EventSettings",
    "LLMSettings",
    "LiveSettings",
    "MailSettings",
    "RateLimitSettings",
    "ResearchSettings",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "WebhookSettings",
    "load_settings",
    "var",
]


class Core(Slice, frozen=True, kw_only=True):
    """The variables of the whole process (the fields of :class:`Settings` that are no slice)."""

    env: Literal["development", "test", "production"] = "development"
    debug: bool = False
    data_dir: str = "./var"
    run_workers: bool = True


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    env: Literal["development", "test", "production"] = "development"
    debug: bool = False
    data_dir: str = "./var"
    run_workers: bool = True
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    events: EventSettings = msgspec.field(default_factory=EventSettings)
    research: ResearchSettings = msgspec.field(default_factory=ResearchSettings)
    llm: LLMSettings = msgspec.field(default_factory=LLMSettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    webhooks: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    live: LiveSettings = msgspec.field(default_factory=LiveSettings)
    mail: MailSettings = msgspec.field(default_factory=MailSettings)
    accounts: AccountSettings = msgspec.field(default_factory=AccountSettings)

    def __post_init__(self) -> None:
        for part in self.slices():
            part.check_env(production=self.production)
        if self.production and self.debug:
            raise SettingsError(f"{var('debug')} may not be true when AICLONE_ENV=production")

    def slices(self) -> Iterator[Slice]:
        for field in msgspec.structs.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Slice):
                yield value

    @classmethod
    def compose(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from values keyed by variable name (``{"webhook_timeout_seconds": 5}``).

        Text is converted as it is from the environment; a name that is no variable is an error.
        """
        grouped = _group(values)
        core = build(Core, grouped.pop(None, {}))
        parts: dict[str, Any] = {
            where: build(kind, grouped.get(where, {})) for where, kind in _SLICES.items()
        }
        return cls(**msgspec.structs.asdict(core), **parts)

    def variables(self) -> dict[str, Any]:
        """Every variable's value, keyed by variable name (lower case, without the prefix)."""
        return {name: getattr(self._part(where), field) for name, (where, field) in _VARIABLES.items()}

    def replace(self, **values: Any) -> Settings:
        """A copy with some variables changed (keyed like :meth:`compose`), checked again."""
        changes: dict[str, Any] = {}
        for where, named in _group(values).items():
            if where is None:
                now = {name: getattr(self, field) for name, field in variables(Core).items()}
                changes.update(msgspec.structs.asdict(build(Core, {**now, **named})))
            else:
                changes[where] = build(_SLICES[where], {**_own(self._part(where)), **named})
        return msgspec.structs.replace(self, **changes)

    def _part(self, where: str | None) -> Any:
        return self if where is None else getattr(self, where)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def email_verification_required(self) -> bool:
        if self.accounts.require_email_verification == "auto":
            return self.production
        return self.accounts.require_email_verification == "true"

    @property
    def resolved_public_url(self) -> str:
        """Base of the links in mails, without a trailing slash."""
        return self.accounts.public_url.rstrip("/") if self.accounts.public_url else self.server.url

    @property
    def mail_dir(self) -> Path:
        return Path(self.data_dir) / "mail"

    @property
    def json_logs(self) -> bool:
        return self.server.log_format == "json" or (self.server.log_format == "auto" and self.production)

    @property
    def shutdown_drain(self) -> float:
        """Seconds of 503s between SIGTERM and the server's stop (see aiclone.web.drain)."""
        if self.server.shutdown_drain_seconds is not None:
            return self.server.shutdown_drain_seconds
        return 5.0 if self.production else 0.0

    @property
    def resolved_database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{Path(self.data_dir).resolve() / 'aiclone.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def secure_cookies(self, *, https: bool) -> bool:
        """Whether cookies get ``Secure``: over https, and always in production (TLS is usually
        terminated by a proxy, so the app itself may see plain http)."""
        return https or self.production

    def with_secret(self) -> Settings:
        """Return settings whose secret key is set, persisting a development key if needed.

        The generated key lives in the data directory beside the embedded database
        (``<data_dir>/secret_key``, mode 0600) and is created once, so every worker process of one
        installation reads the same key and tokens survive restarts.
        """
        if self.auth.secret_key:
            return self
        if self.production:  # pragma: no cover - rejected in __post_init__
            raise SettingsError(f"{var('secret_key')} is required in production")
        return self.replace(secret_key=persistent_dev_key(Path(self.data_dir)))


_SLICES: dict[str, type[Slice]] = {
    field.name: field.type
    for field in msgspec.structs.fields(Settings)
    if isinstance(field.type, type) and issubclass(field.type, Slice)
}
# Variable name -> (slice holding it, or None for the core fields; field name).
_VARIABLES: dict[str, tuple[str | None, str]] = {
    **{name: (None, field) for name, field in variables(Core).items()},
    **{name: (where, field) for where, kind in _SLICES.items() for name, field in variables(kind).items()},
}


def _group(values: Mapping[str, Any]) -> dict[str | None, dict[str, Any]]:
    """Values keyed by variable name, grouped by the slice that holds them (None: the core)."""
    unknown = set(values) - set(_VARIABLES)
    if unknown:
        raise TypeError(f"not settings: {', '.join(sorted(unknown))}")
    grouped: dict[str | None, dict[str, Any]] = {}
    for name, value in values.items():
        grouped.setdefault(_VARIABLES[name][0], {})[name] = value
    return grouped


def _own(part: Slice) -> dict[str, Any]:
    """A slice's values keyed by variable name."""
    return {f.encode_name: getattr(part, f.name) for f in msgspec.structs.fields(part)}


def _read_dotenv(path: Path) -> dict[str, str]:
    """The ``AICLONE_*`` entries of a ``.env`` file, taken literally (no ``${VAR}`` expansion)."""
    if not path.is_file():
        return {}
    return {
        key: value
        for key, value in dotenv_values(path, interpolate=False).items()
        if key.startswith(ENV_PREFIX) and value is not None
    }


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build settings from the environment; the real environment wins over ``.env``.

    Each variable is converted on its own, so a bad value is reported with its own name; each
    slice then checks its own rules, and the production refusals run last. Variables with the
    prefix that name no setting are ignored (other tools, such as the test suite, use the prefix).
    """
    source: dict[str, str] = {}
    if dotenv is not None:
        source.update(_read_dotenv(dotenv))
    source.update(os.environ if environ is None else environ)
    values = {
        name: raw
        for key, raw in source.items()
        if key.startswith(ENV_PREFIX) and (name := key.removeprefix(ENV_PREFIX).lower()) in _VARIABLES
    }
    return Settings.compose(values)
