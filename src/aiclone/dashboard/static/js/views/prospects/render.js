// @ts-check
// The Prospects view's rendering: the page's layout (filters, table, pager), a prospect's row,
// the add/edit form. Builders take the data and the handlers to call; they make no requests.

import { errorBox, field, formValues, h, isSafeUrl, replace, select, stateLine } from "../../dom.js";
import { dateTime, relativeTime } from "../../format.js";
import { PAGE_SIZES, SORTS, STATUSES, formFieldOf } from "./state.js";

/** @typedef {import("./state.js").ProspectsState} ProspectsState */

/**
 * @param {string | null | undefined} url
 * @param {string} label
 */
function safeLink(url, label) {
  if (!url) return null;
  if (!isSafeUrl(url)) return h("span", { class: "unsafe-url" }, url);
  return h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, label);
}

/** @param {string} status */
function statusPill(status) {
  return h("span", { class: ["pill", status], dataset: { status } }, status);
}

/**
 * The add/edit form, with an error line under each field the API names.
 * @param {any} prospect null to add one
 */
export function prospectForm(prospect) {
  /** @param {string} name @param {any} [fallback] */
  const v = (name, fallback = "") => (prospect ? (prospect[name] ?? fallback) : fallback);
  const text = (name, type = "text", extra = {}) => h("input", { name, type, value: v(name), ...extra });
  const score = (name) =>
    h("input", { name, type: "number", min: 0, max: 100, step: 1, inputmode: "numeric", value: String(v(name, 0)) });
  const area = (name, rows = 3) => h("textarea", { name, rows }, v(name));
  /** @type {Record<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>} */
  const controls = {
    name: text("name", "text", { required: true, maxlength: 200, autocomplete: "off" }),
    email: text("email", "email", { autocomplete: "off" }),
    phone: text("phone", "tel"),
    job_title: text("job_title"),
    company: text("company"),
    website: text("website", "url", { placeholder: "https://…" }),
    linkedin: text("linkedin", "url", { placeholder: "https://www.linkedin.com/in/…" }),
    discovery_source: text("discovery_source"),
    approval_status: select(
      "approval_status",
      STATUSES.map((status) => [status, status]),
      v("approval_status", "pending"),
    ),
    fit_score: score("fit_score"),
    referral_capacity: score("referral_capacity"),
    signal_strength: score("signal_strength"),
    tags: h("input", { name: "tags", type: "text", value: (v("tags", []) || []).join(", ") }),
    best_outreach_angle: area("best_outreach_angle", 2),
    scoring_reasoning: area("scoring_reasoning", 2),
    notes: area("notes", 3),
  };
  /** @type {Record<string, HTMLElement>} */
  const errorsOf = {};
  const labelled = (name, label, hint) => {
    const control = controls[name];
    control.id = `prospect-${name.replaceAll("_", "-")}`;
    const message = h("small", { class: "field-error", id: `${control.id}-error`, dataset: { field: name }, hidden: true });
    errorsOf[name] = message;
    control.setAttribute("aria-describedby", message.id);
    const wrapper = field(label, control, hint);
    wrapper.dataset.field = name;
    wrapper.appendChild(message);
    return wrapper;
  };
  const summary = h("div", { class: "form-errors", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary" }, prospect ? "Save changes" : "Add prospect");
  const form = h(
    "form",
    { class: "prospect-form", id: "prospect-form", novalidate: true },
    summary,
    h("div", { class: "form-grid" },
      labelled("name", "Name"),
      labelled("email", "Email"),
      labelled("phone", "Phone"),
      labelled("job_title", "Job title"),
      labelled("company", "Company"),
      labelled("website", "Website"),
      labelled("linkedin", "LinkedIn"),
      labelled("discovery_source", "Source", "Where you found them."),
      labelled("approval_status", "Status"),
      labelled("tags", "Tags", "Comma separated."),
      labelled("fit_score", "Fit score", "0–100"),
      labelled("referral_capacity", "Referral capacity", "0–100"),
      labelled("signal_strength", "Signal strength", "0–100"),
    ),
    labelled("best_outreach_angle", "Best outreach angle"),
    labelled("scoring_reasoning", "Scoring reasoning"),
    labelled("notes", "Notes"),
    h("div", { class: "actions" }, submit),
  );
  const showErrors = (error) => {
    for (const [name, message] of Object.entries(errorsOf)) {
      message.hidden = true;
      message.textContent = "";
      controls[name].removeAttribute("aria-invalid");
    }
    if (!error) {
      replace(summary);
      return;
    }
    replace(summary, errorBox(error));
    for (const item of error.errors || []) {
      const name = formFieldOf(item.field);
      if (!name) continue;
      const message = errorsOf[name];
      message.textContent = message.textContent ? `${message.textContent}; ${item.message}` : item.message;
      message.hidden = false;
      controls[name].setAttribute("aria-invalid", "true");
    }
    const first = (error.errors || []).map((item) => formFieldOf(item.field)).find(Boolean);
    if (first) controls[first].focus();
  };
  return { form, showErrors, values: () => formValues(form), focus: () => controls.name.focus() };
}

function filterControls(/** @type {ProspectsState} */ state) {
  const search = h("input", {
    type: "search", id: "prospect-search", name: "q", placeholder: "Name, company or email", autocomplete: "off",
  });
  const statusFilter = select("status", [["", "Any status"], ...STATUSES.map((s) => [s, s])], "");
  statusFilter.id = "prospect-filter-status";
  const minScore = h("input", { type: "number", id: "prospect-filter-score", name: "min_score", min: 0, max: 100, step: 1, inputmode: "numeric" });
  const tagFilter = h("input", { type: "text", id: "prospect-filter-tag", name: "tag", autocomplete: "off" });
  const fromDate = h("input", { type: "date", id: "prospect-filter-from", name: "from" });
  const toDate = h("input", { type: "date", id: "prospect-filter-to", name: "to" });
  const sortSelect = select("sort", SORTS, state.filters.sort);
  sortSelect.id = "prospect-sort";
  const sizeSelect = select("limit", PAGE_SIZES.map((n) => [String(n), `${n} per page`]), String(state.pageSize));
  sizeSelect.id = "prospects-page-size";
  const clear = h("button", { type: "button", class: "ghost small", id: "prospect-filters-clear" }, "Clear filters");
  return { search, statusFilter, minScore, tagFilter, fromDate, toDate, sortSelect, sizeSelect, clear };
}

function prospectsTable() {
  const selectPage = h("input", { type: "checkbox", id: "select-page", "aria-label": "Select all on this page" });
  const tbody = h("tbody", { id: "prospects-rows" });
  const table = h(
    "table",
    { id: "prospects-table", class: "prospects-table" },
    h("caption", { class: "visually-hidden" }, "Prospects"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", class: "col-select" }, selectPage),
      h("th", { scope: "col" }, "Name"),
      h("th", { scope: "col" }, "Company"),
      h("th", { scope: "col" }, "Email"),
      h("th", { scope: "col", class: "num" }, "Fit"),
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col" }, "Tags"),
      h("th", { scope: "col" }, "Links"),
      h("th", { scope: "col" }, "Added"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tbody,
  );
  return { selectPage, tbody, table };
}

/**
 * The page, drawn into `root`; returns the elements the view updates.
 * @param {HTMLElement} root
 * @param {ProspectsState} state
 */
export function layout(root, state) {
  const controls = filterControls(state);
  const { search, statusFilter, minScore, tagFilter, fromDate, toDate, sortSelect, sizeSelect, clear } = controls;
  const addButton = h("button", { type: "button", class: "primary", id: "add-prospect" }, "Add prospect");
  const selectedCount = h("span", { id: "selected-count" }, "0 selected");
  const bulkApprove = h("button", { type: "button", class: "small", id: "bulk-approve", disabled: true }, "Approve selected");
  const bulkReject = h("button", { type: "button", class: "small danger", id: "bulk-reject", disabled: true }, "Reject selected");
  const newBar = h("div", { class: "new-bar", id: "prospects-new-bar", role: "status", hidden: true });
  const { selectPage, tbody, table } = prospectsTable();
  const listState = h("div", { id: "prospects-state", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "ghost", id: "prospects-prev", disabled: true }, "← Previous");
  const next = h("button", { type: "button", class: "ghost", id: "prospects-next", disabled: true }, "Next →");
  const pageLabel = h("span", { id: "prospects-page", class: "muted" }, "Page 1");

  replace(
    root,
    h("section", { class: "panel", "aria-labelledby": "prospects-title" },
      h("header", { class: "panel-head" }, h("h2", { id: "prospects-title" }, "Prospects"), addButton),
      h("form", { class: "prospect-filters", role: "search", id: "prospect-filters", on: { submit: (/** @type {Event} */ event) => event.preventDefault() } },
        h("div", { class: "row" },
          field("Search", search),
          field("Status", statusFilter),
          field("Min. fit score", minScore),
          field("Tag", tagFilter)),
        h("div", { class: "row" },
          field("Added from", fromDate),
          field("Added to", toDate),
          field("Sort", sortSelect),
          field("Page size", sizeSelect),
          h("div", { class: "filters-clear" }, clear))),
      h("div", { class: "bulk-bar", role: "group", "aria-label": "Selected prospects" }, selectedCount, bulkApprove, bulkReject),
      newBar,
      listState,
      h("div", { class: "table-wrap" }, table),
      h("nav", { class: "pager", "aria-label": "Pages" }, prev, pageLabel, next)),
  );
  return { ...controls, addButton, selectPage, selectedCount, bulkApprove, bulkReject, newBar, tbody, table, listState, prev, next, pageLabel };
}

/** @typedef {ReturnType<typeof layout>} ProspectsUi */

/**
 * @typedef {object} RowHandlers
 * @property {(prospect: any, checked: boolean, tr: HTMLTableRowElement) => void} select
 * @property {(prospect: any, status: string) => void} setStatus
 * @property {(prospect: any) => void} edit
 * @property {(prospect: any) => void} draft
 * @property {(prospect: any) => void} remove
 */

/**
 * One prospect's row of the table.
 * @param {any} prospect
 * @param {boolean} isSelected
 * @param {RowHandlers} handlers
 */
export function prospectRow(prospect, isSelected, handlers) {
  const check = h("input", {
    type: "checkbox", class: "row-select", checked: isSelected,
    "aria-label": `Select ${prospect.name}`,
  });
  check.addEventListener("change", () => handlers.select(prospect, check.checked, tr));
  /** @param {string} name @param {string} label @param {string} cls */
  const action = (name, label, cls) =>
    h("button", { type: "button", class: ["small", cls], dataset: { action: name }, "aria-label": `${label} ${prospect.name}` }, label);
  const approve = action("approve", "Approve", "ghost");
  const reject = action("reject", "Reject", "ghost");
  approve.disabled = prospect.approval_status === "approved";
  reject.disabled = prospect.approval_status === "rejected";
  approve.addEventListener("click", () => handlers.setStatus(prospect, "approved"));
  reject.addEventListener("click", () => handlers.setStatus(prospect, "rejected"));
  const edit = action("edit", "Edit", "ghost");
  edit.addEventListener("click", () => handlers.edit(prospect));
  const remove = action("delete", "Delete", "danger");
  remove.addEventListener("click", () => handlers.remove(prospect));
  const draft = action("draft", "Draft with AI", "ghost");
  draft.addEventListener("click", () => handlers.draft(prospect));
  const tr = h(
    "tr",
    { dataset: { id: prospect.id, status: prospect.approval_status }, class: isSelected ? "selected" : null },
    h("td", { class: "col-select" }, check),
    h("td", { class: "p-name" }, h("strong", {}, prospect.name), prospect.job_title ? h("small", { class: "muted" }, prospect.job_title) : null),
    h("td", { class: "p-company" }, prospect.company ?? ""),
    h("td", { class: "p-email" }, prospect.email ?? ""),
    h("td", { class: "p-score num" }, String(prospect.fit_score)),
    h("td", { class: "p-status" }, statusPill(prospect.approval_status)),
    h("td", { class: "p-tags" }, (prospect.tags || []).map((/** @type {string} */ tag) => h("span", { class: "tag" }, tag))),
    h("td", { class: "p-links" }, safeLink(prospect.website, "Website"), safeLink(prospect.linkedin, "LinkedIn")),
    h("td", { class: "p-created" }, h("time", { datetime: prospect.created_at, title: dateTime(prospect.created_at) }, relativeTime(prospect.created_at))),
    h("td", { class: "p-actions" }, h("div", { class: "row-actions" }, edit, draft, approve, reject, remove)),
  );
  return tr;
}

/**
 * The selection's count, the bulk buttons and the page's checkbox, after rows came or went.
 * @param {ProspectsUi} ui
 * @param {ProspectsState} state
 */
export function updateSelection(ui, { rows, selected }) {
  for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
  ui.selectedCount.textContent = `${selected.size} selected`;
  ui.bulkApprove.disabled = ui.bulkReject.disabled = selected.size === 0;
  ui.selectPage.checked = rows.size > 0 && selected.size === rows.size;
  ui.selectPage.indeterminate = selected.size > 0 && selected.size < rows.size;
}

/**
 * @param {ProspectsUi} ui
 * @param {ProspectsState} state
 */
export function showEmpty(ui, state) {
  if (state.rows.size) replace(ui.listState);
  else replace(ui.listState, stateLine("empty", state.pageIndex === 0 ? "No prospects match. Add one, or change the filters." : "No more prospects."));
}

/**
 * @param {ProspectsUi} ui
 * @param {number} count
 */
export function showNewBar(ui, count) {
  ui.newBar.hidden = count === 0;
  replace(
    ui.newBar,
    `${count} new ${count === 1 ? "prospect matches" : "prospects match"} your view. `,
    h("button", { type: "button", class: "small", id: "prospects-refresh" }, "Show them"),
  );
}

/**
 * Ticks (or clears) every row's checkbox.
 * @param {ProspectsState} state
 * @param {boolean} checked
 */
export function markRows(state, checked) {
  for (const [id, { tr }] of state.rows) {
    if (checked) state.selected.add(id);
    else state.selected.delete(id);
    tr.classList.toggle("selected", checked);
    /** @type {HTMLInputElement} */ (tr.querySelector(".row-select")).checked = checked;
  }
}
