"""Print the server's OpenAPI document (the one GET /api/openapi.json serves) as JSON.

Builds the app from defaults in a throw-away data directory; nothing is served or migrated.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

with tempfile.TemporaryDirectory() as data_dir:
    os.environ.update(
        {
            "AICLONE_ENV": "test",
            "AICLONE_DATA_DIR": data_dir,
            "AICLONE_DATABASE_URL": "",
            "AICLONE_SECRET_KEY": "document-only-" + "x" * 32,
        }
    )
    from aiclone.app import create_app
    from aiclone.settings import load_settings

    document = create_app(load_settings()).openapi_schema.to_schema()
    json.dump(document, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
