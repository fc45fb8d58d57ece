// @ts-check
// Automations: the user's rules (trigger event + conditions + one action), their run counts and
// failures, a form to create and edit them, and manual runs with sample event data.
//
// Live: a successful run writes `automation_triggered`; a failure after a success sends the
// owner a warning notification whose data names the rule. Either refreshes the list, so the
// counts, the last run and the last error move without a reload; `reset` reloads too. The
// summary of the latest run seen while the page is open is shown under its rule.

import { busy, errorBox, field, h, modal, replace, select, stateLine } from "../dom.js";
import { AUTOMATION_TRIGGERS } from "../event-types.js";
import { dateTime, debounce, relativeTime } from "../format.js";

/** The events a rule may react to: the server's catalogue (see event-types.js). */
export const TRIGGERS = AUTOMATION_TRIGGERS;
export const OPERATORS = [
  ["eq", "is"],
  ["ne", "is not"],
  ["in", "is one of"],
  ["not_in", "is not one of"],
  ["contains", "contains"],
  ["gt", ">"],
  ["gte", "≥"],
  ["lt", "<"],
  ["lte", "≤"],
  ["exists", "exists"],
];
const OP_WORDS = Object.fromEntries(OPERATORS);
export const ACTIONS = [
  ["notify", "Send me a notification"],
  ["create_research_task", "Queue web research of the prospect"],
  ["tag_prospect", "Tag the prospect"],
];
const LEVELS = ["info", "success", "warning", "error"];
const PRIORITIES = ["high", "medium", "low"];
const MAX_CONDITIONS = 10;
const LOOKS_LIKE_JSON = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|\[[\s\S]*\]|"[\s\S]*")$/;

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** A condition value typed in a box: JSON when it looks like a number/boolean/null/list/quoted
 *  string, otherwise the text itself. `undefined` for an empty box (the value is left out). */
export function parseValue(text) {
  const raw = String(text ?? "").trim();
  if (raw === "") return undefined;
  if (LOOKS_LIKE_JSON.test(raw)) {
    try {
      return JSON.parse(raw);
    } catch {
      // Not valid JSON after all (e.g. "[a, b]"): taken as text, the API says what it expects.
    }
  }
  return raw;
}

/** The inverse of parseValue, for editing a saved condition. */
export function valueText(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") {
    const parsed = parseValue(value);
    return parsed === value ? value : JSON.stringify(value);
  }
  return JSON.stringify(value);
}

export function triggerLabel(trigger) {
  return String(trigger).replaceAll("_", " ");
}

function shown(value) {
  if (typeof value === "string") return `"${value}"`;
  if (Array.isArray(value)) return value.map(shown).join(", ");
  return JSON.stringify(value);
}

/** One condition in words: `fit_score ≥ 70`, `tags contains "vip"`, `website is present`. */
export function conditionText(condition) {
  const { field: path, op, value } = condition;
  if (op === "exists") return `${path} ${value === false ? "is missing" : "is present"}`;
  const words = OP_WORDS[op] ?? op;
  if (op === "in" || op === "not_in") return `${path} ${words} [${Array.isArray(value) ? shown(value) : shown(value ?? null)}]`;
  return `${path} ${words} ${shown(value ?? null)}`;
}

/** All conditions in words, or that the rule runs on every event of its trigger. */
export function conditionsText(conditions) {
  if (!conditions || conditions.length === 0) return "every time";
  return conditions.map(conditionText).join(" and ");
}

/** The action in words. */
export function actionText(action) {
  if (!action) return "";
  if (action.type === "notify") {
    const level = action.level && action.level !== "info" ? ` (${action.level})` : "";
    return `Notify me: "${action.title}"${level}`;
  }
  if (action.type === "create_research_task") {
    const title = action.title ? `, titled "${action.title}"` : "";
    return `Queue web research of the prospect's website (${action.priority ?? "medium"} priority${title})`;
  }
  if (action.type === "tag_prospect") {
    const changes = [...(action.add ?? []).map((tag) => `+${tag}`), ...(action.remove ?? []).map((tag) => `−${tag}`)];
    return `Tag the prospect: ${changes.join(" ")}`;
  }
  return action.type;
}

/** "hot, vip ,, new" → ["hot", "vip", "new"]. */
export function splitTags(text) {
  return String(text ?? "")
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** The request body from the form's plain values (`conditions` rows of text). */
export function ruleBody(values) {
  const conditions = values.conditions.map((row) => {
    const condition = { field: row.field.trim(), op: row.op };
    const value = parseValue(row.value);
    if (value !== undefined) condition.value = value;
    return condition;
  });
  let action;
  if (values.actionType === "notify") {
    action = { type: "notify", title: values.title, body: values.body, level: values.level || "info" };
  } else if (values.actionType === "create_research_task") {
    action = { type: "create_research_task", priority: values.priority || "medium" };
    if (values.researchTitle.trim()) action.title = values.researchTitle.trim();
  } else {
    action = { type: "tag_prospect", add: splitTags(values.add), remove: splitTags(values.remove) };
  }
  return { name: values.name, trigger_event: values.trigger, enabled: values.enabled, conditions, action };
}

/** Field errors of an ApiError grouped by field path (`conditions[0].value` → messages). */
export function errorsByField(errors) {
  const grouped = new Map();
  for (const item of errors ?? []) {
    const key = String(item.field ?? "");
    if (!grouped.has(key)) grouped.set(key, []);
    grouped.get(key).push(String(item.message ?? ""));
  }
  return grouped;
}

/** Sample event data for a manual run: the prospect events name their prospect by `id`. */
export function sampleFor(trigger) {
  if (trigger === "prospect_added" || trigger === "prospect_updated") return '{\n  "id": "<prospect id>"\n}';
  return '{\n  "prospect_id": "<prospect id>"\n}';
}

/** Parses the sample-data box: `{}` when empty; throws a readable error unless a JSON object. */
export function parseSample(text) {
  const raw = String(text ?? "").trim();
  if (raw === "") return {};
  let value;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new SampleError(`not valid JSON (${error.message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SampleError("must be a JSON object, e.g. {\"id\": \"…\"}");
  }
  return value;
}

export class SampleError extends Error {
  constructor(message) {
    super(message);
    this.title = "The sample data is not valid";
    this.detail = "";
    this.errors = [{ field: "data", message }];
  }
}

// ---------------------------------------------------------------- DOM pieces

function when(value, empty = "never") {
  if (!value) return empty;
  return h("time", { datetime: value, title: dateTime(value) }, relativeTime(value));
}

function labelled(text, control) {
  control.setAttribute("aria-label", text);
  return control;
}

// ---------------------------------------------------------------- the view

export default {
  id: "automations",
  title: "Automations",
  mount(root, { api, live, toast }) {
    let alive = true;
    let rules = [];
    let editing = null; // the rule being edited, or null for a new one
    const lastResults = new Map(); // rule id -> {status, text} seen while the page is open

    // --- the form
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
    const title = h("input", { name: "title", maxlength: 200, dataset: { field: "action.title" }, placeholder: "New prospect: {{name}}" });
    const body = h("textarea", { name: "body", maxlength: 2000, rows: 3, dataset: { field: "action.body" } });
    const level = select("level", LEVELS.map((l) => [l, l]), "info");
    level.dataset.field = "action.level";
    const priority = select("priority", PRIORITIES.map((p) => [p, p]), "medium");
    priority.dataset.field = "action.priority";
    const researchTitle = h("input", { name: "research_title", maxlength: 200, dataset: { field: "action.title" }, placeholder: "Research {{name}}" });
    const add = h("input", { name: "add", maxlength: 2000, dataset: { field: "action.add" }, placeholder: "hot, vip" });
    const remove = h("input", { name: "remove", maxlength: 2000, dataset: { field: "action.remove" }, placeholder: "cold" });
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
      Object.values(actionFields),
      h("label", { class: "check" }, enabled, " Enabled"),
      h("div", { class: "actions" }, submit, cancel),
    );

    const conditionRow = (condition = { field: "", op: "eq" }) => {
      const fieldInput = labelled("Field", h("input", { name: "cond_field", maxlength: 200, value: condition.field, placeholder: "fit_score", class: "cond-field" }));
      const op = labelled("Operator", select("cond_op", OPERATORS, condition.op));
      op.classList.add("cond-op");
      const value = labelled("Value", h("input", { name: "cond_value", maxlength: 2000, value: valueText(condition.value), placeholder: "70", class: "cond-value" }));
      const row = h("li", { class: "condition-row" }, fieldInput, op, value);
      const removeButton = h("button", { type: "button", class: "ghost small danger", "aria-label": "Remove condition" }, "Remove");
      removeButton.addEventListener("click", () => {
        row.remove();
        syncConditions();
      });
      row.appendChild(removeButton);
      return row;
    };
    const syncConditions = () => {
      [...conditionRows.children].forEach((row, index) => {
        row.dataset.index = String(index);
        row.querySelector(".cond-field").dataset.field = `conditions[${index}].field`;
        row.querySelector(".cond-op").dataset.field = `conditions[${index}].op`;
        row.querySelector(".cond-value").dataset.field = `conditions[${index}].value`;
      });
      addCondition.disabled = conditionRows.children.length >= MAX_CONDITIONS;
    };
    addCondition.addEventListener("click", () => {
      conditionRows.appendChild(conditionRow());
      syncConditions();
      conditionRows.lastElementChild.querySelector("input").focus();
    });

    const showAction = () => {
      for (const [type, block] of Object.entries(actionFields)) block.hidden = type !== actionType.value;
    };
    actionType.addEventListener("change", showAction);

    const clearFieldErrors = () => {
      form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
      form.querySelectorAll(".field-error").forEach((el) => el.remove());
    };
    const showErrors = (error) => {
      clearFieldErrors();
      replace(formErrors, errorBox(error));
      for (const [key, messages] of errorsByField(error?.errors)) {
        const control = [...form.querySelectorAll("[data-field]")].find((el) => el.dataset.field === key && !el.closest("[hidden]"));
        if (!control) continue;
        control.setAttribute("aria-invalid", "true");
        const note = h("small", { class: "field-error", role: "note" }, messages.join("; "));
        (control.closest(".field") ?? control.closest(".condition-row") ?? control.parentElement).appendChild(note);
      }
    };

    const fillForm = (rule) => {
      editing = rule;
      form.reset();
      clearFieldErrors();
      replace(formErrors);
      name.value = rule?.name ?? "";
      trigger.value = rule?.trigger_event ?? "prospect_added";
      enabled.checked = rule ? rule.enabled : true;
      replace(conditionRows, (rule?.conditions ?? []).map(conditionRow));
      syncConditions();
      const action = rule?.action ?? { type: "notify" };
      actionType.value = action.type;
      title.value = action.type === "notify" ? action.title ?? "" : "";
      body.value = action.type === "notify" ? action.body ?? "" : "";
      level.value = action.type === "notify" ? action.level ?? "info" : "info";
      priority.value = action.type === "create_research_task" ? action.priority ?? "medium" : "medium";
      researchTitle.value = action.type === "create_research_task" ? action.title ?? "" : "";
      add.value = action.type === "tag_prospect" ? (action.add ?? []).join(", ") : "";
      remove.value = action.type === "tag_prospect" ? (action.remove ?? []).join(", ") : "";
      showAction();
      formTitle.textContent = rule ? `Edit rule: ${rule.name}` : "New rule";
      submit.textContent = rule ? "Save rule" : "Create rule";
      cancel.hidden = !rule;
      form.dataset.mode = rule ? "edit" : "create";
    };

    const currentValues = () => ({
      name: name.value,
      trigger: trigger.value,
      enabled: enabled.checked,
      conditions: [...conditionRows.children].map((row) => ({
        field: row.querySelector(".cond-field").value,
        op: row.querySelector(".cond-op").value,
        value: row.querySelector(".cond-value").value,
      })),
      actionType: actionType.value,
      title: title.value,
      body: body.value,
      level: level.value,
      priority: priority.value,
      researchTitle: researchTitle.value,
      add: add.value,
      remove: remove.value,
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(formErrors);
      clearFieldErrors();
      const payload = ruleBody(currentValues());
      try {
        const saved = await busy(form, () =>
          editing ? api.patch(`/api/automations/${editing.id}`, payload) : api.post("/api/automations", payload),
        );
        toast(editing ? "Rule saved." : "Rule created.", "success");
        fillForm(null);
        upsert(saved);
        await load();
      } catch (error) {
        // The form keeps every value; the errors point at the fields they are about.
        showErrors(error);
      }
    });
    cancel.addEventListener("click", () => fillForm(null));

    // --- the list
    const listState = h("div", {}, stateLine("loading", "Loading rules…"));
    const list = h("ul", { class: "automations", id: "automations", "aria-live": "polite" });

    const upsert = (rule) => {
      const index = rules.findIndex((item) => item.id === rule.id);
      if (index >= 0) rules[index] = rule;
      else rules.unshift(rule);
      render();
    };

    const ruleCard = (rule) => {
      const toggle = h("input", { type: "checkbox", checked: rule.enabled, dataset: { action: "toggle" } });
      toggle.addEventListener("change", () => setEnabled(rule, toggle));
      const button = (label, action, kind = "ghost") =>
        h("button", { type: "button", class: ["small", kind], dataset: { action }, on: { click: () => act(action, rule) } }, label);
      const result = lastResults.get(rule.id);
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
    };

    const render = () => {
      const focused = document.activeElement;
      const focusKey = list.contains(focused) ? [focused.closest("li")?.dataset.id, focused.dataset.action] : null;
      replace(list, rules.map(ruleCard));
      replace(listState, rules.length ? null : stateLine("empty", "No rules yet. Create one: when something happens, aiclone acts for you."));
      if (focusKey?.[0] && focusKey[1]) {
        list.querySelector(`li[data-id="${CSS.escape(focusKey[0])}"] [data-action="${focusKey[1]}"]`)?.focus();
      }
    };

    let loading = null;
    let again = false;
    const load = async () => {
      // One load at a time; a request while one runs schedules exactly one more.
      if (loading) {
        again = true;
        return loading;
      }
      loading = (async () => {
        try {
          do {
            again = false;
            const items = [];
            let cursor = null;
            do {
              const page = await api.get("/api/automations", { limit: 100, cursor });
              items.push(...page.items);
              cursor = page.next_cursor;
            } while (cursor && alive);
            if (!alive) return;
            rules = items;
            render();
          } while (again && alive);
        } catch (error) {
          if (alive) replace(listState, errorBox(error));
        } finally {
          loading = null;
        }
      })();
      return loading;
    };
    const refresh = debounce(() => alive && load(), 150);

    const setEnabled = async (rule, toggle) => {
      toggle.disabled = true;
      try {
        upsert(await api.patch(`/api/automations/${rule.id}`, { enabled: toggle.checked }));
        toast(toggle.checked ? `“${rule.name}” enabled.` : `“${rule.name}” paused.`, "success");
      } catch (error) {
        toggle.checked = !toggle.checked;
        toggle.disabled = false;
        toast(`${error.title}${error.detail ? `: ${error.detail}` : ""}`, "error");
      }
    };

    const confirmDelete = (rule) => {
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
          await busy(content, () => api.delete(`/api/automations/${rule.id}`));
          dialog.close();
          rules = rules.filter((item) => item.id !== rule.id);
          if (editing?.id === rule.id) fillForm(null);
          render();
          toast("Rule deleted.", "success");
        } catch (error) {
          replace(errors, errorBox(error));
        }
      });
      ok.focus();
    };

    const runDialog = (rule) => {
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
          const result = await busy(content, () => api.post(`/api/automations/${rule.id}/trigger`, { data }));
          const ok = result.status === "ok";
          const text = ok ? result.event?.summary ?? "Done." : result.error ?? "The action failed.";
          replace(output, h("div", { class: ["run-result", `result-${result.status}`], dataset: { status: result.status } },
            h("span", { class: ["pill", ok ? "done" : "failed"] }, ok ? "ok" : "failed"), " ",
            h("span", { class: "run-text" }, text),
            h("p", { class: "muted small-print" }, result.conditions_matched ? "The sample data matches the conditions." : "The sample data would not match the conditions.")));
          lastResults.set(rule.id, { status: result.status, text });
          upsert(result.automation);
        } catch (error) {
          replace(errors, errorBox(error));
        }
      });
      sample.focus();
    };

    const act = (action, rule) => {
      if (action === "edit") {
        fillForm(rule);
        name.focus();
      } else if (action === "delete") confirmDelete(rule);
      else if (action === "run") runDialog(rule);
    };

    replace(
      root,
      h("header", { class: "view-head" }, h("h1", {}, "Automations"),
        h("p", { class: "muted" }, "Rules that act when something happens: notify you, queue research or tag a prospect.")),
      h("div", { class: "columns" },
        h("section", { class: "panel", "aria-labelledby": "rules-title" },
          h("header", { class: "panel-head" }, h("h2", { id: "rules-title" }, "Your rules")), listState, list),
        h("section", { class: "panel", "aria-labelledby": "automation-form-title" }, formTitle, form)),
    );
    fillForm(null);

    const unsubscribe = [
      live.on("automation_triggered", (event) => {
        if (event.ephemeral) return;
        const data = event.data ?? {};
        if (data.automation_id && !data.manual) {
          lastResults.set(String(data.automation_id), { status: "ok", text: String(data.summary ?? "") });
        }
        refresh();
      }),
      live.on("notification", (event) => {
        if (!event.ephemeral && event.data?.notification?.data?.automation_id) refresh();
      }),
      // A failure writes no run event (and notifies only the first of a series), but the event
      // that triggered it is on the stream: any event a rule listens to refreshes the list.
      live.on("*", (event) => {
        if (!event.ephemeral && rules.some((rule) => rule.enabled && rule.trigger_event === event.type)) refresh();
      }),
      live.on("reset", () => refresh()),
    ];
    load();
    return () => {
      alive = false;
      unsubscribe.forEach((stop) => stop());
    };
  },
};
