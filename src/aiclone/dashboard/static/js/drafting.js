// @ts-check
// Drafting with the language model: the "Draft with AI" form and the panel that shows a draft
// as the model writes it.
//
// POST /api/outreach/generate answers 202 with a queued task. Its ephemeral `task_update` ticks
// carry `text`, the draft so far (at most five a second); the persisted `task_update` events are
// its state changes, and `task_completed` names the saved draft (`output_id`). The text is only
// ever put in the page as a text node.

import { busy, errorBox, field, h, replace, select } from "./dom.js";

export const CHANNELS = [
  ["email", "Email"],
  ["linkedin", "LinkedIn"],
  ["other", "Other"],
];
export const TONES = [
  ["professional", "Professional"],
  ["friendly", "Friendly"],
  ["casual", "Casual"],
  ["formal", "Formal"],
  ["enthusiastic", "Enthusiastic"],
];
export const LENGTHS = [
  ["short", "Short"],
  ["medium", "Medium"],
  ["long", "Long"],
];
const TERMINAL = new Set(["done", "failed", "cancelled"]);

// ------------------------------------------------------------------ pure logic (unit-tested)

/**
 * The text so far from a tick: a long text comes as its end only, `offset` characters being left
 * out before it, which the text already shown supplies (or an ellipsis, when it cannot).
 */
export function joinText(known, text, offset) {
  const skip = Number(offset) || 0;
  if (!skip) return text;
  const head = String(known ?? "");
  return head.length >= skip ? head.slice(0, skip) + text : `…${text}`;
}

/** A new draft's state, from the task the API answered with. */
export function draftState(task) {
  return { taskId: task.id, status: task.status, attempts: Number(task.attempts ?? 0), text: "", error: task.error ?? null, outputId: task.output_id ?? null };
}

/**
 * The draft after an event of its task (`task_update`, ephemeral or not, or `task_completed`);
 * the same object when the event does not change it. A tick never undoes an ended run, and a
 * tick of an earlier attempt (a retried call starts its text over) is stale.
 */
export function applyDraftEvent(state, type, data, ephemeral) {
  if (!state || !data || data.task_id !== state.taskId) return state;
  const attempt = Number(data.attempts ?? state.attempts);
  if (type === "task_completed") {
    if (ephemeral) return state;
    return { ...state, status: data.status, error: data.error ?? null, outputId: data.output_id ?? state.outputId };
  }
  if (type !== "task_update") return state;
  if (ephemeral) {
    if (data.status !== "running" || typeof data.text !== "string") return state;
    if (TERMINAL.has(state.status) || attempt < state.attempts) return state;
    const text = joinText(attempt === state.attempts ? state.text : "", data.text, data.text_offset);
    if (attempt === state.attempts && text === state.text) return state;
    return { ...state, status: "running", attempts: attempt, text };
  }
  if (attempt < state.attempts) return state;
  if (data.status === "running" && TERMINAL.has(state.status) && attempt === state.attempts) return state;
  return { ...state, status: data.status, attempts: attempt, error: data.error ?? null };
}

// ------------------------------------------------------------------ the live panel

/** The text of a saved outreach draft as the panel shows it (the subject line first). */
export function outreachText(message) {
  return message.subject ? `Subject: ${message.subject}\n\n${message.body}` : message.body;
}

/**
 * A panel showing one draft being written. `linkTo(outputId)` gives the saved draft's link;
 * `loadSaved(outputId)` reads the saved text, which replaces the streamed one at the end (ticks
 * are throttled, so the last one may predate the final words).
 * Returns { element, start(task), stop() }.
 */
export function draftPanel({ live, linkTo, loadSaved = null, idPrefix = "draft" }) {
  const status = h("p", { class: "draft-status muted", id: `${idPrefix}-status`, role: "status" });
  const text = h("pre", { class: "draft-stream", id: `${idPrefix}-stream`, "aria-live": "polite", "aria-label": "The draft as it is written" });
  const result = h("div", { class: "draft-result", id: `${idPrefix}-result` });
  const element = h("div", { class: "draft-panel", id: `${idPrefix}-panel`, hidden: true }, status, text, result);
  let state = null;
  const render = () => {
    if (!state) return;
    element.hidden = false;
    element.dataset.status = state.status;
    const words = {
      queued: "Queued; the model starts shortly…",
      running: state.text ? "Writing…" : "The model is starting…",
      done: "Done.",
      failed: "The draft failed.",
      cancelled: "Cancelled.",
    };
    status.textContent = words[state.status] ?? state.status;
    text.textContent = state.text;
    if (state.status === "failed") replace(result, h("div", { class: "error-box", role: "alert" }, state.error || "The draft could not be written."));
    else if (state.status === "done" && state.outputId) replace(result, h("a", { href: linkTo(state.outputId), class: "draft-link", id: `${idPrefix}-link` }, "Open the saved draft"));
    else replace(result);
  };
  const showSaved = async (outputId) => {
    try {
      const saved = await loadSaved(outputId);
      if (state?.outputId !== outputId) return;
      state = { ...state, text: saved };
      render();
    } catch {
      // The link still leads to it; the streamed text stays.
    }
  };
  const on = (type) => (event) => {
    const next = applyDraftEvent(state, type, event.data, event.ephemeral);
    if (next === state) return;
    const saved = next.outputId && next.outputId !== state.outputId;
    state = next;
    render();
    if (saved && loadSaved) showSaved(next.outputId);
  };
  const stops = [live.on("task_update", on("task_update")), live.on("task_completed", on("task_completed"))];
  return {
    element,
    start(task) {
      state = draftState(task);
      render();
    },
    stop() {
      stops.forEach((stop) => stop());
    },
  };
}

// ------------------------------------------------------------------ the form

/**
 * The "Draft with AI" form: channel, tone and length (and a prospect select when `prospects`
 * is given). `prospectId()` says whom to write to. Calls `onQueued(task)` once the API accepted.
 */
export function draftForm({ api, prospectId, prospects = null, onQueued, idPrefix = "draft" }) {
  const channel = select("channel", CHANNELS, "email");
  channel.id = `${idPrefix}-channel`;
  const tone = select("tone", TONES, "professional");
  tone.id = `${idPrefix}-tone`;
  const length = select("length", LENGTHS, "medium");
  length.id = `${idPrefix}-length`;
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary", id: `${idPrefix}-submit` }, "Draft with AI");
  const form = h(
    "form",
    { class: "draft-form", id: `${idPrefix}-form`, novalidate: true },
    errors,
    prospects ? field("Prospect", prospects) : null,
    h("div", { class: "row" }, field("Channel", channel), field("Tone", tone), field("Length", length)),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = prospectId();
    if (!id) {
      replace(errors, errorBox({ title: "Choose a prospect", detail: "Pick whom the message is for." }));
      return;
    }
    try {
      const task = await busy(form, () =>
        api.post("/api/outreach/generate", { prospect_id: id, channel: channel.value, tone: tone.value, length: length.value }),
      );
      replace(errors);
      onQueued(task);
    } catch (error) {
      replace(errors, errorBox(error));
    }
  });
  return form;
}
