#!/usr/bin/env bash
# Regenerate src/generated/openapi.d.ts from the server's OpenAPI document.
#   scripts/generate.sh            write the file
#   scripts/generate.sh --check    fail if the committed file differs from a fresh one
# AICLONE_PYTHON: the interpreter with aiclone installed (default <repo>/.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${AICLONE_PYTHON:-../../.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
PYTHONPATH="../../src${PYTHONPATH:+:$PYTHONPATH}" "$python" scripts/openapi.py > "$work/openapi.json"
npx openapi-typescript "$work/openapi.json" --output "$work/openapi.d.ts" --alphabetize --default-non-nullable false >/dev/null
target=src/generated/openapi.d.ts
if [[ "${1:-}" == "--check" ]]; then
    if ! diff -u "$target" "$work/openapi.d.ts" > "$work/diff"; then
        head -40 "$work/diff" >&2
        echo "generate: $target does not match the API document; run 'npm run generate' in clients/typescript" >&2
        exit 1
    fi
    cp "$work/openapi.json" "${OPENAPI_OUT:-/dev/null}"
else
    cp "$work/openapi.d.ts" "$target"
fi
