// @ts-check
// The Webhooks view's state: what the page holds (endpoints, the open log, the detail shown) and
// the pure rules it is shown by (unit-tested with node, tests/js/webhooks.test.mjs).

export const POLL_MS = 4000;
export const LOG_PAGE = 25;
const EXCERPT_CHARS = 4000;
export const DELIVERY_STATUSES = ["pending", "sending", "succeeded", "failed"];

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** The types to send: `["*"]` wins alone; otherwise sorted and unique. */
export function normalizeTypes(checked) {
  const list = [...checked].map(String);
  if (list.includes("*")) return ["*"];
  return [...new Set(list)].sort();
}

/** "All events" for the wildcard, else the types joined readably. */
export function typesLabel(types) {
  if (!types || types.length === 0) return "none";
  if (types.includes("*")) return "All events";
  return types.map((type) => type.replaceAll("_", " ")).join(", ");
}

/** The endpoint's status as shown: a label, a pill class and the reason (if any). */
export function endpointState(endpoint) {
  if (endpoint.status === "active") {
    const failing = endpoint.consecutive_failures > 0;
    return { label: failing ? "Active, failing" : "Active", kind: failing ? "warn" : "active", reason: null };
  }
  if (endpoint.status === "inactive") {
    return { label: "Paused", kind: "warn", reason: endpoint.disabled_reason || "paused" };
  }
  return { label: "Disabled", kind: "disabled", reason: endpoint.disabled_reason || "too many failed deliveries" };
}

/** Upserts `incoming` deliveries into `current` by id; newest first (created_at, then id). */
export function mergeDeliveries(current, incoming) {
  const byId = new Map(current.map((item) => [item.id, item]));
  for (const item of incoming) byId.set(item.id, item);
  return [...byId.values()].sort((a, b) => {
    const time = Date.parse(b.created_at) - Date.parse(a.created_at);
    if (time !== 0) return time;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  });
}

export const FLAVOURS = {
  standard: { label: "Standard Webhooks", hint: "Deliveries are POSTed here, signed (Standard Webhooks).", placeholder: "https://hooks.example.com/aiclone" },
  slack: { label: "Slack channel", hint: "A Slack incoming-webhook URL (https://hooks.slack.com/services/…). Each event is posted as a message.", placeholder: "https://hooks.slack.com/services/T…/B…/…" },
};

/** What kind of endpoint it is, as shown: Slack, a Zapier subscription, or a plain (signed) webhook. */
export function flavourLabel(endpoint) {
  if (endpoint.flavour === "slack") return "Slack";
  if (endpoint.flavour === "zapier") return "Zapier subscription";
  return "Webhook";
}

/** The URL as shown: a Slack webhook's last path segment is its token, so it is masked. */
export function displayUrl(endpoint) {
  const url = String(endpoint.url ?? "");
  if (endpoint.flavour !== "slack") return url;
  const cut = url.lastIndexOf("/");
  if (cut < 0 || cut === url.length - 1 || !/^https?:\/\/[^/]+\/.+/.test(url)) return url;
  return `${url.slice(0, cut + 1)}••••`;
}

/** Which actions an endpoint offers: Zapier manages its subscriptions' URL and events; only signed endpoints have a secret. */
export function endpointActions(endpoint) {
  const actions = ["log", "test"];
  if (endpoint.flavour !== "zapier") actions.push("edit");
  if ((endpoint.flavour ?? "standard") === "standard") actions.push("rotate");
  actions.push("recover", "delete");
  return actions;
}

/** Where "recover" starts by default: when the endpoint began failing, was disabled, or a day ago. */
export function recoverSince(endpoint, now = Date.now()) {
  const start = endpoint.failing_since || endpoint.disabled_at;
  return start ? new Date(start) : new Date(Number(now) - 24 * 3600 * 1000);
}

/** A Date as the value of an <input type="datetime-local"> (local time, minutes). */
export function toLocalInput(date) {
  const pad = (value) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The first `max` characters of remote text, saying how much was left out. */
export function excerpt(text, max = EXCERPT_CHARS) {
  if (text === null || text === undefined) return "";
  const value = String(text);
  if (value.length <= max) return value;
  return `${value.slice(0, max)}… (${value.length - max} more characters)`;
}

/** One line for an attempt's or a delivery's result: "HTTP 200", "timeout: …", "not sent yet". */
export function outcomeText(statusCode, error, errorClass) {
  const parts = [];
  if (statusCode !== null && statusCode !== undefined) parts.push(`HTTP ${statusCode}`);
  if (errorClass && errorClass !== "http") parts.push(errorClass);
  if (error && !(statusCode && errorClass === "http")) parts.push(error);
  return parts.length ? parts.join(" · ") : "—";
}

/**
 * What the view holds while it is mounted. `openId` is the endpoint whose log is open; the
 * `last…Json` fields remember what was last drawn, so an unchanged reload redraws nothing.
 * @typedef {object} WebhooksState
 * @property {boolean} alive false once the view is unmounted: late answers are dropped
 * @property {string[]} eventTypes
 * @property {any[]} endpoints
 * @property {string | null} openId
 * @property {any[]} deliveries
 * @property {string | null} logCursor
 * @property {string | null} detailId
 * @property {boolean} refreshing
 * @property {string} lastEndpointsJson
 * @property {string} lastLogJson
 */

/** @returns {WebhooksState} */
export function createState() {
  return {
    alive: true,
    eventTypes: [],
    endpoints: [],
    openId: null,
    deliveries: [],
    logCursor: null,
    detailId: null,
    refreshing: false,
    lastEndpointsJson: "",
    lastLogJson: "",
  };
}

/** Forgets the open log's rows (another endpoint, another filter). */
export function resetLog(/** @type {WebhooksState} */ state) {
  state.deliveries = [];
  state.logCursor = null;
  state.lastLogJson = "";
}
