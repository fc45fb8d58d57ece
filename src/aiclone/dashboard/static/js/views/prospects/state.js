// @ts-check
// The Prospects view's state: the filters, the pages read so far, the rows on screen and the
// selection, and the pure rules of the list (unit-tested with node, tests/js/prospects.test.mjs).

export const PAGE_SIZES = [10, 25, 50, 100];
export const DEFAULT_PAGE_SIZE = 25;
export const STATUSES = ["pending", "approved", "rejected"];
export const SORTS = [
  ["created_at:desc", "Newest first"],
  ["created_at:asc", "Oldest first"],
  ["fit_score:desc", "Highest fit score"],
  ["fit_score:asc", "Lowest fit score"],
  ["name:asc", "Name A–Z"],
  ["name:desc", "Name Z–A"],
];
const TEXT_FIELDS = [
  "name",
  "email",
  "phone",
  "job_title",
  "company",
  "website",
  "linkedin",
  "discovery_source",
  "best_outreach_angle",
  "scoring_reasoning",
  "notes",
];
const SCORE_FIELDS = ["fit_score", "referral_capacity", "signal_strength"];
export const FORM_FIELDS = [...TEXT_FIELDS, ...SCORE_FIELDS, "approval_status", "tags"];

// ------------------------------------------------------------------ pure logic (unit-tested)

/** A local calendar date ("2026-11-27") as the UTC instant of its local midnight, plus `days`. */
export function localDayStart(date, days = 0) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date ?? ""));
  if (!match) return null;
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days).toISOString();
}

/** The list endpoint's query for the filter state (empty filters left out). */
/**
 * @param {Record<string, string>} filters
 * @param {{ limit?: number, cursor?: string | null }} [page]
 * @returns {Record<string, any>}
 */
export function listQuery(filters, { limit, cursor } = {}) {
  const [sort, order] = (filters.sort || "created_at:desc").split(":");
  /** @type {Record<string, any>} */
  const query = { sort, order, limit, cursor: cursor ?? undefined };
  const q = (filters.q || "").trim();
  if (q) query.q = q;
  if (filters.status) query.status = filters.status;
  if (filters.min_score !== "" && filters.min_score !== undefined && filters.min_score !== null) {
    query.min_score = filters.min_score;
  }
  const tag = (filters.tag || "").trim();
  if (tag) query.tag = tag;
  if (filters.from) query.created_after = localDayStart(filters.from);
  // "To" is an inclusive day; the API's created_before is exclusive: the next day's midnight.
  if (filters.to) query.created_before = localDayStart(filters.to, 1);
  return query;
}

/** Whether a prospect passes the filters, the way the API applies them. */
export function matchesFilters(prospect, filters) {
  const query = listQuery(filters);
  if (query.status && prospect.approval_status !== query.status) return false;
  if (query.min_score !== undefined && !(Number(prospect.fit_score) >= Number(query.min_score))) return false;
  if (query.tag && !(prospect.tags || []).includes(query.tag.toLowerCase())) return false;
  if (query.q) {
    const needle = query.q.toLowerCase();
    const hay = [prospect.name, prospect.company, prospect.email].map((value) => String(value ?? "").toLowerCase());
    if (!hay.some((text) => text.includes(needle))) return false;
  }
  const created = Date.parse(prospect.created_at);
  if (query.created_after && !(created >= Date.parse(query.created_after))) return false;
  if (query.created_before && !(created < Date.parse(query.created_before))) return false;
  return true;
}

/** Where a new prospect goes: "top" of the shown page, "bar" (counted for a refresh), or "skip". */
export function placementOf(prospect, filters, pageIndex) {
  if (!matchesFilters(prospect, filters)) return "skip";
  const sort = filters.sort || "created_at:desc";
  return pageIndex === 0 && sort === "created_at:desc" ? "top" : "bar";
}

function scoreValue(text) {
  const trimmed = String(text ?? "").trim();
  if (trimmed === "") return null;
  // Anything that is not a whole number goes as typed, so the API names the problem.
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** "b2b, SaaS ,," → ["b2b", "SaaS"]. */
export function parseTags(text) {
  return String(text ?? "")
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/**
 * The JSON body from the form's values. With `original` (editing), only fields whose value
 * differs are sent, and a cleared optional text field is sent as null.
 */
/**
 * @param {Record<string, any>} values
 * @param {Record<string, any> | null} [original]
 */
export function prospectPayload(values, original = null) {
  /** @type {Record<string, any>} */
  const next = {};
  for (const name of TEXT_FIELDS) {
    const text = String(values[name] ?? "").trim();
    next[name] = text === "" ? null : text;
  }
  if (next.name === null) next.name = String(values.name ?? ""); // let the API say "may not be blank"
  for (const name of SCORE_FIELDS) next[name] = scoreValue(values[name]);
  next.approval_status = values.approval_status || "pending";
  next.tags = parseTags(values.tags);
  if (!original) {
    for (const name of TEXT_FIELDS) if (next[name] === null) delete next[name];
    return next;
  }
  /** @type {Record<string, any>} */
  const changed = {};
  for (const [name, value] of Object.entries(next)) {
    const before = original[name] ?? null;
    const same = Array.isArray(value) ? JSON.stringify(value) === JSON.stringify(before ?? []) : value === before;
    if (!same) changed[name] = value;
  }
  return changed;
}

/** The form field an API error belongs to: "tags[1]" → "tags", "items[0].email" → "email". */
export function formFieldOf(path) {
  const text = String(path ?? "").replace(/^items\[\d+\]\./, "").replace(/^\$\./, "");
  const name = text.split(/[.[]/)[0];
  return FORM_FIELDS.includes(name) ? name : null;
}

/**
 * What the view holds while it is mounted.
 * @typedef {object} ProspectsState
 * @property {boolean} alive false once the view is unmounted: late answers are dropped
 * @property {Record<string, string>} filters as read from the filter controls
 * @property {number} pageSize
 * @property {(string | null)[]} cursors page n is read with cursors[n]
 * @property {number} pageIndex
 * @property {number} loadSeq the latest load; older answers are dropped
 * @property {number} newCount prospects counted in the "new prospects" bar
 * @property {Set<string>} counted ids already counted in that bar
 * @property {Map<string, { prospect: any, tr: HTMLTableRowElement }>} rows the rows on screen
 * @property {Set<string>} selected
 * @property {Map<string, any> | null} inflight changes received while a page load is in flight (null: deleted)
 * @property {{ dialog: HTMLDialogElement, close: () => void } | null} dialog the open form or draft
 */

/** @returns {ProspectsState} */
export function createState() {
  return {
    alive: true,
    filters: { q: "", status: "", min_score: "", tag: "", from: "", to: "", sort: "created_at:desc" },
    pageSize: DEFAULT_PAGE_SIZE,
    cursors: [null],
    pageIndex: 0,
    loadSeq: 0,
    newCount: 0,
    counted: new Set(),
    rows: new Map(),
    selected: new Set(),
    inflight: null,
    dialog: null,
  };
}
