// @ts-check
// The Automations view's rule form: its controls, its condition rows, filling it from a rule,
// reading it back, and showing the API's errors beside the fields they are about.

import { errorBox, field, h, replace, select } from "../../dom.js";
import { ACTIONS, LEVELS, MAX_CONDITIONS, OPERATORS, PRIORITIES, TRIGGERS, errorsByField, triggerLabel, valueText } from "./state.js";

/**
 * @template {HTMLElement} E
 * @param {string} text
 * @param {E} control
 */
function labelled(text, control) {
  control.setAttribute("aria-label", text);
  return control;
}

function actionControls() {
  const title = h("input", { name: "title", maxlength: 200, dataset: { field: "action.title" }, placeholder: "New prospect: {{name}}" });
  const body = h("textarea", { name: "body", maxlength: 2000, rows: 3, dataset: { field: "action.body" } });
  const level = select("level", LEVELS.map((l) => [l, l]), "info");
  level.dataset.field = "action.level";
  const priority = select("priority", PRIORITIES.map((p) => [p, p]), "medium");
  priority.dataset.field = "action.priority";
  const researchTitle = h("input", { name: "research_title", maxlength: 200, dataset: { field: "action.title" }, placeholder: "Research {{name}}" });
  const add = h("input", { name: "add", maxlength: 2000, dataset: { field: "action.add" }, placeholder: "hot, vip" });
  const remove = h("input", { name: "remove", maxlength: 2000, dataset: { field: "action.remove" }, placeholder: "cold" });
  /** @type {Record<string, HTMLElement>} */
  const actionFields = {
    notify: h("div", { class: "action-fields", dataset: { action: "notify" } },
      field("Title", title, "{{field}} is replaced by that value of the event, e.g. {{name}}."),
      field("Body", body),
      field("Level", level)),
    create_research_task: h("div", { class: "action-fields", dataset: { action: "create_research_task" } },
      field("Priority", priority),
      field("Task title (optional)", researchTitle, "Without one: “Research <prospect name>”.")),
    tag_prospect: h("div", { class: "action-fields", dataset: { action: "tag_prospect" } },
      field("Add tags", add, "Comma-separated."),
      field("Remove tags", remove, "Comma-separated.")),
  };
  return { title, body, level, priority, researchTitle, add, remove, actionFields };
}

/** The form, with its controls; `showAction` shows the fields of the chosen action only. */
export function ruleForm() {
  const formTitle = h("h2", { id: "automation-form-title" }, "New rule");
  const formErrors = h("div", { class: "form-errors", "aria-live": "polite" });
  const name = h("input", { name: "name", maxlength: 200, required: true, dataset: { field: "name" } });
  const trigger = select("trigger_event", TRIGGERS.map((t) => [t, triggerLabel(t)]), "prospect_added");
  trigger.dataset.field = "trigger_event";
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: true });
  const conditionRows = h("ol", { class: "condition-rows", id: "condition-rows" });
  const addCondition = h("button", { type: "button", class: "ghost small", id: "add-condition" }, "Add condition");
  const actionType = select("action_type", ACTIONS, "notify");
  actionType.dataset.field = "action.type";
  const action = actionControls();
  const submit = h("button", { type: "submit", class: "primary", id: "automation-submit" }, "Create rule");
  const cancel = h("button", { type: "button", class: "ghost", id: "automation-cancel", hidden: true }, "Cancel editing");
  const form = h(
    "form",
    { id: "automation-form", class: "automation-form", novalidate: true, "aria-labelledby": "automation-form-title" },
    formErrors,
    field("Name", name),
    field("When this happens", trigger),
    h("fieldset", { class: "conditions-editor" },
      h("legend", {}, "Only if (all must hold)"),
      h("p", { class: "hint small-print" }, "Field: a dotted path into the event, e.g. fit_score or insight.summary. Value: numbers, true/false and [lists] are read as JSON, anything else as text."),
      conditionRows,
      addCondition),
    field("Then", actionType),
    Object.values(action.actionFields),
    h("label", { class: "check" }, enabled, " Enabled"),
    h("div", { class: "actions" }, submit, cancel),
  );
  const ui = { form, formTitle, formErrors, name, trigger, enabled, conditionRows, addCondition, actionType, submit, cancel, ...action };
  addCondition.addEventListener("click", () => {
    conditionRows.appendChild(conditionRow(ui));
    syncConditions(ui);
    /** @type {HTMLElement} */ (conditionRows.lastElementChild?.querySelector("input"))?.focus();
  });
  actionType.addEventListener("change", () => showAction(ui));
  return ui;
}

/** @typedef {ReturnType<typeof ruleForm>} RuleFormUi */

/** @param {RuleFormUi} ui */
function showAction(ui) {
  for (const [type, block] of Object.entries(ui.actionFields)) block.hidden = type !== ui.actionType.value;
}

/**
 * One condition's row: field, operator, value, and a button to remove it.
 * @param {RuleFormUi} ui
 * @param {{ field: string, op: string, value?: unknown }} [condition]
 */
function conditionRow(ui, condition = { field: "", op: "eq" }) {
  const fieldInput = labelled("Field", h("input", { name: "cond_field", maxlength: 200, value: condition.field, placeholder: "fit_score", class: "cond-field" }));
  const op = labelled("Operator", select("cond_op", OPERATORS, condition.op));
  op.classList.add("cond-op");
  const value = labelled("Value", h("input", { name: "cond_value", maxlength: 2000, value: valueText(condition.value), placeholder: "70", class: "cond-value" }));
  const row = h("li", { class: "condition-row" }, fieldInput, op, value);
  const removeButton = h("button", { type: "button", class: "ghost small danger", "aria-label": "Remove condition" }, "Remove");
  removeButton.addEventListener("click", () => {
    row.remove();
    syncConditions(ui);
  });
  row.appendChild(removeButton);
  return row;
}

/**
 * The rows' field paths (`conditions[2].value`), which the API's errors name.
 * @param {RuleFormUi} ui
 */
function syncConditions(ui) {
  [.../** @type {HTMLCollectionOf<HTMLElement>} */ (ui.conditionRows.children)].forEach((row, index) => {
    row.dataset.index = String(index);
    /** @param {string} selector @param {string} part */
    const mark = (selector, part) => {
      /** @type {HTMLElement} */ (row.querySelector(selector)).dataset.field = `conditions[${index}].${part}`;
    };
    mark(".cond-field", "field");
    mark(".cond-op", "op");
    mark(".cond-value", "value");
  });
  ui.addCondition.disabled = ui.conditionRows.children.length >= MAX_CONDITIONS;
}

/** @param {RuleFormUi} ui */
export function clearFieldErrors(ui) {
  ui.form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  ui.form.querySelectorAll(".field-error").forEach((el) => el.remove());
}

/**
 * The error above the form, and each field's message beside its control.
 * @param {RuleFormUi} ui
 * @param {any} error
 */
export function showErrors(ui, error) {
  clearFieldErrors(ui);
  replace(ui.formErrors, errorBox(error));
  const controls = [.../** @type {NodeListOf<HTMLElement>} */ (ui.form.querySelectorAll("[data-field]"))];
  for (const [key, messages] of errorsByField(error?.errors)) {
    const control = controls.find((el) => el.dataset.field === key && !el.closest("[hidden]"));
    if (!control) continue;
    control.setAttribute("aria-invalid", "true");
    const note = h("small", { class: "field-error", role: "note" }, messages.join("; "));
    (control.closest(".field") ?? control.closest(".condition-row") ?? control.parentElement)?.appendChild(note);
  }
}

/**
 * The form set to edit `rule`, or emptied for a new one (null).
 * @param {RuleFormUi} ui
 * @param {any} rule
 */
export function fillForm(ui, rule) {
  ui.form.reset();
  clearFieldErrors(ui);
  replace(ui.formErrors);
  ui.name.value = rule?.name ?? "";
  ui.trigger.value = rule?.trigger_event ?? "prospect_added";
  ui.enabled.checked = rule ? rule.enabled : true;
  replace(ui.conditionRows, (rule?.conditions ?? []).map((/** @type {any} */ condition) => conditionRow(ui, condition)));
  syncConditions(ui);
  const action = rule?.action ?? { type: "notify" };
  ui.actionType.value = action.type;
  ui.title.value = action.type === "notify" ? action.title ?? "" : "";
  ui.body.value = action.type === "notify" ? action.body ?? "" : "";
  ui.level.value = action.type === "notify" ? action.level ?? "info" : "info";
  ui.priority.value = action.type === "create_research_task" ? action.priority ?? "medium" : "medium";
  ui.researchTitle.value = action.type === "create_research_task" ? action.title ?? "" : "";
  ui.add.value = action.type === "tag_prospect" ? (action.add ?? []).join(", ") : "";
  ui.remove.value = action.type === "tag_prospect" ? (action.remove ?? []).join(", ") : "";
  showAction(ui);
  ui.formTitle.textContent = rule ? `Edit rule: ${rule.name}` : "New rule";
  ui.submit.textContent = rule ? "Save rule" : "Create rule";
  ui.cancel.hidden = !rule;
  ui.form.dataset.mode = rule ? "edit" : "create";
}

/**
 * The form's plain values, for `ruleBody`.
 * @param {RuleFormUi} ui
 */
export function currentValues(ui) {
  /** @param {Element} row @param {string} selector */
  const valueIn = (row, selector) => /** @type {HTMLInputElement} */ (row.querySelector(selector)).value;
  return {
    name: ui.name.value,
    trigger: ui.trigger.value,
    enabled: ui.enabled.checked,
    conditions: [...ui.conditionRows.children].map((row) => ({
      field: valueIn(row, ".cond-field"),
      op: valueIn(row, ".cond-op"),
      value: valueIn(row, ".cond-value"),
    })),
    actionType: ui.actionType.value,
    title: ui.title.value,
    body: ui.body.value,
    level: ui.level.value,
    priority: ui.priority.value,
    researchTitle: ui.researchTitle.value,
    add: ui.add.value,
    remove: ui.remove.value,
  };
}
