// Unit tests of the dashboard's pure modules (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { debounce, number, percentChange, relativeTime } from "../../src/aiclone/dashboard/static/js/format.js";
import { lightOf } from "../../src/aiclone/dashboard/static/js/live.js";

test("the light is green only while a stream is open", () => {
  assert.equal(lightOf("open", { attempt: 0 }), "connected");
  assert.equal(lightOf("connecting", { attempt: 0 }), "reconnecting");
  assert.equal(lightOf("reconnecting", { attempt: 0, reason: "error" }), "reconnecting");
  // The server could not be reached at all: red.
  assert.equal(lightOf("reconnecting", { attempt: 1, reason: "ticket_failed" }), "offline");
  assert.equal(lightOf("reconnecting", { attempt: 3, reason: "error" }), "offline");
  assert.equal(lightOf("open", {}, false), "connected");
  assert.equal(lightOf("reconnecting", { attempt: 0 }, false), "offline");
  assert.equal(lightOf("closed", {}), "offline");
});

test("percent change is signed and rounded to one decimal", () => {
  assert.equal(percentChange(0.25), "+25%");
  assert.equal(percentChange(-0.1), "−10%");
  assert.equal(percentChange(0), "0%");
  assert.equal(percentChange(0.12345), "+12.3%");
  assert.equal(percentChange(null), "—");
  assert.equal(percentChange(Infinity), "—");
});

test("numbers are grouped and missing values shown as a dash", () => {
  assert.equal(number(1234567), "1,234,567");
  assert.equal(number(null), "—");
  assert.equal(number(2.345, 1), "2.3");
});

test("relative time reads naturally", () => {
  const now = Date.parse("2026-11-27T12:00:00Z");
  assert.equal(relativeTime("2026-11-27T11:59:58Z", now), "just now");
  assert.equal(relativeTime("2026-11-27T11:57:00Z", now), "3 minutes ago");
  assert.equal(relativeTime("2026-11-27T14:00:00Z", now), "in 2 hours");
  assert.equal(relativeTime("not a date", now), "");
});

test("debounce calls once with the last arguments", async () => {
  const calls = [];
  const fn = debounce((value) => calls.push(value), 20);
  fn(1);
  fn(2);
  fn(3);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(calls, [3]);
});
