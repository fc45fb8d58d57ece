// @ts-check
// The Automations view's rendering: the page's layout and a rule's card (its trigger,
// conditions and action in words, its counts, its last error and latest run).

import { h, replace, stateLine } from "../../dom.js";
import { dateTime, relativeTime } from "../../format.js";
import { actionText, conditionsText, triggerLabel } from "./state.js";

/** @typedef {import("./state.js").AutomationsState} AutomationsState */

/**
 * @param {string | null | undefined} value
 * @param {string} [empty]
 */
function when(value, empty = "never") {
  if (!value) return empty;
  return h("time", { datetime: value, title: dateTime(value) }, relativeTime(value));
}

/**
 * The page, drawn into `root` around the rule form; returns the list's elements.
 * @param {HTMLElement} root
 * @param {import("./form.js").RuleFormUi} form
 */
export function layout(root, form) {
  const listState = h("div", {}, stateLine("loading", "Loading rules…"));
  const list = h("ul", { class: "automations", id: "automations", "aria-live": "polite" });
  replace(
    root,
    h("header", { class: "view-head" }, h("h1", {}, "Automations"),
      h("p", { class: "muted" }, "Rules that act when something happens: notify you, queue research or tag a prospect.")),
    h("div", { class: "columns" },
      h("section", { class: "panel", "aria-labelledby": "rules-title" },
        h("header", { class: "panel-head" }, h("h2", { id: "rules-title" }, "Your rules")), listState, list),
      h("section", { class: "panel", "aria-labelledby": "automation-form-title" }, form.formTitle, form.form)),
  );
  return { listState, list };
}

/**
 * @typedef {object} RuleHandlers
 * @property {(rule: any, toggle: HTMLInputElement) => void} setEnabled
 * @property {(action: string, rule: any) => void} act
 */

/**
 * @param {any} rule
 * @param {{ status: string, text: string } | undefined} result the latest run seen
 * @param {RuleHandlers} handlers
 */
export function ruleCard(rule, result, handlers) {
  const toggle = h("input", { type: "checkbox", checked: rule.enabled, dataset: { action: "toggle" } });
  toggle.addEventListener("change", () => handlers.setEnabled(rule, toggle));
  /** @param {string} label @param {string} action */
  const button = (label, action, kind = "ghost") =>
    h("button", { type: "button", class: ["small", kind], dataset: { action }, on: { click: () => handlers.act(action, rule) } }, label);
  return h(
    "li",
    { class: ["rule", rule.enabled ? "is-enabled" : "is-disabled", rule.failure_count ? "has-failures" : null], dataset: { id: rule.id } },
    h("div", { class: "rule-line" },
      h("strong", { class: "rule-name" }, rule.name),
      h("span", { class: ["pill", rule.enabled ? "active" : "warn"] }, rule.enabled ? "Enabled" : "Paused")),
    h("p", { class: "rule-when" }, h("span", { class: "muted" }, "When "), h("span", { class: "rule-trigger" }, triggerLabel(rule.trigger_event)),
      h("span", { class: "muted" }, rule.conditions.length ? ", if " : ", "), h("span", { class: "rule-conditions" }, conditionsText(rule.conditions))),
    h("p", { class: "rule-then" }, h("span", { class: "muted" }, "Then "), h("span", { class: "rule-action" }, actionText(rule.action))),
    h("p", { class: "rule-stats muted" },
      "Runs: ", h("span", { class: "runs" }, String(rule.run_count)),
      " · Failures: ", h("span", { class: "failures" }, String(rule.failure_count)),
      " · Last run: ", h("span", { class: "last-run" }, when(rule.last_run_at))),
    rule.last_error
      ? h("p", { class: "last-error" }, h("span", { class: "muted" }, "Last error"),
        rule.last_failed_at ? h("span", { class: "muted" }, " (", when(rule.last_failed_at), ")") : null,
        h("span", { class: "muted" }, ": "), h("span", { class: "last-error-text" }, rule.last_error))
      : null,
    result ? h("p", { class: ["last-result", `result-${result.status}`] }, h("span", { class: "muted" }, "Latest run: "), result.text) : null,
    h("div", { class: "actions" },
      h("label", { class: "check toggle" }, toggle, h("span", {}, "Enabled")),
      button("Run now", "run", "primary"),
      button("Edit", "edit"),
      button("Delete", "delete", "danger")),
  );
}

/**
 * Redraws the list, keeping the keyboard focus on the same rule's same button.
 * @param {ReturnType<typeof layout>} ui
 * @param {AutomationsState} state
 * @param {RuleHandlers} handlers
 */
export function renderRules(ui, state, handlers) {
  const { list, listState } = ui;
  const focused = /** @type {HTMLElement | null} */ (document.activeElement);
  const focusKey = focused && list.contains(focused) ? [/** @type {HTMLElement | null} */ (focused.closest("li"))?.dataset.id, focused.dataset.action] : null;
  replace(list, state.rules.map((rule) => ruleCard(rule, state.lastResults.get(rule.id), handlers)));
  replace(listState, state.rules.length ? null : stateLine("empty", "No rules yet. Create one: when something happens, aiclone acts for you."));
  if (focusKey?.[0] && focusKey[1]) {
    /** @type {HTMLElement | null} */ (list.querySelector(`li[data-id="${CSS.escape(focusKey[0])}"] [data-action="${focusKey[1]}"]`))?.focus();
  }
}
