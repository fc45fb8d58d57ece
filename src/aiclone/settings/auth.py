"""Signing keys, tokens and passwords (aiclone.auth)."""

from __future__ import annotations

from typing import ClassVar, Literal

from aiclone.settings.env import SettingsError, Slice

MIN_SECRET_KEY_LENGTH = 32
# OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
OWASP_ARGON2_MIN_MEMORY_KIB = 19 * 1024
OWASP_ARGON2_MIN_TIME_COST = 2


class AuthSettings(Slice, frozen=True, kw_only=True):
    SECRETS: ClassVar[frozenset[str]] = frozenset({"secret_key"})

    secret_key: str = ""
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "aiclone"
    jwt_audience: str = "aiclone-api"
    access_token_ttl_seconds: int = 1800
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 4
    password_min_length: int = 8
    password_max_length: int = 128

    def __post_init__(self) -> None:
        self.check_positive(
            (
                "access_token_ttl_seconds",
                "refresh_token_ttl_seconds",
                "argon2_parallelism",
                "password_min_length",
            )
        )
        self._check_passwords()

    def _check_passwords(self) -> None:
        if self.argon2_memory_kib < OWASP_ARGON2_MIN_MEMORY_KIB:
            raise SettingsError(
                f"{self.variable('argon2_memory_kib')} must be at least {OWASP_ARGON2_MIN_MEMORY_KIB} (OWASP minimum)"
            )
        if self.argon2_time_cost < OWASP_ARGON2_MIN_TIME_COST:
            raise SettingsError(
                f"{self.variable('argon2_time_cost')} must be at least {OWASP_ARGON2_MIN_TIME_COST} (OWASP minimum)"
            )
        # NIST SP 800-63B: at least 8 characters, and accept at least 64. The upper bound caps the
        # work one login can cause before hashing (request bodies cap passwords at 1024).
        low, high = self.variable("password_min_length"), self.variable("password_max_length")
        if self.password_min_length < 8:
            raise SettingsError(f"{low} must be at least 8 (NIST SP 800-63B)")
        if not 64 <= self.password_max_length <= 1024:
            raise SettingsError(f"{high} must be between 64 (NIST SP 800-63B) and 1024")
        if self.password_min_length > self.password_max_length:
            raise SettingsError(f"{low} may not exceed {high}")

    def check_env(self, *, production: bool) -> None:
        if production and len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"{self.variable('secret_key')} must be set to at least {MIN_SECRET_KEY_LENGTH} characters"
                " when AICLONE_ENV=production"
            )
        if self.secret_key and len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"{self.variable('secret_key')} must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
