// @ts-check
// The Automations view's actions: loading the rules, saving the form, enabling and pausing,
// deleting, and running a rule by hand with sample data. Each takes the view's context,
// changes its state, then redraws through render.js and form.js.

import { busy, errorBox, field, h, modal, replace } from "../../dom.js";
import { parseSample, ruleBody, sampleFor, triggerLabel, upsertRule } from "./state.js";
import { clearFieldErrors, currentValues, fillForm, showErrors } from "./form.js";
import { renderRules } from "./render.js";

/**
 * What every action works on.
 * @typedef {object} AutomationsContext
 * @property {import("../../api.js").Api} api
 * @property {(message: string, kind?: string) => void} toast
 * @property {import("./state.js").AutomationsState} state
 * @property {import("./form.js").RuleFormUi} form
 * @property {ReturnType<typeof import("./render.js").layout>} ui
 */

/** @param {AutomationsContext} ctx */
export function render(ctx) {
  renderRules(ctx.ui, ctx.state, {
    setEnabled: (rule, toggle) => setEnabled(ctx, rule, toggle),
    act: (action, rule) => act(ctx, action, rule),
  });
}

/**
 * @param {AutomationsContext} ctx
 * @param {any} rule
 */
function upsert(ctx, rule) {
  upsertRule(ctx.state, rule);
  render(ctx);
}

/**
 * The form set to edit `rule`, or emptied for a new one (null).
 * @param {AutomationsContext} ctx
 * @param {any} rule
 */
export function edit(ctx, rule) {
  ctx.state.editing = rule;
  fillForm(ctx.form, rule);
}

/**
 * Reads every rule. One load at a time; a request while one runs schedules exactly one more.
 * @param {AutomationsContext} ctx
 */
export function load(ctx) {
  const { state } = ctx;
  if (state.loading) {
    state.again = true;
    return state.loading;
  }
  state.loading = (async () => {
    try {
      do {
        state.again = false;
        const items = [];
        let cursor = null;
        do {
          const page = await ctx.api.get("/api/automations", { limit: 100, cursor });
          items.push(...page.items);
          cursor = page.next_cursor;
        } while (cursor && state.alive);
        if (!state.alive) return;
        state.rules = items;
        render(ctx);
      } while (state.again && state.alive);
    } catch (error) {
      if (state.alive) replace(ctx.ui.listState, errorBox(error));
    } finally {
      state.loading = null;
    }
  })();
  return state.loading;
}

/** @param {AutomationsContext} ctx */
export async function submitForm(ctx) {
  const { form, state } = ctx;
  replace(form.formErrors);
  clearFieldErrors(form);
  const payload = ruleBody(currentValues(form));
  const editing = state.editing;
  try {
    const saved = await busy(form.form, () =>
      editing ? ctx.api.patch(`/api/automations/${editing.id}`, payload) : ctx.api.post("/api/automations", payload),
    );
    ctx.toast(editing ? "Rule saved." : "Rule created.", "success");
    edit(ctx, null);
    upsert(ctx, saved);
    await load(ctx);
  } catch (error) {
    // The form keeps every value; the errors point at the fields they are about.
    showErrors(form, error);
  }
}

/**
 * @param {AutomationsContext} ctx
 * @param {any} rule
 * @param {HTMLInputElement} toggle
 */
async function setEnabled(ctx, rule, toggle) {
  toggle.disabled = true;
  try {
    upsert(ctx, await ctx.api.patch(`/api/automations/${rule.id}`, { enabled: toggle.checked }));
    ctx.toast(toggle.checked ? `“${rule.name}” enabled.` : `“${rule.name}” paused.`, "success");
  } catch (error) {
    toggle.checked = !toggle.checked;
    toggle.disabled = false;
    ctx.toast(`${error.title}${error.detail ? `: ${error.detail}` : ""}`, "error");
  }
}

/**
 * @param {AutomationsContext} ctx
 * @param {any} rule
 */
function confirmDelete(ctx, rule) {
  const { state } = ctx;
  const errors = h("div", {});
  const ok = h("button", { type: "submit", class: "danger", id: "confirm-delete" }, "Delete rule");
  const no = h("button", { type: "button", class: "ghost" }, "Cancel");
  const content = h("form", { class: "confirm-form" },
    h("p", {}, "Delete the rule ", h("strong", {}, rule.name), "? Its run history on the rule goes with it; events already recorded stay."),
    errors, h("div", { class: "actions" }, ok, no));
  const dialog = modal("Delete rule", content);
  no.addEventListener("click", dialog.close);
  content.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    try {
      await busy(content, () => ctx.api.delete(`/api/automations/${rule.id}`));
      dialog.close();
      state.rules = state.rules.filter((item) => item.id !== rule.id);
      if (state.editing?.id === rule.id) edit(ctx, null);
      render(ctx);
      ctx.toast("Rule deleted.", "success");
    } catch (error) {
      replace(errors, errorBox(error));
    }
  });
  ok.focus();
}

/**
 * @param {any} result the answer of a manual run
 * @param {string} text
 */
function runResult(result, text) {
  const ok = result.status === "ok";
  return h("div", { class: ["run-result", `result-${result.status}`], dataset: { status: result.status } },
    h("span", { class: ["pill", ok ? "done" : "failed"] }, ok ? "ok" : "failed"), " ",
    h("span", { class: "run-text" }, text),
    h("p", { class: "muted small-print" }, result.conditions_matched ? "The sample data matches the conditions." : "The sample data would not match the conditions."));
}

/**
 * "Run now": the rule's action once, on sample data typed in the dialog.
 * @param {AutomationsContext} ctx
 * @param {any} rule
 */
function runDialog(ctx, rule) {
  const errors = h("div", {});
  const output = h("div", { id: "run-result", "aria-live": "polite" });
  const sample = h("textarea", { name: "data", rows: 5, spellcheck: "false", class: "sample-data", placeholder: sampleFor(rule.trigger_event) });
  const run = h("button", { type: "submit", class: "primary", id: "run-submit" }, "Run now");
  const close = h("button", { type: "button", class: "ghost" }, "Close");
  const content = h("form", { class: "run-form", novalidate: true },
    h("p", {}, "Runs the action of ", h("strong", {}, rule.name), " once, whatever its conditions say and even when it is paused."),
    field("Sample event data (JSON, optional)", sample, `The data of a ${triggerLabel(rule.trigger_event)} event; actions on a prospect need its id.`),
    errors, output, h("div", { class: "actions" }, run, close));
  const dialog = modal("Run now", content);
  close.addEventListener("click", dialog.close);
  content.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    replace(output);
    try {
      const data = parseSample(sample.value);
      const result = await busy(content, () => ctx.api.post(`/api/automations/${rule.id}/trigger`, { data }));
      const text = result.status === "ok" ? result.event?.summary ?? "Done." : result.error ?? "The action failed.";
      replace(output, runResult(result, text));
      ctx.state.lastResults.set(rule.id, { status: result.status, text });
      upsert(ctx, result.automation);
    } catch (error) {
      replace(errors, errorBox(error));
    }
  });
  sample.focus();
}

/**
 * A rule card's button.
 * @param {AutomationsContext} ctx
 * @param {string} action
 * @param {any} rule
 */
function act(ctx, action, rule) {
  if (action === "edit") {
    edit(ctx, rule);
    ctx.form.name.focus();
  } else if (action === "delete") confirmDelete(ctx, rule);
  else if (action === "run") runDialog(ctx, rule);
}
