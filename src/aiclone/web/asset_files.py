"""The file system behind the static routes (dashboard assets and the API docs' assets).

A requested path is the client's text: it may hold a NUL (``/static/%00``, a ValueError from the
operating system), name a file as if it were a directory (``/static/app.js/x``) or be longer
than a file name may be. Litestar's local file system turns those into a 500 with a traceback,
one per request. None of them names a file we serve, so each is a plain "not found" (404).
"""

from __future__ import annotations

from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types import PathType
from litestar.types.file_types import FileInfo


class AssetFileSystem(BaseLocalFileSystem):
    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        if "\x00" in str(path):
            raise FileNotFoundError(path)
        try:
            return await super().info(path, **kwargs)
        except PermissionError:
            raise
        except (OSError, ValueError) as exc:
            raise FileNotFoundError(path) from exc
