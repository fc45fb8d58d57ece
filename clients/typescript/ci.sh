#!/usr/bin/env bash
# Install, build and test the TypeScript SDK: the generated types must match the API document,
# the document must lint clean (openapi-spec-validator and Redocly), then unit tests, Chromium
# against the real server, and the packed package installed into a scratch project.
# Environment: AICLONE_PYTHON (default <repo>/.venv/bin/python), AICLONE_CHROMIUM (default
# /usr/bin/chromium), AICLONE_REQUIRE_BROWSER=1 to fail instead of skipping when Chromium is
# missing.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund   # also builds (the package's prepare script)
npm run build
npm run check:generated
npm run lint:openapi
# The dashboard serves a compiled copy of the client from the Python package (no Node at run
# time); it must be exactly what the source compiles to.
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx tsc -p tsconfig.dashboard.json --outDir "$fresh"
if ! cmp -s "$fresh/eventStream.js" ../../src/aiclone/dashboard/static/js/vendor/eventStream.js; then
    echo "ci: src/aiclone/dashboard/static/js/vendor/eventStream.js is stale; run 'npm run build:dashboard' in clients/typescript" >&2
    exit 1
fi
npm test
