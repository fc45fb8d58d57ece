"""The development signing key, generated once per installation beside the embedded database."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from aiclone.settings.auth import MIN_SECRET_KEY_LENGTH
from aiclone.settings.env import SettingsError, var

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def persistent_dev_key(data_dir: Path) -> str:
    """Read the installation's development key, creating it on first use.

    The key is written to a private temporary file and then hard-linked into place: the link
    either appears complete or fails because another process won, so concurrent first starts
    agree on one key and nobody ever reads a half-written file.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        fd, tmp_name = tempfile.mkstemp(prefix=".secret_key.", dir=data_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp_name, path)
        finally:
            os.unlink(tmp_name)
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(f"{path} holds no usable key; delete it or set {var('secret_key')}")
    return key
