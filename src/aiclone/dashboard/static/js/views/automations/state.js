// @ts-check
// The Automations view's state: the rules shown, the one being edited, the latest run seen of
// each, and the pure rules of the form (unit-tested with node, tests/js/automations.test.mjs).

import { AUTOMATION_TRIGGERS } from "../../event-types.js";

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
/** @type {Record<string, string>} */
const OP_WORDS = Object.fromEntries(OPERATORS);
export const ACTIONS = [
  ["notify", "Send me a notification"],
  ["create_research_task", "Queue web research of the prospect"],
  ["tag_prospect", "Tag the prospect"],
];
export const LEVELS = ["info", "success", "warning", "error"];
export const PRIORITIES = ["high", "medium", "low"];
export const MAX_CONDITIONS = 10;
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

/** @param {unknown} trigger */
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
  const conditions = values.conditions.map((/** @type {any} */ row) => {
    /** @type {Record<string, unknown>} */
    const condition = { field: row.field.trim(), op: row.op };
    const value = parseValue(row.value);
    if (value !== undefined) condition.value = value;
    return condition;
  });
  /** @type {Record<string, unknown>} */
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
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.title = "The sample data is not valid";
    this.detail = "";
    this.errors = [{ field: "data", message }];
  }
}

/**
 * What the view holds while it is mounted.
 * @typedef {object} AutomationsState
 * @property {boolean} alive false once the view is unmounted: late answers are dropped
 * @property {any[]} rules
 * @property {any} editing the rule being edited, or null for a new one
 * @property {Map<string, { status: string, text: string }>} lastResults latest run of a rule seen while the page is open
 * @property {Promise<void> | null} loading the load running
 * @property {boolean} again a load was asked for while one ran
 */

/** @returns {AutomationsState} */
export function createState() {
  return { alive: true, rules: [], editing: null, lastResults: new Map(), loading: null, again: false };
}

/**
 * A saved rule replaces its old copy, or comes first.
 * @param {AutomationsState} state
 * @param {any} rule
 */
export function upsertRule(state, rule) {
  const index = state.rules.findIndex((item) => item.id === rule.id);
  if (index >= 0) state.rules[index] = rule;
  else state.rules.unshift(rule);
}
