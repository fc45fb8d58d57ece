"""Reading ``AICLONE_*`` variables into typed slices: the helpers every slice shares.

A slice is a frozen msgspec struct whose fields are variables: the struct's ``rename`` gives
each field its variable name (``WebhookSettings.timeout_seconds`` is
``AICLONE_WEBHOOK_TIMEOUT_SECONDS``). A text value is converted field by field, so a bad one is
reported with its own name; the slice's ``__post_init__`` then checks its ranges and rules with
:meth:`Slice.check_between` and friends, whose messages name the variable too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin

import msgspec

ENV_PREFIX = "AICLONE_"
S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


def var(name: str) -> str:
    """``AICLONE_`` + a variable's lower-case name in upper case."""
    return ENV_PREFIX + name.upper()


def prefixed(prefix: str, **exceptions: str) -> Callable[[str], str]:
    """A struct ``rename``: ``prefix + field``, except the fields given their own name."""
    return lambda name: exceptions.get(name, prefix + name)


class Slice(msgspec.Struct, kw_only=True, frozen=True):
    """The settings of one part of the product."""

    # Fields whose value is never printed (repr) nor echoed in an error message.
    SECRETS: ClassVar[frozenset[str]] = frozenset()
    # Fields whose text is read by a function of their own (the error names the variable).
    PARSERS: ClassVar[Mapping[str, Callable[[str], Any]]] = {}

    @classmethod
    def variable(cls, field: str) -> str:
        """The variable a field is read from: ``AICLONE_…``."""
        return var(_names(cls)[field])

    def check_between(self, bounds: Mapping[str, tuple[float, float]]) -> None:
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise SettingsError(f"{self.variable(name)} must be between {low:g} and {high:g}")

    def check_positive(self, names: Iterable[str]) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{self.variable(name)} must be a positive number")

    def check_env(self, *, production: bool) -> None:
        """Rules that depend on AICLONE_ENV: refuse what is only safe on a developer's machine."""

    def refuse_in_production(self, *names: str) -> None:
        for name in names:
            if getattr(self, name):
                raise SettingsError(f"{self.variable(name)} may not be true when AICLONE_ENV=production")

    def __repr__(self) -> str:
        shown = (
            f"{f.name}={'***' if f.name in self.SECRETS and getattr(self, f.name) else repr(getattr(self, f.name))}"
            for f in msgspec.structs.fields(self)
        )
        return f"{type(self).__name__}({', '.join(shown)})"


def _names(cls: type[msgspec.Struct]) -> dict[str, str]:
    return {f.name: f.encode_name for f in msgspec.structs.fields(cls)}


def variables(cls: type[msgspec.Struct]) -> dict[str, str]:
    """Variable name (lower case, no prefix) to field name, for every field of a slice."""
    return {f.encode_name: f.name for f in msgspec.structs.fields(cls)}


def build(cls: type[S], values: Mapping[str, Any]) -> S:
    """The slice from values keyed by variable name; text is converted, other values checked."""
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    parsers: Mapping[str, Callable[[str], Any]] = getattr(cls, "PARSERS", {})
    secrets: frozenset[str] = getattr(cls, "SECRETS", frozenset())
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        field = fields[name]
        kwargs[field.name] = _convert(
            name, field.type, value, parsers.get(field.name), secret=field.name in secrets
        )
    return cls(**kwargs)


def _convert(
    name: str, annotation: Any, value: Any, parser: Callable[[str], Any] | None, *, secret: bool
) -> Any:
    if isinstance(value, str) and parser is not None:
        try:
            return parser(value)
        except ValueError as exc:
            raise SettingsError(f"{var(name)}: {exc}") from None
    raw = value
    if isinstance(value, str):
        value = value.strip()
        if get_origin(annotation) is tuple:
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif get_origin(annotation) is Literal:
            # Choices are matched case-insensitively: AICLONE_LOG_LEVEL=debug means DEBUG.
            choices = {str(choice).lower(): choice for choice in get_args(annotation)}
            value = choices.get(value.lower(), value)
    try:
        return msgspec.convert(value, annotation, strict=False)
    except msgspec.ValidationError:
        shown = "" if secret else f" (got {raw!r})"
        raise SettingsError(f"{var(name)} must be {_expected(annotation)}{shown}") from None


def _expected(annotation: Any) -> str:
    if annotation is bool:
        return "true or false (also 1 or 0)"
    if annotation is int:
        return "a whole number"
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(annotation))
    return "a valid value"
