#!/usr/bin/env bash
# Install, build and test the TypeScript client (unit tests, then Chromium against the real
# server). Environment: AICLONE_PYTHON (default <repo>/.venv/bin/python), AICLONE_CHROMIUM
# (default /usr/bin/chromium), AICLONE_REQUIRE_BROWSER=1 to fail instead of skipping when
# Chromium is missing.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
npm test
