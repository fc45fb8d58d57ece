// Unit tests of the Research view's pure logic (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyTaskUpdate,
  canCancel,
  canRetry,
  mergeTask,
  researchFieldOf,
  settleTask,
  shownProgress,
  urlLines,
} from "../../src/aiclone/dashboard/static/js/views/research.js";

const queued = { id: "t", status: "queued", progress: 0, attempts: 0, title: "T" };

test("URLs are read one per line, blank lines dropped", () => {
  assert.deepEqual(urlLines(" https://a.example \r\n\n  https://b.example\n"), ["https://a.example", "https://b.example"]);
  assert.deepEqual(urlLines(""), []);
});

test("cancel and retry are offered in the right states", () => {
  assert.deepEqual(["queued", "running", "done", "failed", "cancelled"].map((status) => canCancel({ status })), [true, true, false, false, false]);
  assert.deepEqual(["queued", "running", "done", "failed", "cancelled"].map((status) => canRetry({ status })), [false, false, false, true, true]);
  assert.equal(shownProgress({ status: "done", progress: 40 }), 100);
  assert.equal(shownProgress({ status: "queued", progress: 40 }), 0);
  assert.equal(shownProgress({ status: "running", progress: 140 }), 100);
});

test("a tick that overtakes the persisted running change still moves the bar", () => {
  const ticked = applyTaskUpdate(queued, { status: "running", progress: 33, attempts: 1, detail: "read a" }, true);
  assert.equal(ticked.status, "running");
  assert.equal(ticked.progress, 33);
  // The stale creation event and the late running event do not move it back.
  assert.equal(applyTaskUpdate(ticked, { status: "queued", progress: 0, attempts: 0 }, false), ticked);
  const running = applyTaskUpdate(ticked, { status: "running", progress: 0, attempts: 1 }, false);
  assert.equal(running.progress, 33);
  assert.equal(running.detail, "read a");
});

test("ticks never go backwards and never revive a finished run", () => {
  const running = { ...queued, status: "running", attempts: 1, progress: 66 };
  assert.equal(applyTaskUpdate(running, { status: "running", progress: 33, attempts: 1 }, true), running);
  const done = applyTaskUpdate(running, { status: "done", progress: 100, attempts: 1 }, false);
  assert.equal(done.status, "done");
  assert.equal(applyTaskUpdate(done, { status: "running", progress: 99, attempts: 1 }, true), done);
  assert.equal(applyTaskUpdate(done, { status: "running", progress: 0, attempts: 1 }, false), done);
  // After a retry, a late tick of the old attempt is ignored; one of the new attempt counts.
  const cancelled = { ...running, status: "cancelled" };
  const retried = applyTaskUpdate(cancelled, { status: "queued", progress: 0, attempts: 1 }, false);
  assert.equal(retried.status, "queued");
  assert.equal(applyTaskUpdate(retried, { status: "running", progress: 50, attempts: 1 }, true), retried);
  assert.equal(applyTaskUpdate(retried, { status: "running", progress: 50, attempts: 2 }, true).progress, 50);
});

test("a fresh read does not undo progress the stream already showed", () => {
  const known = { ...queued, status: "running", attempts: 1, progress: 33, detail: "x" };
  assert.equal(mergeTask(known, { ...queued, status: "running", attempts: 1, progress: 0 }).progress, 33);
  assert.equal(mergeTask(known, { ...queued }).status, "running");
  assert.equal(mergeTask(known, { ...queued, status: "done", attempts: 1, progress: 100 }).status, "done");
  assert.deepEqual(mergeTask(null, queued), queued);
});

test("API error paths map to form fields", () => {
  assert.equal(researchFieldOf("input_source"), "input_source");
  assert.equal(researchFieldOf("title"), "title");
  assert.equal(researchFieldOf("engine"), "engine");
  assert.equal(researchFieldOf("source_type"), null);
});

test("ticks with text show the answer as it is written, then a new attempt starts it over", () => {
  const running = { ...queued, status: "running", attempts: 1, progress: 20, text: "The compa" };
  const more = applyTaskUpdate(running, { status: "running", attempts: 1, progress: 20, text: "The company sells" }, true);
  assert.equal(more.text, "The company sells");
  assert.equal(more.progress, 20);
  // The same text again changes nothing; a lower percent never moves the bar back.
  assert.equal(applyTaskUpdate(more, { status: "running", attempts: 1, progress: 20, text: "The company sells" }, true), more);
  assert.equal(applyTaskUpdate(more, { status: "running", attempts: 1, progress: 10, text: "The company sells x" }, true), more);
  const retried = applyTaskUpdate(more, { status: "running", attempts: 2, progress: 5, text: "A" }, true);
  assert.equal(retried.text, "A");
  // Queued again (a retry): the old text goes.
  assert.equal(applyTaskUpdate(more, { status: "queued", attempts: 1, progress: 0 }, false).text, null);
});

test("an answer older than the changes that arrived meanwhile does not undo them", () => {
  // The page knows the task failed (from the stream); a read sent before that change committed
  // comes back saying running, or even queued.
  const failed = { ...queued, status: "failed", attempts: 1, progress: 0, error: "boom" };
  const entries = [
    { n: 3, data: { task_id: "t", status: "queued", progress: 0, attempts: 0 } },
    { n: 4, data: { task_id: "t", status: "running", progress: 0, attempts: 1 } },
    { n: 5, data: { task_id: "t", status: "failed", progress: 0, attempts: 1, error: "boom" } },
  ];
  const staleRead = { ...queued };
  assert.equal(settleTask(failed, staleRead, entries, 2).status, "failed");
  const runningRead = { ...queued, status: "running", attempts: 1 };
  assert.equal(settleTask(undefined, runningRead, entries, 3).status, "failed");
  // Changes that arrived before the request are in the answer already: not applied again.
  const doneRead = { ...queued, status: "done", attempts: 1, progress: 100 };
  assert.equal(settleTask(undefined, doneRead, entries, 5).status, "done");
  // A retry answered "queued" (attempt 1 so far); the run it starts then counts.
  const retried = { ...queued, status: "queued", attempts: 1 };
  const later = [{ n: 9, data: { task_id: "t", status: "running", progress: 0, attempts: 2 } }];
  const settled = settleTask(failed, retried, later, 8);
  assert.equal(settled.status, "running");
  assert.equal(settled.attempts, 2);
});
