// @ts-check
// Research: queue a task on the web engine, follow it live, cancel or retry it, read its insight.
//
// The list is loaded from /api/research-tasks, then kept current from the stream:
// persisted `task_update` events are state changes (queued, running, done, failed, cancelled)
// and always apply; ephemeral `task_update` ticks only move the progress bar of a task that is
// running its current attempt, and never backwards (a tick may reach us after the state change
// that ended the run). `research_completed` carries the insight of a finished task. A task
// queued elsewhere is fetched and put at the top. A `reset` frame reloads everything.
//
// The view is three modules: research/state.js (what the page holds, and the pure rules),
// research/render.js (the DOM) and research/actions.js (requests and what they change).

import { createState } from "./research/state.js";
import { layout } from "./research/render.js";
import { load, loadProspects, onTaskUpdate, submitForm, upsert } from "./research/actions.js";

export {
  applyTaskUpdate,
  canCancel,
  canRetry,
  mergeTask,
  researchFieldOf,
  settleTask,
  shownProgress,
  urlLines,
} from "./research/state.js";

export default {
  id: "research",
  title: "Research",
  adminOnly: false,
  /**
   * @param {HTMLElement} root
   * @param {{ api: import("../api.js").Api, live: any, toast: (message: string, kind?: string) => void }} services
   */
  mount(root, { api, live, toast }) {
    const state = createState();
    const ui = layout(root);
    /** @type {import("./research/actions.js").ResearchContext} */
    const ctx = { api, toast, state, ui };
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitForm(ctx);
    });
    ui.more.addEventListener("click", () => load(ctx));
    ui.filter.addEventListener("change", () => {
      state.statusFilter = ui.filter.value;
      load(ctx, true);
    });
    const unsubscribe = [
      live.on("task_update", (/** @type {any} */ event) => onTaskUpdate(ctx, event)),
      live.on("research_completed", (/** @type {any} */ event) => {
        const data = event.data;
        if (event.ephemeral || !data?.task_id || !state.tasks.has(data.task_id)) return;
        upsert(ctx, { ...state.tasks.get(data.task_id), insight: data.insight });
      }),
      live.on("reset", () => load(ctx, true)),
    ];

    load(ctx);
    loadProspects(ctx);
    return () => {
      state.alive = false;
      unsubscribe.forEach((stop) => stop());
    };
  },
};
