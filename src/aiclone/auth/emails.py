"""One canonical form per mailbox, so look-alike spellings are one account.

The canonical form is what the users table stores, what sign-in looks up and where mail goes:

1. Unicode NFKC on the whole input, so compatibility forms fold onto their plain letters
   (fullwidth ``ａｌｉｃｅ＠example.com`` is ``alice@example.com``, ``ﬁ`` is ``fi``).
2. Syntax and the domain by ``email-validator``: IDNA 2008 with the UTS #46 mapping, so
   ``EXÄMPLE.com`` and ``xn--exmple-cua.com`` are both stored as the U-label ``exämple.com``.
3. The local part case-folded (Unicode full case folding). ``İ`` (capital I with dot) folds to
   ``i`` plus a combining dot; the dot is dropped, so ``ALİCE`` is ``alice``.

Refused, because a careful provider does not let one string stand for two mailboxes:

* ``ı`` (dotless i): it has no case pair outside Turkish and reads as ``i``;
* characters whose case folding is more than lower-casing (``ß`` → ``ss``, ``ŉ`` → ``ʼn``): the
  folded mailbox would be a different string for the mail server than the one typed. Final
  ``ς`` is the exception: it folds to ``σ``, as Greek writing treats them as one letter;
* mixed scripts within the local part or within one domain label (a Cyrillic ``а`` among Latin
  letters), after UTS #39's "highly restrictive" profile: one script, or Latin with the
  scripts Japanese, Chinese or Korean text combines (Han with Hiragana/Katakana, Bopomofo or
  Hangul). Digits and punctuation belong to every script;
* invisible and control characters (format, control, unassigned, private use, separators).

Whole-script look-alikes (an address entirely in Cyrillic letters that resemble Latin ones) are
not detected: that needs the Unicode confusables data, which this build does not ship.
"""

from __future__ import annotations

# ruff: noqa: RUF001, RUF002, RUF003 - this module is about look-alike characters; it names them
import unicodedata

from email_validator import EmailNotValidError, validate_email

from aiclone.errors import FieldError, InvalidInput

MAX_EMAIL_LENGTH = 254
_COMBINING_DOT_ABOVE = "\u0307"
_DOTLESS_I = "\u0131"
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"})
# Scripts that may stand beside Latin (and beside each other) in one string, per UTS #39.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(
        "The email address is not valid.", errors=[FieldError(field="email", message=message)]
    )


def _script(char: str) -> str | None:
    """The script of a letter, from its Unicode name; None for characters of every script."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    if name.startswith(("HALFWIDTH KATAKANA", "KATAKANA")):
        return "KATAKANA"
    if name.startswith("HALFWIDTH HANGUL"):
        return "HANGUL"
    return name.split(" ", 1)[0] or None


def _check_single_script(text: str, where: str) -> None:
    scripts = {s for s in map(_script, text) if s is not None}
    if len(scripts) > 1 and not any(scripts <= mix for mix in _ALLOWED_MIXES):
        raise _refuse(f"the {where} mixes scripts ({', '.join(sorted(scripts)).lower()})")


def _fold_local_part(local: str) -> str:
    # Final sigma is the one folding kept: Greek writing treats ς and σ as one letter.
    lowered = unicodedata.normalize("NFKC", local.lower()).replace("ς", "σ")
    folded = unicodedata.normalize("NFKC", local.casefold())
    if folded != lowered:
        raise _refuse("contains a character whose case folding changes the address (such as ß)")
    # "İ".lower() is "i" + U+0307: the dotted capital I of Turkish is the plain i.
    folded = unicodedata.normalize("NFC", folded.replace("i" + _COMBINING_DOT_ABOVE, "i"))
    if _DOTLESS_I in folded:
        raise _refuse("contains the dotless ı, which reads as i; write the address with i")
    return folded


def normalize_email(raw: str) -> str:
    """The canonical form of an address, or :class:`InvalidInput` naming the field ``email``."""
    text = unicodedata.normalize("NFKC", raw.strip())
    if any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in text):
        raise _refuse("contains an invisible or control character")
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _refuse(str(exc)) from None
    local = _fold_local_part(info.local_part)
    _check_single_script(local, "part before the @")
    domain = info.domain.lower()
    for label in domain.split("."):
        _check_single_script(label, "domain")
    normalized = f"{local}@{domain}"
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise _refuse(f"is longer than {MAX_EMAIL_LENGTH} characters")
    return normalized
