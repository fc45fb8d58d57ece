// Unit tests of the analytics view's period logic (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  CUSTOM,
  RANGES,
  localDate,
  periodKey,
  periodText,
  summaryKey,
  summaryQuery,
} from "../../src/aiclone/dashboard/static/js/views/analytics.js";

test("the period picker offers the presets and a custom range", () => {
  assert.deepEqual(
    RANGES.map(([value]) => value),
    ["day", "week", "month", "quarter", "year", CUSTOM],
  );
});

test("a preset sends time_range, a custom range start and end (never both)", () => {
  assert.deepEqual(summaryQuery({ range: "week", from: "2026-10-01", to: "2026-10-31" }, "Europe/Paris"), {
    time_range: "week",
    tz: "Europe/Paris",
  });
  assert.deepEqual(summaryQuery({ range: CUSTOM, from: "2026-10-01", to: "2026-10-31" }, "Europe/Paris"), {
    start: "2026-10-01",
    end: "2026-10-31",
    tz: "Europe/Paris",
  });
  // Empty dates are sent as empty (api.js drops them), so the server names the missing one.
  assert.deepEqual(summaryQuery({ range: CUSTOM }, "UTC"), { start: "", end: "", tz: "UTC" });
});

test("a query and the summary answering it have the same key", () => {
  const query = summaryQuery({ range: CUSTOM, from: "2026-10-01", to: "2026-10-31" }, "UTC");
  const summary = { time_range: null, custom_range: { start: "2026-10-01", end: "2026-10-31" } };
  assert.equal(periodKey(query), summaryKey(summary));
  assert.notEqual(periodKey({ ...query, end: "2026-10-30" }), summaryKey(summary));
  assert.equal(periodKey(summaryQuery({ range: "day" }, "UTC")), summaryKey({ time_range: "day", custom_range: null }));
});

test("status words for a preset and for a custom range", () => {
  const period = { start: "2026-10-08T22:00:00Z", end: "2026-10-15T22:00:00Z" };
  assert.equal(periodText({ time_range: "week", bucket: "day", period }), `7 days: ${period.start} – now`);
  assert.equal(
    periodText({ time_range: null, custom_range: { start: "2026-10-01", end: "2026-10-31" }, bucket: "day", period }),
    "2026-10-01 – 2026-10-31 (by day)",
  );
});

test("local dates count calendar days, across month and year ends", () => {
  const base = new Date(2026, 0, 1, 12, 0);
  assert.equal(localDate(0, base), "2026-01-01");
  assert.equal(localDate(-1, base), "2025-12-31");
  assert.equal(localDate(-29, base), "2025-12-03");
  assert.equal(localDate(59, base), "2026-03-01");
  assert.match(localDate(), /^\d{4}-\d{2}-\d{2}$/);
});
