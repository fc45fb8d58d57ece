"""Settings: parsing, errors that name the variable, production refusals, the development key."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from pathlib import Path

import msgspec
import pytest

from aiclone.settings import (
    MIN_SECRET_KEY_LENGTH,
    OWASP_ARGON2_MIN_MEMORY_KIB,
    Settings,
    SettingsError,
    load_settings,
)

GOOD_KEY = "k" * MIN_SECRET_KEY_LENGTH


def load(**env: str) -> Settings:
    return load_settings({f"AICLONE_{k.upper()}": v for k, v in env.items()}, dotenv=None)


def test_defaults_need_no_configuration() -> None:
    settings = load_settings({}, dotenv=None)
    assert settings.env == "development"
    assert settings.server.port == 8000
    assert settings.server.host == "127.0.0.1"
    assert settings.auth.access_token_ttl_seconds == 1800
    assert settings.auth.jwt_algorithm == "HS256"
    assert settings.is_sqlite
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{Path('./var').resolve() / 'aiclone.db'}"


def test_values_are_parsed_into_their_types() -> None:
    settings = load(
        env="test",
        debug="true",
        port=" 9001 ",
        auto_migrate="0",
        access_token_ttl_seconds="600",
        cors_origins=" https://a.example , https://b.example,",
        log_level="debug",
        jwt_algorithm="hs512",
        database_url="postgresql+asyncpg://u:p@127.0.0.1:5432/aiclone",
    )
    assert settings.env == "test"
    assert settings.debug is True
    assert settings.server.port == 9001
    assert settings.database.auto_migrate is False
    assert settings.auth.access_token_ttl_seconds == 600
    assert settings.server.cors_origins == ("https://a.example", "https://b.example")
    assert settings.server.log_level == "DEBUG"
    assert settings.auth.jwt_algorithm == "HS512"
    assert not settings.is_sqlite


def test_unrelated_and_unknown_variables_are_ignored() -> None:
    settings = load_settings(
        {"PATH": "/bin", "AICLONE_TEST_POSTGRES_URL": "postgresql://x", "AICLONE_PORT": "8100"}, dotenv=None
    )
    assert settings.server.port == 8100


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"port": "abc"}, "AICLONE_PORT", "whole number"),
        ({"port": "0"}, "AICLONE_PORT", "positive"),
        ({"port": "70000"}, "AICLONE_PORT", "65535"),
        ({"debug": "maybe"}, "AICLONE_DEBUG", "true or false"),
        ({"env": "prod"}, "AICLONE_ENV", "development, test, production"),
        ({"log_level": "loud"}, "AICLONE_LOG_LEVEL", "one of"),
        ({"jwt_algorithm": "none"}, "AICLONE_JWT_ALGORITHM", "HS256"),
        ({"jwt_algorithm": "RS256"}, "AICLONE_JWT_ALGORITHM", "HS256"),
        ({"argon2_memory_kib": str(OWASP_ARGON2_MIN_MEMORY_KIB - 1)}, "AICLONE_ARGON2_MEMORY_KIB", "OWASP"),
        ({"argon2_time_cost": "1"}, "AICLONE_ARGON2_TIME_COST", "OWASP"),
        ({"argon2_parallelism": "0"}, "AICLONE_ARGON2_PARALLELISM", "positive"),
        ({"access_token_ttl_seconds": "-5"}, "AICLONE_ACCESS_TOKEN_TTL_SECONDS", "positive"),
        ({"max_body_bytes": "1.5"}, "AICLONE_MAX_BODY_BYTES", "whole number"),
        ({"password_min_length": "6"}, "AICLONE_PASSWORD_MIN_LENGTH", "at least 8"),
        ({"password_max_length": "5000"}, "AICLONE_PASSWORD_MAX_LENGTH", "1024"),
        ({"password_max_length": "32"}, "AICLONE_PASSWORD_MAX_LENGTH", "64"),
        (
            {"password_min_length": "100", "password_max_length": "80"},
            "AICLONE_PASSWORD_MIN_LENGTH",
            "exceed",
        ),
        ({"database_url": "mysql://root@db/x"}, "AICLONE_DATABASE_URL", "postgresql+asyncpg://"),
        ({"secret_key": "short"}, "AICLONE_SECRET_KEY", str(MIN_SECRET_KEY_LENGTH)),
    ],
)
def test_bad_values_fail_naming_the_variable(env: dict[str, str], variable: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load(**env)
    message = str(caught.value)
    assert message.startswith(variable), message
    assert fragment in message, message


def test_errors_do_not_echo_secret_values() -> None:
    with pytest.raises(SettingsError) as caught:
        load(database_url="mysql://root:hunter2@db/x")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        load(secret_key="hunter2")
    assert "hunter2" not in str(caught.value)


def test_a_bad_value_is_reported_even_beside_good_ones() -> None:
    with pytest.raises(SettingsError, match=r"^AICLONE_REFRESH_TOKEN_TTL_SECONDS must be a whole number"):
        load(port="8001", refresh_token_ttl_seconds="two weeks", debug="false")


class TestProduction:
    def test_missing_secret_key_refuses_to_start(self) -> None:
        with pytest.raises(SettingsError, match=r"^AICLONE_SECRET_KEY .*AICLONE_ENV=production"):
            load(env="production")

    def test_short_secret_key_refuses_to_start(self) -> None:
        with pytest.raises(SettingsError, match=r"^AICLONE_SECRET_KEY"):
            load(env="production", secret_key="k" * (MIN_SECRET_KEY_LENGTH - 1))

    def test_wildcard_cors_refuses_to_start(self) -> None:
        with pytest.raises(SettingsError, match=r"^AICLONE_CORS_ORIGINS may not contain '\*'"):
            load(env="production", secret_key=GOOD_KEY, cors_origins="https://app.example,*")

    def test_debug_refuses_to_start(self) -> None:
        with pytest.raises(SettingsError, match=r"^AICLONE_DEBUG"):
            load(env="production", secret_key=GOOD_KEY, debug="true")

    def test_safe_configuration_starts(self, tmp_path: Path) -> None:
        settings = load(
            env="production", secret_key=GOOD_KEY, cors_origins="https://app.example", data_dir=str(tmp_path)
        )
        assert settings.with_secret().auth.secret_key == GOOD_KEY
        assert not (tmp_path / "secret_key").exists(), "production must never generate a key"

    def test_wildcard_cors_is_allowed_in_development(self) -> None:
        assert load(cors_origins="*").server.cors_origins == ("*",)


class TestDevelopmentKey:
    def test_generated_once_and_persisted_next_to_the_database(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        first = load(data_dir=str(data_dir)).with_secret()
        key_file = data_dir / "secret_key"
        assert key_file.is_file()
        assert len(first.auth.secret_key) >= MIN_SECRET_KEY_LENGTH
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # The database lives in the same directory.
        assert Path(first.resolved_database_url.split(":///", 1)[1]).parent == data_dir.resolve()

        second = load(data_dir=str(data_dir)).with_secret()
        assert second.auth.secret_key == first.auth.secret_key
        assert [p.name for p in data_dir.iterdir()] == ["secret_key"], "no temporary files left behind"

    def test_an_explicit_key_wins_and_writes_nothing(self, tmp_path: Path) -> None:
        settings = load(data_dir=str(tmp_path), secret_key=GOOD_KEY).with_secret()
        assert settings.auth.secret_key == GOOD_KEY
        assert list(tmp_path.iterdir()) == []

    def test_concurrent_first_starts_agree_on_one_key(self, tmp_path: Path) -> None:
        settings = load(data_dir=str(tmp_path))
        keys: list[str] = []
        barrier = threading.Barrier(8)

        def start() -> None:
            barrier.wait()
            keys.append(settings.with_secret().auth.secret_key)

        threads = [threading.Thread(target=start) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(keys) == 8
        assert len(set(keys)) == 1
        assert (tmp_path / "secret_key").read_text().strip() == keys[0]

    def test_an_unusable_key_file_is_reported(self, tmp_path: Path) -> None:
        (tmp_path / "secret_key").write_text("\n")
        with pytest.raises(SettingsError, match="AICLONE_SECRET_KEY"):
            load(data_dir=str(tmp_path)).with_secret()


class TestDotenv:
    def test_dotenv_values_are_read(self, tmp_path: Path) -> None:
        dotenv = tmp_path / ".env"
        dotenv.write_text(
            "# local overrides\n"
            "AICLONE_PORT=8123\n"
            "export AICLONE_LOG_LEVEL=warning\n"
            'AICLONE_JWT_ISSUER="issuer with spaces"  # trailing comment\n'
            "AICLONE_JWT_AUDIENCE='literal ${NOT_EXPANDED}'\n"
            "OTHER_TOOL=ignored\n"
        )
        settings = load_settings({}, dotenv=dotenv)
        assert settings.server.port == 8123
        assert settings.server.log_level == "WARNING"
        assert settings.auth.jwt_issuer == "issuer with spaces"
        assert settings.auth.jwt_audience == "literal ${NOT_EXPANDED}"

    def test_environment_wins_over_dotenv(self, tmp_path: Path) -> None:
        dotenv = tmp_path / ".env"
        dotenv.write_text("AICLONE_PORT=8123\nAICLONE_HOST=0.0.0.0\n")
        settings = load_settings({"AICLONE_PORT": "9000"}, dotenv=dotenv)
        assert settings.server.port == 9000
        assert settings.server.host == "0.0.0.0"

    def test_bad_dotenv_value_names_the_variable(self, tmp_path: Path) -> None:
        dotenv = tmp_path / ".env"
        dotenv.write_text("AICLONE_AUTO_MIGRATE=sometimes\n")
        with pytest.raises(SettingsError, match=r"^AICLONE_AUTO_MIGRATE"):
            load_settings({}, dotenv=dotenv)

    def test_missing_dotenv_is_fine(self, tmp_path: Path) -> None:
        assert load_settings({}, dotenv=tmp_path / "absent.env").server.port == 8000

    def test_dotenv_is_read_from_the_working_directory_by_default(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / ".env").write_text("AICLONE_PORT=8555\n")
        monkeypatch.chdir(tmp_path)
        assert load_settings({}).server.port == 8555


@pytest.mark.parametrize(
    ("slice_name", "env", "variable", "fragment"),
    [
        ("server", {"max_header_count": "0"}, "AICLONE_MAX_HEADER_COUNT", "positive"),
        ("server", {"trusted_proxies": "not-a-net"}, "AICLONE_TRUSTED_PROXIES", "CIDR"),
        ("server", {"metrics_bind": "9100"}, "AICLONE_METRICS_BIND", "host:port"),
        ("server", {"export_max_concurrent": "0"}, "AICLONE_EXPORT_MAX_CONCURRENT", "positive"),
        ("server", {"shutdown_drain_seconds": "301"}, "AICLONE_SHUTDOWN_DRAIN_SECONDS", "between"),
        ("database", {"database_pool_size": "0"}, "AICLONE_DATABASE_POOL_SIZE", "positive"),
        (
            "database",
            {"database_statement_timeout_seconds": "0"},
            "AICLONE_DATABASE_STATEMENT_TIMEOUT_SECONDS",
            "between",
        ),
        ("auth", {"refresh_token_ttl_seconds": "0"}, "AICLONE_REFRESH_TOKEN_TTL_SECONDS", "positive"),
        ("events", {"event_queue_size": "0"}, "AICLONE_EVENT_QUEUE_SIZE", "positive"),
        ("events", {"max_event_payload_bytes": "-1"}, "AICLONE_MAX_EVENT_PAYLOAD_BYTES", "positive"),
        ("research", {"research_engines": "web,magic"}, "AICLONE_RESEARCH_ENGINES", "unknown engine"),
        ("research", {"research_lease_seconds": "0.5"}, "AICLONE_RESEARCH_LEASE_SECONDS", "at least 1"),
        ("llm", {"llm_connect_timeout_seconds": "0"}, "AICLONE_LLM_CONNECT_TIMEOUT_SECONDS", "between"),
        ("llm", {"llm_daily_tokens_per_user": "-1"}, "AICLONE_LLM_DAILY_TOKENS_PER_USER", "unlimited"),
        ("rate_limit", {"rate_limit": "often"}, "AICLONE_RATE_LIMIT", "not a rate limit"),
        ("rate_limit", {"login_failure_limit": "0/minute"}, "AICLONE_LOGIN_FAILURE_LIMIT", "at least one"),
        (
            "rate_limit",
            {"account_mail_per_email_limit": "1/minute;2/minute"},
            "AICLONE_ACCOUNT_MAIL_PER_EMAIL_LIMIT",
            "same period",
        ),
        ("rate_limit", {"rate_limit_storage": "mysql://x"}, "AICLONE_RATE_LIMIT_STORAGE", "redis://"),
        (
            "webhooks",
            {"webhook_retry_schedule": "5s,soon"},
            "AICLONE_WEBHOOK_RETRY_SCHEDULE",
            "not a duration",
        ),
        ("webhooks", {"slack_webhook_hosts": "*.slack.com"}, "AICLONE_SLACK_WEBHOOK_HOSTS", "host names"),
        ("live", {"sse_ticket_ttl_seconds": "600"}, "AICLONE_SSE_TICKET_TTL_SECONDS", "between 1 and 60"),
        ("live", {"sse_queue_size": "2"}, "AICLONE_SSE_QUEUE_SIZE", "between"),
        ("mail", {"mail_from": "nobody"}, "AICLONE_MAIL_FROM", "address"),
        ("mail", {"smtp_url": "http://mail.example.com"}, "AICLONE_SMTP_URL", "smtp://"),
        ("mail", {"mail_retry_schedule": ""}, "AICLONE_MAIL_RETRY_SCHEDULE", "at least one delay"),
        (
            "mail",
            {"mail_lease_seconds": "10"},
            "AICLONE_MAIL_LEASE_SECONDS",
            "6 x AICLONE_MAIL_TIMEOUT_SECONDS",
        ),
        ("accounts", {"public_url": "ftp://app.example.com"}, "AICLONE_PUBLIC_URL", "http(s) URL"),
        ("accounts", {"password_reset_ttl_seconds": "10"}, "AICLONE_PASSWORD_RESET_TTL_SECONDS", "between"),
    ],
)
def test_each_slice_names_the_variable_of_a_bad_value(
    slice_name: str, env: dict[str, str], variable: str, fragment: str
) -> None:
    assert slice_name in {field.name for field in msgspec.structs.fields(Settings)}
    with pytest.raises(SettingsError) as caught:
        load(**env)
    message = str(caught.value)
    assert message.startswith(variable), message
    assert fragment in message, message


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"webhook_allow_private": "true"}, "AICLONE_WEBHOOK_ALLOW_PRIVATE"),
        ({"research_allow_private": "true"}, "AICLONE_RESEARCH_ALLOW_PRIVATE"),
    ],
)
def test_slices_refuse_development_only_values_in_production(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{variable} may not be true when AICLONE_ENV=production"):
        load(env="production", secret_key=GOOD_KEY, **env)
    assert load(**env)  # allowed outside production


def test_slices_hold_the_types_their_domains_use() -> None:
    settings = load(
        webhook_retry_schedule="250ms, 5s,2m",
        mail_retry_schedule="1h",
        llm_api_key="sk-secret-value",
        rate_limit_login="3/minute;30/hour",
    )
    assert settings.webhooks.retry_schedule == (0.25, 5.0, 120.0)
    assert settings.mail.retry_schedule == (3600.0,)
    assert settings.llm.api_key.reveal() == "sk-secret-value"
    assert "sk-secret-value" not in repr(settings)
    assert [item.amount for item in settings.rate_limit.quotas("login")] == [3, 30]
    assert settings.mail.smtp() is None
    assert settings.mail.sender_address().addr_spec == "aiclone@localhost"


def test_every_variable_reads_back_through_its_slice() -> None:
    settings = load_settings({}, dotenv=None)
    values = settings.variables()
    assert Settings.compose(values) == settings
    assert settings.webhooks.variable("timeout_seconds") == "AICLONE_WEBHOOK_TIMEOUT_SECONDS"
    assert settings.webhooks.variable("slack_hosts") == "AICLONE_SLACK_WEBHOOK_HOSTS"
    assert settings.server.variable("max_concurrent_exports") == "AICLONE_EXPORT_MAX_CONCURRENT"
    assert settings.rate_limit.variable("default") == "AICLONE_RATE_LIMIT"


def test_replace_checks_the_changed_slice_again() -> None:
    settings = load_settings({}, dotenv=None)
    changed = settings.replace(webhook_timeout_seconds="20", webhook_lease_seconds=30, debug=True)
    assert (changed.webhooks.timeout_seconds, changed.webhooks.lease_seconds, changed.debug) == (
        20.0,
        30.0,
        True,
    )
    assert changed.research == settings.research
    with pytest.raises(SettingsError, match=r"^AICLONE_WEBHOOK_LEASE_SECONDS"):
        settings.replace(webhook_timeout_seconds=100)
    with pytest.raises(TypeError, match="webhook_timeout"):
        settings.replace(webhook_timeout=1)


def test_settings_import_no_domain_package() -> None:
    code = "import sys, aiclone.settings; print(' '.join(sorted(m for m in sys.modules if m.startswith('aiclone'))))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert all(name == "aiclone" or name.startswith("aiclone.settings") for name in loaded), loaded
