"""Settings: parsing, errors that name the variable, production refusals, the development key."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

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
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.access_token_ttl_seconds == 1800
    assert settings.jwt_algorithm == "HS256"
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
    assert settings.port == 9001
    assert settings.auto_migrate is False
    assert settings.access_token_ttl_seconds == 600
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "DEBUG"
    assert settings.jwt_algorithm == "HS512"
    assert not settings.is_sqlite


def test_unrelated_and_unknown_variables_are_ignored() -> None:
    settings = load_settings(
        {"PATH": "/bin", "AICLONE_TEST_POSTGRES_URL": "postgresql://x", "AICLONE_PORT": "8100"}, dotenv=None
    )
    assert settings.port == 8100


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
        assert settings.with_secret().secret_key == GOOD_KEY
        assert not (tmp_path / "secret_key").exists(), "production must never generate a key"

    def test_wildcard_cors_is_allowed_in_development(self) -> None:
        assert load(cors_origins="*").cors_origins == ("*",)


class TestDevelopmentKey:
    def test_generated_once_and_persisted_next_to_the_database(self, tmp_path: Path) -> None:
        data_dir = tmp_path / "data"
        first = load(data_dir=str(data_dir)).with_secret()
        key_file = data_dir / "secret_key"
        assert key_file.is_file()
        assert len(first.secret_key) >= MIN_SECRET_KEY_LENGTH
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # The database lives in the same directory.
        assert Path(first.resolved_database_url.split(":///", 1)[1]).parent == data_dir.resolve()

        second = load(data_dir=str(data_dir)).with_secret()
        assert second.secret_key == first.secret_key
        assert [p.name for p in data_dir.iterdir()] == ["secret_key"], "no temporary files left behind"

    def test_an_explicit_key_wins_and_writes_nothing(self, tmp_path: Path) -> None:
        settings = load(data_dir=str(tmp_path), secret_key=GOOD_KEY).with_secret()
        assert settings.secret_key == GOOD_KEY
        assert list(tmp_path.iterdir()) == []

    def test_concurrent_first_starts_agree_on_one_key(self, tmp_path: Path) -> None:
        settings = load(data_dir=str(tmp_path))
        keys: list[str] = []
        barrier = threading.Barrier(8)

        def start() -> None:
            barrier.wait()
            keys.append(settings.with_secret().secret_key)

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
        assert settings.port == 8123
        assert settings.log_level == "WARNING"
        assert settings.jwt_issuer == "issuer with spaces"
        assert settings.jwt_audience == "literal ${NOT_EXPANDED}"

    def test_environment_wins_over_dotenv(self, tmp_path: Path) -> None:
        dotenv = tmp_path / ".env"
        dotenv.write_text("AICLONE_PORT=8123\nAICLONE_HOST=0.0.0.0\n")
        settings = load_settings({"AICLONE_PORT": "9000"}, dotenv=dotenv)
        assert settings.port == 9000
        assert settings.host == "0.0.0.0"

    def test_bad_dotenv_value_names_the_variable(self, tmp_path: Path) -> None:
        dotenv = tmp_path / ".env"
        dotenv.write_text("AICLONE_AUTO_MIGRATE=sometimes\n")
        with pytest.raises(SettingsError, match=r"^AICLONE_AUTO_MIGRATE"):
            load_settings({}, dotenv=dotenv)

    def test_missing_dotenv_is_fine(self, tmp_path: Path) -> None:
        assert load_settings({}, dotenv=tmp_path / "absent.env").port == 8000

    def test_dotenv_is_read_from_the_working_directory_by_default(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / ".env").write_text("AICLONE_PORT=8555\n")
        monkeypatch.chdir(tmp_path)
        assert load_settings({}).port == 8555
