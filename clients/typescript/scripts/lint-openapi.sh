#!/usr/bin/env bash
# Lint the server's OpenAPI document with two tools we did not write: openapi-spec-validator
# (Python) and Redocly (redocly.yaml: the recommended rules, every change justified there).
# Zero errors and zero warnings, or this fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${AICLONE_PYTHON:-../../.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
PYTHONPATH="../../src${PYTHONPATH:+:$PYTHONPATH}" "$python" scripts/openapi.py > "$work/openapi.json"
"$python" -m openapi_spec_validator "$work/openapi.json"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
npx redocly lint --config redocly.yaml --format=json "$work/openapi.json" > "$work/lint.json" 2> "$work/lint.log" || true
node -e '
const report = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const problems = report.problems ?? [];
for (const p of problems) console.error(`${p.severity} ${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? ""})`);
console.log(`redocly: ${problems.filter((p) => p.severity === "error").length} errors, ${problems.filter((p) => p.severity === "warn").length} warnings`);
process.exit(problems.length ? 1 : 0);
' "$work/lint.json" || { cat "$work/lint.log" >&2; exit 1; }
