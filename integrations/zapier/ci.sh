#!/usr/bin/env bash
# Install the Zapier app's pinned packages and test it against a real aiclone server on
# 127.0.0.1 (started by the tests). Environment: AICLONE_PYTHON (default <repo>/.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
# The platform's log shipping only runs with a token; make sure none is set, and that anything
# that still tried would stay on this machine.
unset LOGGING_TOKEN
export LOGGING_ENDPOINT=http://127.0.0.1:9/
export NODE_ENV=test
npm test
