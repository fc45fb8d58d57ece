// @ts-check
// Prospects: a filtered, sorted, keyset-paged table with add/edit, approve/reject and delete.
//
// Paging keeps a stack of cursors: page n is fetched with the `next_cursor` that ended page n-1,
// so "Next" continues strictly after the last row shown (no duplicate, no gap) and "Previous"
// re-reads the page before with the cursor it was first read with.
//
// Live changes: `prospect_updated` updates (or, when it no longer matches the filters or was
// deleted, removes) a row that is on screen. A `prospect_added` that matches the filters is
// put at the top when the table shows the first page newest first (where it belongs); in any
// other order or page it is counted in a "N new prospects — show" bar instead, so the page
// the user is reading never shifts under them. A `reset` frame reloads the page.

import { busy, errorBox, field, formValues, h, isSafeUrl, modal, replace, select, stateLine } from "../dom.js";
import { draftForm, draftPanel, outreachText } from "../drafting.js";
import { dateTime, debounce, relativeTime } from "../format.js";

export const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_PAGE_SIZE = 25;
const STATUSES = ["pending", "approved", "rejected"];
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
export function listQuery(filters, { limit, cursor } = {}) {
  const [sort, order] = (filters.sort || "created_at:desc").split(":");
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
export function prospectPayload(values, original = null) {
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

// ------------------------------------------------------------------ rendering

function safeLink(url, label) {
  if (!url) return null;
  if (!isSafeUrl(url)) return h("span", { class: "unsafe-url" }, url);
  return h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, label);
}

function statusPill(status) {
  return h("span", { class: ["pill", status], dataset: { status } }, status);
}

function prospectForm(prospect) {
  const v = (name, fallback = "") => (prospect ? (prospect[name] ?? fallback) : fallback);
  const text = (name, type = "text", extra = {}) => h("input", { name, type, value: v(name), ...extra });
  const score = (name) =>
    h("input", { name, type: "number", min: 0, max: 100, step: 1, inputmode: "numeric", value: String(v(name, 0)) });
  const area = (name, rows = 3) => h("textarea", { name, rows }, v(name));
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

export default {
  id: "prospects",
  title: "Prospects",
  adminOnly: false,
  mount(root, { api, live, toast }) {
    let alive = true;
    const filters = { q: "", status: "", min_score: "", tag: "", from: "", to: "", sort: "created_at:desc" };
    let pageSize = DEFAULT_PAGE_SIZE;
    let cursors = [null];
    let pageIndex = 0;
    let loadSeq = 0;
    let newCount = 0;
    const counted = new Set(); // ids already counted in the "new prospects" bar
    const rows = new Map(); // id -> { prospect, tr }
    const selected = new Set();

    // ---- controls
    const search = h("input", {
      type: "search", id: "prospect-search", name: "q", placeholder: "Name, company or email", autocomplete: "off",
    });
    const statusFilter = select("status", [["", "Any status"], ...STATUSES.map((s) => [s, s])], "");
    statusFilter.id = "prospect-filter-status";
    const minScore = h("input", { type: "number", id: "prospect-filter-score", name: "min_score", min: 0, max: 100, step: 1, inputmode: "numeric" });
    const tagFilter = h("input", { type: "text", id: "prospect-filter-tag", name: "tag", autocomplete: "off" });
    const fromDate = h("input", { type: "date", id: "prospect-filter-from", name: "from" });
    const toDate = h("input", { type: "date", id: "prospect-filter-to", name: "to" });
    const sortSelect = select("sort", SORTS, filters.sort);
    sortSelect.id = "prospect-sort";
    const sizeSelect = select("limit", PAGE_SIZES.map((n) => [String(n), `${n} per page`]), String(pageSize));
    sizeSelect.id = "prospects-page-size";
    const clear = h("button", { type: "button", class: "ghost small", id: "prospect-filters-clear" }, "Clear filters");
    const addButton = h("button", { type: "button", class: "primary", id: "add-prospect" }, "Add prospect");

    const selectPage = h("input", { type: "checkbox", id: "select-page", "aria-label": "Select all on this page" });
    const selectedCount = h("span", { id: "selected-count" }, "0 selected");
    const bulkApprove = h("button", { type: "button", class: "small", id: "bulk-approve", disabled: true }, "Approve selected");
    const bulkReject = h("button", { type: "button", class: "small danger", id: "bulk-reject", disabled: true }, "Reject selected");
    const newBar = h("div", { class: "new-bar", id: "prospects-new-bar", role: "status", hidden: true });
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
    const listState = h("div", { id: "prospects-state", "aria-live": "polite" });
    const prev = h("button", { type: "button", class: "ghost", id: "prospects-prev", disabled: true }, "← Previous");
    const next = h("button", { type: "button", class: "ghost", id: "prospects-next", disabled: true }, "Next →");
    const pageLabel = h("span", { id: "prospects-page", class: "muted" }, "Page 1");

    replace(
      root,
      h("section", { class: "panel", "aria-labelledby": "prospects-title" },
        h("header", { class: "panel-head" }, h("h2", { id: "prospects-title" }, "Prospects"), addButton),
        h("form", { class: "prospect-filters", role: "search", id: "prospect-filters", on: { submit: (event) => event.preventDefault() } },
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

    // ---- table
    const updateSelection = () => {
      for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
      selectedCount.textContent = `${selected.size} selected`;
      bulkApprove.disabled = bulkReject.disabled = selected.size === 0;
      selectPage.checked = rows.size > 0 && selected.size === rows.size;
      selectPage.indeterminate = selected.size > 0 && selected.size < rows.size;
    };

    const rowOf = (prospect) => {
      const check = h("input", {
        type: "checkbox", class: "row-select", checked: selected.has(prospect.id),
        "aria-label": `Select ${prospect.name}`,
      });
      check.addEventListener("change", () => {
        if (check.checked) selected.add(prospect.id);
        else selected.delete(prospect.id);
        tr.classList.toggle("selected", check.checked);
        updateSelection();
      });
      const action = (name, label, cls) =>
        h("button", { type: "button", class: ["small", cls], dataset: { action: name }, "aria-label": `${label} ${prospect.name}` }, label);
      const approve = action("approve", "Approve", "ghost");
      const reject = action("reject", "Reject", "ghost");
      approve.disabled = prospect.approval_status === "approved";
      reject.disabled = prospect.approval_status === "rejected";
      approve.addEventListener("click", () => setStatus([prospect.id], "approved"));
      reject.addEventListener("click", () => setStatus([prospect.id], "rejected"));
      const edit = action("edit", "Edit", "ghost");
      edit.addEventListener("click", () => openForm(rows.get(prospect.id)?.prospect ?? prospect));
      const remove = action("delete", "Delete", "danger");
      remove.addEventListener("click", () => confirmDelete(prospect));
      const draft = action("draft", "Draft with AI", "ghost");
      draft.addEventListener("click", () => openDraft(rows.get(prospect.id)?.prospect ?? prospect));
      const tr = h(
        "tr",
        { dataset: { id: prospect.id, status: prospect.approval_status }, class: selected.has(prospect.id) ? "selected" : null },
        h("td", { class: "col-select" }, check),
        h("td", { class: "p-name" }, h("strong", {}, prospect.name), prospect.job_title ? h("small", { class: "muted" }, prospect.job_title) : null),
        h("td", { class: "p-company" }, prospect.company ?? ""),
        h("td", { class: "p-email" }, prospect.email ?? ""),
        h("td", { class: "p-score num" }, String(prospect.fit_score)),
        h("td", { class: "p-status" }, statusPill(prospect.approval_status)),
        h("td", { class: "p-tags" }, (prospect.tags || []).map((tag) => h("span", { class: "tag" }, tag))),
        h("td", { class: "p-links" }, safeLink(prospect.website, "Website"), safeLink(prospect.linkedin, "LinkedIn")),
        h("td", { class: "p-created" }, h("time", { datetime: prospect.created_at, title: dateTime(prospect.created_at) }, relativeTime(prospect.created_at))),
        h("td", { class: "p-actions" }, h("div", { class: "row-actions" }, edit, draft, approve, reject, remove)),
      );
      return tr;
    };

    const showEmpty = () => {
      if (rows.size) replace(listState);
      else replace(listState, stateLine("empty", pageIndex === 0 ? "No prospects match. Add one, or change the filters." : "No more prospects."));
    };

    const putRow = (prospect, { atTop = false } = {}) => {
      const tr = rowOf(prospect);
      const existing = rows.get(prospect.id);
      if (existing) existing.tr.replaceWith(tr);
      else if (atTop) tbody.prepend(tr);
      else tbody.append(tr);
      rows.set(prospect.id, { prospect, tr });
    };
    const dropRow = (id) => {
      const existing = rows.get(id);
      if (!existing) return;
      existing.tr.remove();
      rows.delete(id);
      selected.delete(id);
    };

    // Changes received while a page load is in flight: the page's answer may predate them, so
    // they are applied again over it (a deletion removes the row, an edit replaces it).
    let inflight = null;
    const load = async () => {
      const seq = ++loadSeq;
      const during = new Map();
      inflight = during;
      replace(listState, stateLine("loading", "Loading prospects…"));
      table.setAttribute("aria-busy", "true");
      try {
        const page = await api.get("/api/prospects", listQuery(filters, { limit: pageSize, cursor: cursors[pageIndex] }));
        if (!alive || seq !== loadSeq) return;
        rows.clear();
        replace(tbody);
        page.items.forEach((item) => putRow(item));
        for (const [id, change] of during) {
          if (!rows.has(id)) continue;
          if (change === null) dropRow(id);
          else applyProspect(change);
        }
        cursors = cursors.slice(0, pageIndex + 1);
        if (page.next_cursor) cursors.push(page.next_cursor);
        next.disabled = !page.next_cursor;
        prev.disabled = pageIndex === 0;
        pageLabel.textContent = `Page ${pageIndex + 1}`;
        table.dataset.page = String(pageIndex + 1);
        newCount = 0;
        counted.clear();
        newBar.hidden = true;
        updateSelection();
        showEmpty();
      } catch (error) {
        if (alive && seq === loadSeq) replace(listState, errorBox(error));
      } finally {
        if (seq === loadSeq) {
          table.removeAttribute("aria-busy");
          inflight = null;
        }
      }
    };
    const restart = () => {
      cursors = [null];
      pageIndex = 0;
      selected.clear();
      load();
    };

    // ---- filters and paging
    const readFilters = () => {
      filters.q = search.value;
      filters.status = statusFilter.value;
      filters.min_score = minScore.value;
      filters.tag = tagFilter.value;
      filters.from = fromDate.value;
      filters.to = toDate.value;
      filters.sort = sortSelect.value;
    };
    const debounced = debounce(() => {
      if (!alive) return;
      readFilters();
      restart();
    }, 300);
    search.addEventListener("input", debounced);
    tagFilter.addEventListener("input", debounced);
    minScore.addEventListener("input", debounced);
    for (const control of [statusFilter, fromDate, toDate, sortSelect]) {
      control.addEventListener("change", () => {
        readFilters();
        restart();
      });
    }
    sizeSelect.addEventListener("change", () => {
      pageSize = Number(sizeSelect.value) || DEFAULT_PAGE_SIZE;
      restart();
    });
    clear.addEventListener("click", () => {
      search.value = tagFilter.value = minScore.value = fromDate.value = toDate.value = "";
      statusFilter.value = "";
      readFilters();
      restart();
    });
    next.addEventListener("click", () => {
      if (cursors.length <= pageIndex + 1) return;
      pageIndex += 1;
      selected.clear();
      load();
    });
    prev.addEventListener("click", () => {
      if (pageIndex === 0) return;
      pageIndex -= 1;
      selected.clear();
      load();
    });
    newBar.addEventListener("click", (event) => {
      if (event.target.closest("button")) restart();
    });

    selectPage.addEventListener("change", () => {
      for (const [id, { tr }] of rows) {
        if (selectPage.checked) selected.add(id);
        else selected.delete(id);
        tr.classList.toggle("selected", selectPage.checked);
        tr.querySelector(".row-select").checked = selectPage.checked;
      }
      updateSelection();
    });

    // ---- actions
    const applyProspect = (prospect) => {
      if (!rows.has(prospect.id)) return;
      if (matchesFilters(prospect, filters)) putRow(prospect);
      else dropRow(prospect.id);
      updateSelection();
      showEmpty();
    };

    const setStatus = async (ids, status) => {
      const buttons = [bulkApprove, bulkReject];
      buttons.forEach((button) => (button.disabled = true));
      try {
        const result = await api.post("/api/prospects/bulk-status", { ids, status });
        if (!alive) return;
        result.updated.forEach(applyProspect);
        const verb = status === "approved" ? "Approved" : "Rejected";
        const parts = [`${verb} ${result.updated.length}`];
        if (result.unchanged.length) parts.push(`${result.unchanged.length} already ${status}`);
        if (result.not_found.length) parts.push(`${result.not_found.length} no longer exist`);
        toast(parts.join(", ") + ".", "success");
        if (ids.length > 1) {
          selected.clear();
          for (const { tr } of rows.values()) {
            tr.classList.remove("selected");
            tr.querySelector(".row-select").checked = false;
          }
        }
      } catch (error) {
        toast(`${error.title}${error.detail ? `: ${error.detail}` : ""}`, "error");
      } finally {
        if (alive) updateSelection();
      }
    };
    bulkApprove.addEventListener("click", () => setStatus([...selected], "approved"));
    bulkReject.addEventListener("click", () => setStatus([...selected], "rejected"));

    let dialog = null;
    const openForm = (prospect = null) => {
      const editor = prospectForm(prospect);
      editor.form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const values = editor.values();
        try {
          const saved = await busy(editor.form, async () => {
            if (!prospect) return api.post("/api/prospects", prospectPayload(values));
            const changes = prospectPayload(values, prospect);
            if (!Object.keys(changes).length) return prospect;
            return api.patch(`/api/prospects/${prospect.id}`, changes);
          });
          editor.showErrors(null);
          dialog?.close();
          if (!alive) return;
          if (prospect) {
            applyProspect(saved);
            toast(`Saved ${saved.name}.`, "success");
          } else {
            addLive(saved);
            toast(`Added ${saved.name}.`, "success");
          }
        } catch (error) {
          editor.showErrors(error);
        }
      });
      dialog = modal(prospect ? `Edit ${prospect.name}` : "Add a prospect", editor.form, { onClose: () => (dialog = null) });
      dialog.dialog.classList.add("prospect-dialog");
      dialog.dialog.id = "prospect-dialog";
      editor.focus();
    };
    addButton.addEventListener("click", () => openForm());

    // "Draft with AI": the model writes an outreach message to this prospect, shown as it streams.
    const openDraft = (prospect) => {
      const panel = draftPanel({
        live,
        linkTo: (id) => `#/outreach/${id}`,
        loadSaved: async (id) => outreachText(await api.get(`/api/outreach/${id}`)),
        idPrefix: "prospect-draft",
      });
      const form = draftForm({ api, prospectId: () => prospect.id, onQueued: (task) => panel.start(task), idPrefix: "prospect-draft" });
      dialog = modal(`Draft with AI: ${prospect.name}`, h("div", { class: "draft-dialog" }, form, panel.element), {
        onClose: () => {
          panel.stop();
          dialog = null;
        },
      });
    };

    const confirmDelete = (prospect) => {
      const errors = h("div", {});
      const yes = h("button", { type: "button", class: "danger", id: "confirm-delete" }, "Delete");
      const no = h("button", { type: "button", class: "ghost" }, "Keep");
      const body = h("div", { class: "confirm" },
        h("p", {}, "Delete ", h("strong", {}, prospect.name), " and their outreach messages? This cannot be undone."),
        errors, h("div", { class: "actions" }, yes, no));
      const confirm = modal("Delete prospect", body);
      confirm.dialog.id = "delete-dialog";
      no.addEventListener("click", confirm.close);
      yes.addEventListener("click", async () => {
        yes.disabled = no.disabled = true;
        try {
          await api.delete(`/api/prospects/${prospect.id}`);
          confirm.close();
          if (!alive) return;
          dropRow(prospect.id);
          updateSelection();
          showEmpty();
          toast(`Deleted ${prospect.name}.`, "success");
        } catch (error) {
          yes.disabled = no.disabled = false;
          replace(errors, errorBox(error));
        }
      });
      no.focus();
    };

    // ---- live
    const showNewBar = () => {
      newBar.hidden = newCount === 0;
      replace(
        newBar,
        `${newCount} new ${newCount === 1 ? "prospect matches" : "prospects match"} your view. `,
        h("button", { type: "button", class: "small", id: "prospects-refresh" }, "Show them"),
      );
    };
    const addLive = (prospect) => {
      if (rows.has(prospect.id)) return;
      const where = placementOf(prospect, filters, pageIndex);
      if (where === "top") {
        putRow(prospect, { atTop: true });
        rows.get(prospect.id).tr.classList.add("is-new");
        updateSelection();
        showEmpty();
      } else if (where === "bar" && !counted.has(prospect.id)) {
        counted.add(prospect.id);
        newCount += 1;
        showNewBar();
      }
    };
    const unsubscribe = [
      live.on("prospect_added", (event) => {
        if (!event.ephemeral && event.data?.id) addLive(event.data);
      }),
      live.on("prospect_updated", (event) => {
        if (event.ephemeral || !event.data?.id) return;
        const { changes, reason, outreach_id: _, ...prospect } = event.data;
        inflight?.set(prospect.id, reason === "deleted" ? null : prospect);
        if (reason === "deleted") {
          dropRow(prospect.id);
          updateSelection();
          showEmpty();
        } else applyProspect(prospect);
      }),
      live.on("reset", () => load()),
    ];

    load();
    return () => {
      alive = false;
      unsubscribe.forEach((stop) => stop());
      dialog?.close();
    };
  },
};
