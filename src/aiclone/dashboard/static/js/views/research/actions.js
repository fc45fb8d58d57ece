// @ts-check
// The Research view's actions: loading tasks and prospects, starting, cancelling and retrying
// research, showing a task, and the live changes. Each takes the view's context, changes its
// state, then redraws through render.js.

import { busy, errorBox, formValues, h, replace, stateLine } from "../../dom.js";
import { PAGE, applyTaskUpdate, keepEarlyTick, remember, settleTask, urlLines } from "./state.js";
import { renderDetail, taskItem } from "./render.js";

/**
 * What every action works on.
 * @typedef {object} ResearchContext
 * @property {import("../../api.js").Api} api
 * @property {(message: string, kind?: string) => void} toast
 * @property {import("./state.js").ResearchState} state
 * @property {import("./render.js").ResearchUi} ui
 */

/**
 * @param {ResearchContext} ctx
 * @returns {import("./render.js").TaskHandlers}
 */
const handlers = (ctx) => ({ act: (task, action) => act(ctx, task, action), show: (id) => show(ctx, id) });

/** @param {ResearchContext} ctx */
function drawDetail(ctx) {
  const { state } = ctx;
  renderDetail(ctx.ui.detail, state.openId ? state.tasks.get(state.openId) : null, handlers(ctx));
}

/** @param {ResearchContext} ctx */
function showEmpty({ state, ui }) {
  replace(ui.listState, state.tasks.size ? null : stateLine("empty", state.statusFilter ? "No tasks with this status." : "No research yet. Give it a few URLs above."));
}

/**
 * A task as read or as an answer gave it, merged with what the page knows and redrawn.
 * @param {ResearchContext} ctx
 * @param {any} task
 * @param {{ atTop?: boolean, since?: number | null }} [options] `since`: changes received
 *   after this number are newer than the answer, and are applied again over it
 */
export function upsert(ctx, task, { atTop = false, since = null } = {}) {
  const { state, ui } = ctx;
  const known = state.tasks.get(task.id);
  let merged = settleTask(known, task, state.recentUpdates.get(task.id), since);
  if (!known && state.earlyTicks.has(task.id)) {
    merged = applyTaskUpdate(merged, state.earlyTicks.get(task.id), true);
    state.earlyTicks.delete(task.id);
  }
  if (state.statusFilter && merged.status !== state.statusFilter && !known) return;
  state.tasks.set(task.id, merged);
  const li = taskItem(merged, state.openId === merged.id, handlers(ctx));
  const node = state.nodes.get(task.id);
  if (node) node.replaceWith(li);
  else if (atTop) ui.listEl.prepend(li);
  else ui.listEl.append(li);
  state.nodes.set(task.id, li);
  if (state.openId === task.id) drawDetail(ctx);
  showEmpty(ctx);
}

/** @param {ResearchContext} ctx */
export async function submitForm(ctx) {
  const { state, ui } = ctx;
  const values = formValues(ui.form);
  const body = {
    title: values.title, // the API trims, and names a blank title together with other errors
    input_source: urlLines(values.input_source).join("\n"),
    source_type: "urls",
    engine: values.engine || "web",
    priority: values.priority,
    prospect_id: values.prospect_id || null,
  };
  try {
    const since = state.received;
    const task = await busy(ui.form, () => ctx.api.post("/api/research-tasks", body));
    ui.showErrors(null);
    if (!state.alive) return;
    ui.form.reset();
    upsert(ctx, task, { atTop: true, since });
    show(ctx, task.id);
    ctx.toast(`Research "${task.title}" queued.`, "success");
  } catch (error) {
    ui.showErrors(error);
  }
}

/**
 * Cancel or retry.
 * @param {ResearchContext} ctx
 * @param {any} task
 * @param {"cancel" | "retry"} action
 */
async function act(ctx, task, action) {
  try {
    const since = ctx.state.received;
    const updated = await ctx.api.post(`/api/research-tasks/${task.id}/${action}`);
    if (!ctx.state.alive) return;
    upsert(ctx, { ...updated, detail: null }, { since });
    ctx.toast(action === "cancel" ? `Cancelled "${updated.title}".` : `"${updated.title}" queued again.`, "success");
  } catch (error) {
    ctx.toast(`${error.title}${error.detail ? `: ${error.detail}` : ""}`, "error");
  }
}

/**
 * Opens a task in the detail, then reads it afresh.
 * @param {ResearchContext} ctx
 * @param {string} id
 */
export async function show(ctx, id) {
  const { state, ui } = ctx;
  state.openId = id;
  for (const [taskId, li] of state.nodes) li.classList.toggle("is-open", taskId === id);
  drawDetail(ctx);
  ui.detail.scrollIntoView?.({ block: "nearest" });
  try {
    const since = state.received;
    const task = await ctx.api.get(`/api/research-tasks/${id}`);
    if (state.alive && state.openId === id) upsert(ctx, task, { since });
  } catch (error) {
    if (state.alive && state.openId === id) replace(ui.detail, errorBox(error));
  }
}

/**
 * The next page of tasks, or the first again (`reset`).
 * @param {ResearchContext} ctx
 */
export async function load(ctx, reset = false) {
  const { state, ui } = ctx;
  if (reset) {
    state.cursor = null;
    state.tasks.clear();
    state.nodes.clear();
    replace(ui.listEl);
  }
  try {
    const since = state.received;
    const page = await ctx.api.get("/api/research-tasks", { limit: PAGE, cursor: state.cursor, status: state.statusFilter || undefined });
    if (!state.alive) return;
    page.items.forEach((/** @type {any} */ task) => upsert(ctx, task, { since }));
    state.cursor = page.next_cursor;
    ui.more.hidden = !state.cursor;
    showEmpty(ctx);
    if (state.openId) drawDetail(ctx);
  } catch (error) {
    if (state.alive) replace(ui.listState, errorBox(error));
  }
}

/** @param {ResearchContext} ctx */
export async function loadProspects(ctx) {
  try {
    const page = await ctx.api.get("/api/prospects", { sort: "name", order: "asc", limit: 200 });
    if (!ctx.state.alive) return;
    replace(ctx.ui.prospect, h("option", { value: "" }, "None"), page.items.map((/** @type {any} */ item) =>
      h("option", { value: item.id }, item.company ? `${item.name} (${item.company})` : item.name)));
  } catch {
    // The task can still be created without a prospect; the select keeps "None".
  }
}

/**
 * A task the page does not show yet (queued elsewhere, or before the create's answer).
 * @param {ResearchContext} ctx
 * @param {string} id
 */
async function fetchTask(ctx, id) {
  const { state } = ctx;
  if (state.fetching.has(id)) return;
  state.fetching.add(id);
  try {
    const since = state.received;
    const task = await ctx.api.get(`/api/research-tasks/${id}`);
    if (state.alive && !state.tasks.has(id)) upsert(ctx, task, { atTop: true, since });
  } catch {
    // Gone already (deleted with its user) or not ours: nothing to show.
  } finally {
    state.fetching.delete(id);
  }
}

/**
 * A `task_update` event (persisted, or a live progress tick).
 * @param {ResearchContext} ctx
 * @param {any} event
 */
export function onTaskUpdate(ctx, event) {
  const { state } = ctx;
  const data = event.data;
  if (!data?.task_id) return;
  if (!event.ephemeral) remember(state, data);
  const task = state.tasks.get(data.task_id);
  if (!task) {
    if (event.ephemeral) keepEarlyTick(state, data);
    else fetchTask(ctx, data.task_id);
    return;
  }
  const next = applyTaskUpdate(task, data, event.ephemeral);
  if (next === task) return;
  state.tasks.set(task.id, next);
  upsert(ctx, next);
  // The insight comes with research_completed; an open task re-reads it in case that was missed.
  if (!event.ephemeral && next.status === "done" && state.openId === task.id) show(ctx, task.id);
}
