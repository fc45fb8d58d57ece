// Unit tests of the Webhooks view's pure helpers (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  displayUrl,
  endpointActions,
  endpointState,
  flavourLabel,
  excerpt,
  mergeDeliveries,
  normalizeTypes,
  outcomeText,
  recoverSince,
  toLocalInput,
  typesLabel,
} from "../../src/aiclone/dashboard/static/js/views/webhooks.js";

test("the wildcard stands alone; other types are sorted and unique", () => {
  assert.deepEqual(normalizeTypes(["task_completed", "*", "activity"]), ["*"]);
  assert.deepEqual(normalizeTypes(["task_completed", "activity", "activity"]), ["activity", "task_completed"]);
  assert.deepEqual(normalizeTypes([]), []);
});

test("subscribed types read naturally", () => {
  assert.equal(typesLabel(["*"]), "All events");
  assert.equal(typesLabel(["prospect_added", "task_completed"]), "prospect added, task completed");
  assert.equal(typesLabel([]), "none");
});

test("endpoint status: active, failing, paused and disabled with their reasons", () => {
  assert.deepEqual(endpointState({ status: "active", consecutive_failures: 0 }), { label: "Active", kind: "active", reason: null });
  assert.equal(endpointState({ status: "active", consecutive_failures: 3 }).kind, "warn");
  assert.deepEqual(endpointState({ status: "inactive", consecutive_failures: 0, disabled_reason: "paused by its owner" }), {
    label: "Paused",
    kind: "warn",
    reason: "paused by its owner",
  });
  const failed = endpointState({ status: "failed", consecutive_failures: 9, disabled_reason: null });
  assert.equal(failed.label, "Disabled");
  assert.equal(failed.kind, "disabled");
  assert.match(failed.reason, /failed/);
});

test("deliveries merge by id, newest first, updated rows replaced", () => {
  const a = { id: "a", created_at: "2026-11-27T10:00:00Z", attempts: 1 };
  const b = { id: "b", created_at: "2026-11-27T10:05:00Z", attempts: 1 };
  const c = { id: "c", created_at: "2026-11-27T10:05:00Z", attempts: 1 };
  const merged = mergeDeliveries([b, a], [{ ...a, attempts: 2 }, c]);
  assert.deepEqual(merged.map((item) => item.id), ["c", "b", "a"]);
  assert.equal(merged[2].attempts, 2);
  assert.deepEqual(mergeDeliveries([], []), []);
});

test("recover starts where the trouble began, else a day ago", () => {
  const now = Date.parse("2026-11-27T12:00:00Z");
  assert.equal(recoverSince({ failing_since: "2026-11-26T08:00:00Z", disabled_at: "2026-11-27T09:00:00Z" }, now).toISOString(), "2026-11-26T08:00:00.000Z");
  assert.equal(recoverSince({ failing_since: null, disabled_at: "2026-11-27T09:00:00Z" }, now).toISOString(), "2026-11-27T09:00:00.000Z");
  assert.equal(recoverSince({}, now).toISOString(), "2026-11-26T12:00:00.000Z");
});

test("datetime-local values round-trip in local time", () => {
  const date = new Date(2026, 0, 5, 7, 3);
  assert.equal(toLocalInput(date), "2026-01-05T07:03");
  assert.equal(new Date(toLocalInput(date)).getTime(), date.getTime());
});

test("remote text is cut with a note of what was left out", () => {
  assert.equal(excerpt("short"), "short");
  assert.equal(excerpt(null), "");
  assert.equal(excerpt("abcdef", 3), "abc… (3 more characters)");
});

test("outcomes: status code, error class and message", () => {
  assert.equal(outcomeText(200, null, null), "HTTP 200");
  assert.equal(outcomeText(500, "HTTP 500", "http"), "HTTP 500");
  assert.equal(outcomeText(null, "connection refused", "connect"), "connect · connection refused");
  assert.equal(outcomeText(null, null, null), "—");
  assert.equal(outcomeText(undefined, "timed out after 15 s", null), "timed out after 15 s");
});

test("flavours: labels, the Slack token masked, and the actions each kind offers", () => {
  assert.equal(flavourLabel({ flavour: "standard" }), "Webhook");
  assert.equal(flavourLabel({ flavour: "slack" }), "Slack");
  assert.equal(flavourLabel({ flavour: "zapier" }), "Zapier subscription");
  assert.equal(displayUrl({ flavour: "slack", url: "https://hooks.slack.com/services/T1/B2/secret" }), "https://hooks.slack.com/services/T1/B2/••••");
  assert.equal(displayUrl({ flavour: "standard", url: "https://x.example/a/b" }), "https://x.example/a/b");
  assert.equal(displayUrl({ flavour: "slack", url: "https://hooks.slack.com/" }), "https://hooks.slack.com/");
  assert.deepEqual(endpointActions({ flavour: "standard" }), ["log", "test", "edit", "rotate", "recover", "delete"]);
  assert.deepEqual(endpointActions({ flavour: "slack" }), ["log", "test", "edit", "recover", "delete"]);
  assert.deepEqual(endpointActions({ flavour: "zapier" }), ["log", "test", "recover", "delete"]);
});
