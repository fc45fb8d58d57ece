// @ts-check
// The Research view's state: the tasks shown, their nodes, the changes received (to replay over
// older answers), and the pure rules that merge them (unit-tested with node,
// tests/js/research.test.mjs).

import { joinText } from "../../drafting.js";

export const PAGE = 20;
export const PRIORITIES = [
  ["high", "High"],
  ["medium", "Medium"],
  ["low", "Low"],
];
export const STATUSES = ["queued", "running", "done", "failed", "cancelled"];
const FORM_FIELDS = ["title", "input_source", "priority", "prospect_id", "engine"];
export const ENGINES = [
  ["web", "Web pages (cue phrases)"],
  ["llm", "Language model"],
];
const TERMINAL = new Set(["done", "failed", "cancelled"]);

// ------------------------------------------------------------------ pure logic (unit-tested)

/** URLs typed one per line (blank lines and surrounding space dropped), joined for the API. */
export function urlLines(text) {
  return String(text ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

export const canCancel = (task) => task.status === "queued" || task.status === "running";
export const canRetry = (task) => task.status === "failed" || task.status === "cancelled";

/** The progress to show: a finished task is full, a queued one empty. */
export function shownProgress(task) {
  if (task.status === "done") return 100;
  if (task.status === "queued") return 0;
  return Math.max(0, Math.min(100, Number(task.progress) || 0));
}

/**
 * The task after a `task_update` (persisted or an ephemeral tick); returns the same object
 * when the update does not apply.
 */
export function applyTaskUpdate(task, update, ephemeral) {
  if (!task || !update) return task;
  const attempt = Number(update.attempts ?? 0);
  const current = Number(task.attempts ?? 0);
  if (ephemeral) {
    // A tick says "running attempt n at p%". It may overtake the persisted "running" change of
    // that attempt (then the task still looks queued, with attempts n-1), or trail the change
    // that ended the run, or come from an attempt before a retry: only the first case counts.
    if (update.status !== "running") return task;
    const sameRun = task.status === "running" && attempt === current;
    const newRun = (task.status === "queued" || task.status === "running") && attempt > current;
    if (!sameRun && !newRun) return task;
    // A tick with text (a language model writing) counts when its text is new, even at the same percent.
    const text = typeof update.text === "string" ? joinText(sameRun ? task.text : "", update.text, update.text_offset) : null;
    const newText = text !== null && text !== task.text;
    if (sameRun && Number(update.progress) < Number(task.progress)) return task;
    if (sameRun && Number(update.progress) === Number(task.progress) && !newText) return task;
    return {
      ...task,
      status: "running",
      attempts: attempt,
      progress: Math.max(Number(update.progress), sameRun ? Number(task.progress) : 0),
      detail: update.detail ?? task.detail,
      text: text ?? (newRun ? null : task.text),
    };
  }
  // Persisted changes arrive in order among themselves, but may trail a tick or a fresh read:
  // one from an earlier attempt, or "running" after the same attempt already ended, is stale.
  if (attempt < current) return task;
  if (update.status === "running" && TERMINAL.has(task.status) && attempt === current) return task;
  const next = {
    ...task,
    status: update.status,
    progress: Number(update.progress ?? task.progress),
    error: update.error ?? null,
    attempts: update.attempts ?? task.attempts,
    title: update.title ?? task.title,
    detail: update.detail ?? null,
  };
  if (update.status === "running" && task.status === "running" && attempt === current) {
    // The state change of a run whose ticks were already shown: keep the bar where it is.
    next.progress = Math.max(next.progress, Number(task.progress) || 0);
    next.detail = task.detail ?? next.detail;
  }
  if (update.status === "queued") {
    next.insight = null;
    next.completed_at = null;
    next.text = null;
  }
  return next;
}

/**
 * A task read from the API merged over what the page knows. Progress ticks are not stored, so
 * a read of a running task says 0%; and a read made just before a run started says queued.
 */
export function mergeTask(known, fresh) {
  if (!known) return fresh;
  const merged = { ...known, ...fresh };
  const attempt = Number(fresh.attempts ?? 0);
  const current = Number(known.attempts ?? 0);
  const sameRun = known.status === "running" && fresh.status === "running" && attempt === current;
  const runStarted = known.status === "running" && fresh.status === "queued" && current > attempt;
  if (sameRun || runStarted) {
    merged.status = known.status;
    merged.attempts = known.attempts;
    merged.progress = Math.max(Number(known.progress) || 0, Number(fresh.progress) || 0);
    merged.detail = known.detail;
  }
  return merged;
}

/**
 * A task from an API answer, merged over what the page knows, with the state changes that
 * arrived while the request was in flight (`entries` numbered `n` in arrival order, those with
 * `n > since`) applied again on top: the answer may predate them.
 */
export function settleTask(known, fresh, entries, since) {
  let task = mergeTask(known, fresh);
  if (since === null || since === undefined) return task;
  for (const { n, data } of entries ?? []) {
    if (n > since) task = applyTaskUpdate(task, data, false);
  }
  return task;
}

/** The form field an API error belongs to. */
export function researchFieldOf(path) {
  const name = String(path ?? "").split(/[.[]/)[0];
  return FORM_FIELDS.includes(name) ? name : null;
}

// ------------------------------------------------------------------ rendering

/**
 * What the view holds while it is mounted.
 * @typedef {object} ResearchState
 * @property {boolean} alive false once the view is unmounted: late answers are dropped
 * @property {Map<string, any>} tasks id -> task
 * @property {Map<string, HTMLElement>} nodes id -> its list item
 * @property {Set<string>} fetching tasks being read after an event about them
 * @property {Map<string, any>} earlyTicks ticks of tasks not in the list yet: a run can report
 *   progress before the response that created the task (or the fetch of a task queued
 *   elsewhere) reaches this page
 * @property {number} received state changes received so far, numbered in arrival order
 * @property {Map<string, { n: number, data: any }[]>} recentUpdates the last state changes per
 *   task. An API answer (a read, or the task a create/cancel/retry returns) may be older than
 *   changes that arrived while it was in flight: those are applied again over it, in order;
 *   applyTaskUpdate drops the ones the answer already includes.
 * @property {string | null} cursor
 * @property {string} statusFilter
 * @property {string | null} openId the task shown in the detail
 */

/** @returns {ResearchState} */
export function createState() {
  return {
    alive: true,
    tasks: new Map(),
    nodes: new Map(),
    fetching: new Set(),
    earlyTicks: new Map(),
    received: 0,
    recentUpdates: new Map(),
    cursor: null,
    statusFilter: "",
    openId: null,
  };
}

/**
 * Keeps a received state change, numbered, for replay over older answers.
 * @param {ResearchState} state
 * @param {any} data
 */
export function remember(state, data) {
  const { recentUpdates } = state;
  const updates = recentUpdates.get(data.task_id) ?? [];
  updates.push({ n: ++state.received, data });
  if (updates.length > 20) updates.shift();
  recentUpdates.delete(data.task_id);
  recentUpdates.set(data.task_id, updates);
  if (recentUpdates.size > 200) recentUpdates.delete(recentUpdates.keys().next().value);
}

/**
 * A tick of a task not shown yet, kept for when it arrives (the 50 latest tasks).
 * @param {ResearchState} state
 * @param {any} data
 */
export function keepEarlyTick(state, data) {
  state.earlyTicks.set(data.task_id, data);
  if (state.earlyTicks.size > 50) state.earlyTicks.delete(state.earlyTicks.keys().next().value);
}
