// Unit tests of the drafting panel's pure logic (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { applyDraftEvent, draftState, joinText } from "../../src/aiclone/dashboard/static/js/drafting.js";
import { routedId } from "../../src/aiclone/dashboard/static/js/views/outreach.js";

const task = { id: "t1", status: "queued", attempts: 0, error: null, output_id: null };

test("the draft follows its own task's ticks and ignores other tasks", () => {
  const start = draftState(task);
  assert.equal(applyDraftEvent(start, "task_update", { task_id: "other", status: "running", attempts: 1, text: "x" }, true), start);
  const writing = applyDraftEvent(start, "task_update", { task_id: "t1", status: "running", attempts: 1, text: "Hi" }, true);
  assert.deepEqual([writing.status, writing.text], ["running", "Hi"]);
  const more = applyDraftEvent(writing, "task_update", { task_id: "t1", status: "running", attempts: 1, text: "Hi Wile" }, true);
  assert.equal(more.text, "Hi Wile");
  // A tick without text (a plain progress tick) changes nothing.
  assert.equal(applyDraftEvent(more, "task_update", { task_id: "t1", status: "running", attempts: 1, progress: 5 }, true), more);
});

test("the end of the run wins over ticks that trail it, and names the saved draft", () => {
  let state = applyDraftEvent(draftState(task), "task_update", { task_id: "t1", status: "running", attempts: 1, text: "Hi" }, true);
  state = applyDraftEvent(state, "task_update", { task_id: "t1", status: "done", attempts: 1 }, false);
  assert.equal(state.status, "done");
  assert.equal(applyDraftEvent(state, "task_update", { task_id: "t1", status: "running", attempts: 1, text: "Hi there" }, true), state);
  state = applyDraftEvent(state, "task_completed", { task_id: "t1", status: "done", output_id: "m1" }, false);
  assert.equal(state.outputId, "m1");
  const failed = applyDraftEvent(draftState(task), "task_update", { task_id: "t1", status: "failed", attempts: 1, error: "provider down" }, false);
  assert.deepEqual([failed.status, failed.error], ["failed", "provider down"]);
});

test("a retried call's text replaces the earlier attempt's, never the other way round", () => {
  let state = applyDraftEvent(draftState(task), "task_update", { task_id: "t1", status: "running", attempts: 2, text: "New" }, true);
  assert.equal(applyDraftEvent(state, "task_update", { task_id: "t1", status: "running", attempts: 1, text: "Old text" }, true), state);
  state = applyDraftEvent(state, "task_update", { task_id: "t1", status: "running", attempts: 2, text: "New text" }, true);
  assert.equal(state.text, "New text");
});

test("an outreach route names the message to open", () => {
  assert.equal(routedId("#/outreach/0B8E4E0C-8F43-4C1B-9A43-7B7E8E6C1D2A"), "0b8e4e0c-8f43-4c1b-9a43-7b7e8e6c1d2a");
  assert.equal(routedId("#/outreach"), null);
  assert.equal(routedId("#/outreach/not-an-id"), null);
});

test("a long text arrives as its end; the text already shown supplies the start", () => {
  assert.equal(joinText("Hello wor", "world!", 6), "Hello world!");
  assert.equal(joinText("", "world!", 6), "…world!");
  assert.equal(joinText("anything", "whole", 0), "whole");
  let state = applyDraftEvent(draftState(task), "task_update", { task_id: "t1", status: "running", attempts: 1, text: "abcdef" }, true);
  state = applyDraftEvent(state, "task_update", { task_id: "t1", status: "running", attempts: 1, text: "efgh", text_offset: 4 }, true);
  assert.equal(state.text, "abcdefgh");
});
