"""Wheel build hook: the API docs' browser assets (Swagger UI and ReDoc) go into the wheel.

They come from the ``drf-spectacular-sidecar`` wheel, which republishes the npm releases of
``swagger-ui-dist`` and ``redoc`` every month. It is a *build* requirement only (pinned in
``[build-system]``): that wheel declares Django as a dependency, which would put an unused web
framework, and its advisories, into every runtime install if it were a runtime dependency. No
PyPI wheel ships both bundles at their current versions without a framework. The built aiclone
wheel carries the files under ``aiclone/docs_assets/``; an editable install copies them into
``src/aiclone/docs_assets/`` (ignored by git), where the running code finds them the same way.
Source maps are left out (they are two thirds of the bytes and no browser needs them).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ASSET_FILES = (
    "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt",
    "swagger-ui-dist/swagger-ui-standalone-preset.js",
    "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-dist/favicon-32x32.png",
    "swagger-ui-dist/oauth2-redirect.html",
    "swagger-ui-dist/oauth2-redirect.js",
    "swagger-ui-dist/LICENSE",
    "redoc/bundles/redoc.standalone.js",
    "redoc/bundles/redoc.standalone.js.LICENSE.txt",
    "redoc/LICENSE",
)
PACKAGE_DIR = "aiclone/docs_assets"


def _source_dir() -> Path:
    import drf_spectacular_sidecar  # noqa: PLC0415 - present in the build environment only

    return Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"


class DocsAssetsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        source = _source_dir()
        missing = [name for name in ASSET_FILES if not (source / name).is_file()]
        if missing:
            raise RuntimeError(f"drf-spectacular-sidecar no longer ships {', '.join(missing)}")
        if version == "editable":
            target = Path(self.root) / "src" / PACKAGE_DIR
            shutil.rmtree(target, ignore_errors=True)
            for name in ASSET_FILES:
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / name, target / name)
            return
        for name in ASSET_FILES:
            build_data["force_include"][str(source / name)] = f"{PACKAGE_DIR}/{name}"
