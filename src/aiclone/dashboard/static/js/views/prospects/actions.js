// @ts-check
// The Prospects view's actions: loading a page, the filters and the pager, approving, rejecting,
// adding, editing and deleting, drafting with AI, and the live changes. Each takes the view's
// context, changes its state, then redraws through render.js.

import { busy, errorBox, h, modal, replace, stateLine } from "../../dom.js";
import { draftForm, draftPanel, outreachText } from "../../drafting.js";
import { debounce } from "../../format.js";
import { DEFAULT_PAGE_SIZE, listQuery, matchesFilters, placementOf, prospectPayload } from "./state.js";
import { markRows, prospectForm, prospectRow, showEmpty, showNewBar, updateSelection } from "./render.js";

/**
 * What every action works on.
 * @typedef {object} ProspectsContext
 * @property {import("../../api.js").Api} api
 * @property {any} live
 * @property {(message: string, kind?: string) => void} toast
 * @property {import("./state.js").ProspectsState} state
 * @property {import("./render.js").ProspectsUi} ui
 */

/**
 * The row's handlers; a row acts on the prospect as last shown.
 * @param {ProspectsContext} ctx
 * @returns {import("./render.js").RowHandlers}
 */
function rowHandlers(ctx) {
  const { state } = ctx;
  /** @param {any} prospect */
  const latest = (prospect) => state.rows.get(prospect.id)?.prospect ?? prospect;
  return {
    select: (prospect, checked, tr) => {
      if (checked) state.selected.add(prospect.id);
      else state.selected.delete(prospect.id);
      tr.classList.toggle("selected", checked);
      updateSelection(ctx.ui, state);
    },
    setStatus: (prospect, status) => setStatus(ctx, [prospect.id], status),
    edit: (prospect) => openForm(ctx, latest(prospect)),
    draft: (prospect) => openDraft(ctx, latest(prospect)),
    remove: (prospect) => confirmDelete(ctx, prospect),
  };
}

/**
 * @param {ProspectsContext} ctx
 * @param {any} prospect
 * @param {{ atTop?: boolean }} [where]
 */
function putRow(ctx, prospect, { atTop = false } = {}) {
  const { rows, selected } = ctx.state;
  const tr = prospectRow(prospect, selected.has(prospect.id), rowHandlers(ctx));
  const existing = rows.get(prospect.id);
  if (existing) existing.tr.replaceWith(tr);
  else if (atTop) ctx.ui.tbody.prepend(tr);
  else ctx.ui.tbody.append(tr);
  rows.set(prospect.id, { prospect, tr });
}

/**
 * @param {ProspectsContext} ctx
 * @param {string} id
 */
function dropRow(ctx, id) {
  const existing = ctx.state.rows.get(id);
  if (!existing) return;
  existing.tr.remove();
  ctx.state.rows.delete(id);
  ctx.state.selected.delete(id);
}

/** @param {ProspectsContext} ctx */
function settle(ctx) {
  updateSelection(ctx.ui, ctx.state);
  showEmpty(ctx.ui, ctx.state);
}

/**
 * A changed prospect on screen: redrawn, or dropped when it no longer matches the filters.
 * @param {ProspectsContext} ctx
 * @param {any} prospect
 */
function applyProspect(ctx, prospect) {
  if (!ctx.state.rows.has(prospect.id)) return;
  if (matchesFilters(prospect, ctx.state.filters)) putRow(ctx, prospect);
  else dropRow(ctx, prospect.id);
  settle(ctx);
}

/**
 * @param {ProspectsContext} ctx
 * @param {any} page
 */
function showPage(ctx, page) {
  const { state, ui } = ctx;
  ui.next.disabled = !page.next_cursor;
  ui.prev.disabled = state.pageIndex === 0;
  ui.pageLabel.textContent = `Page ${state.pageIndex + 1}`;
  ui.table.dataset.page = String(state.pageIndex + 1);
  state.newCount = 0;
  state.counted.clear();
  ui.newBar.hidden = true;
  settle(ctx);
}

/**
 * Reads the current page. Changes received while it is in flight are applied again over its
 * answer, which may predate them (a deletion removes the row, an edit replaces it).
 * @param {ProspectsContext} ctx
 */
export async function load(ctx) {
  const { state, ui } = ctx;
  const seq = ++state.loadSeq;
  /** @type {Map<string, any>} */
  const during = new Map();
  state.inflight = during;
  replace(ui.listState, stateLine("loading", "Loading prospects…"));
  ui.table.setAttribute("aria-busy", "true");
  try {
    const query = listQuery(state.filters, { limit: state.pageSize, cursor: state.cursors[state.pageIndex] });
    const page = await ctx.api.get("/api/prospects", query);
    if (!state.alive || seq !== state.loadSeq) return;
    state.rows.clear();
    replace(ui.tbody);
    page.items.forEach((/** @type {any} */ item) => putRow(ctx, item));
    for (const [id, change] of during) {
      if (!state.rows.has(id)) continue;
      if (change === null) dropRow(ctx, id);
      else applyProspect(ctx, change);
    }
    state.cursors = state.cursors.slice(0, state.pageIndex + 1);
    if (page.next_cursor) state.cursors.push(page.next_cursor);
    showPage(ctx, page);
  } catch (error) {
    if (state.alive && seq === state.loadSeq) replace(ui.listState, errorBox(error));
  } finally {
    if (seq === state.loadSeq) {
      ui.table.removeAttribute("aria-busy");
      state.inflight = null;
    }
  }
}

/** @param {ProspectsContext} ctx */
function restart(ctx) {
  ctx.state.cursors = [null];
  ctx.state.pageIndex = 0;
  ctx.state.selected.clear();
  load(ctx);
}

/**
 * Another page: +1 next, -1 previous.
 * @param {ProspectsContext} ctx
 * @param {number} step
 */
function turnPage(ctx, step) {
  const { state } = ctx;
  if (step > 0 && state.cursors.length <= state.pageIndex + 1) return;
  if (step < 0 && state.pageIndex === 0) return;
  state.pageIndex += step;
  state.selected.clear();
  load(ctx);
}

/** @param {ProspectsContext} ctx */
function readFilters({ state, ui }) {
  const { filters } = state;
  filters.q = ui.search.value;
  filters.status = ui.statusFilter.value;
  filters.min_score = ui.minScore.value;
  filters.tag = ui.tagFilter.value;
  filters.from = ui.fromDate.value;
  filters.to = ui.toDate.value;
  filters.sort = ui.sortSelect.value;
}

/**
 * The filters, the pager, the selection and the bulk buttons.
 * @param {ProspectsContext} ctx
 */
export function wireControls(ctx) {
  const { state, ui } = ctx;
  const reread = () => {
    readFilters(ctx);
    restart(ctx);
  };
  const debounced = debounce(() => {
    if (state.alive) reread();
  }, 300);
  for (const control of [ui.search, ui.tagFilter, ui.minScore]) control.addEventListener("input", debounced);
  for (const control of [ui.statusFilter, ui.fromDate, ui.toDate, ui.sortSelect]) control.addEventListener("change", reread);
  ui.sizeSelect.addEventListener("change", () => {
    state.pageSize = Number(ui.sizeSelect.value) || DEFAULT_PAGE_SIZE;
    restart(ctx);
  });
  ui.clear.addEventListener("click", () => {
    ui.search.value = ui.tagFilter.value = ui.minScore.value = ui.fromDate.value = ui.toDate.value = "";
    ui.statusFilter.value = "";
    reread();
  });
  ui.next.addEventListener("click", () => turnPage(ctx, 1));
  ui.prev.addEventListener("click", () => turnPage(ctx, -1));
  ui.newBar.addEventListener("click", (event) => {
    if (/** @type {Element} */ (event.target).closest("button")) restart(ctx);
  });
  ui.selectPage.addEventListener("change", () => {
    markRows(state, ui.selectPage.checked);
    updateSelection(ui, state);
  });
  ui.bulkApprove.addEventListener("click", () => setStatus(ctx, [...state.selected], "approved"));
  ui.bulkReject.addEventListener("click", () => setStatus(ctx, [...state.selected], "rejected"));
  ui.addButton.addEventListener("click", () => openForm(ctx, null));
}

/**
 * @param {ProspectsContext} ctx
 * @param {string[]} ids
 * @param {string} status
 */
async function setStatus(ctx, ids, status) {
  const { state, ui } = ctx;
  const buttons = [ui.bulkApprove, ui.bulkReject];
  buttons.forEach((button) => (button.disabled = true));
  try {
    const result = await ctx.api.post("/api/prospects/bulk-status", { ids, status });
    if (!state.alive) return;
    result.updated.forEach((/** @type {any} */ prospect) => applyProspect(ctx, prospect));
    const verb = status === "approved" ? "Approved" : "Rejected";
    const parts = [`${verb} ${result.updated.length}`];
    if (result.unchanged.length) parts.push(`${result.unchanged.length} already ${status}`);
    if (result.not_found.length) parts.push(`${result.not_found.length} no longer exist`);
    ctx.toast(parts.join(", ") + ".", "success");
    if (ids.length > 1) {
      state.selected.clear();
      markRows(state, false);
    }
  } catch (error) {
    ctx.toast(`${error.title}${error.detail ? `: ${error.detail}` : ""}`, "error");
  } finally {
    if (state.alive) updateSelection(ui, state);
  }
}

/**
 * The add (prospect null) or edit form, in a dialog.
 * @param {ProspectsContext} ctx
 * @param {any} prospect
 */
function openForm(ctx, prospect) {
  const { state } = ctx;
  const editor = prospectForm(prospect);
  editor.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = editor.values();
    try {
      const saved = await busy(editor.form, async () => {
        if (!prospect) return ctx.api.post("/api/prospects", prospectPayload(values));
        const changes = prospectPayload(values, prospect);
        if (!Object.keys(changes).length) return prospect;
        return ctx.api.patch(`/api/prospects/${prospect.id}`, changes);
      });
      editor.showErrors(null);
      state.dialog?.close();
      if (!state.alive) return;
      if (prospect) {
        applyProspect(ctx, saved);
        ctx.toast(`Saved ${saved.name}.`, "success");
      } else {
        addLive(ctx, saved);
        ctx.toast(`Added ${saved.name}.`, "success");
      }
    } catch (error) {
      editor.showErrors(error);
    }
  });
  const dialog = modal(prospect ? `Edit ${prospect.name}` : "Add a prospect", editor.form, { onClose: () => (state.dialog = null) });
  state.dialog = dialog;
  dialog.dialog.classList.add("prospect-dialog");
  dialog.dialog.id = "prospect-dialog";
  editor.focus();
}

/**
 * "Draft with AI": the model writes an outreach message to this prospect, shown as it streams.
 * @param {ProspectsContext} ctx
 * @param {any} prospect
 */
function openDraft(ctx, prospect) {
  const { api, state } = ctx;
  const panel = draftPanel({
    live: ctx.live,
    linkTo: (/** @type {string} */ id) => `#/outreach/${id}`,
    loadSaved: async (/** @type {string} */ id) => outreachText(await api.get(`/api/outreach/${id}`)),
    idPrefix: "prospect-draft",
  });
  const form = draftForm({ api, prospectId: () => prospect.id, onQueued: (/** @type {any} */ task) => panel.start(task), idPrefix: "prospect-draft" });
  state.dialog = modal(`Draft with AI: ${prospect.name}`, h("div", { class: "draft-dialog" }, form, panel.element), {
    onClose: () => {
      panel.stop();
      state.dialog = null;
    },
  });
}

/**
 * @param {ProspectsContext} ctx
 * @param {any} prospect
 */
function confirmDelete(ctx, prospect) {
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
      await ctx.api.delete(`/api/prospects/${prospect.id}`);
      confirm.close();
      if (!ctx.state.alive) return;
      dropRow(ctx, prospect.id);
      settle(ctx);
      ctx.toast(`Deleted ${prospect.name}.`, "success");
    } catch (error) {
      yes.disabled = no.disabled = false;
      replace(errors, errorBox(error));
    }
  });
  no.focus();
}

/**
 * A new prospect: at the top of the first page newest first, else counted in the "new" bar.
 * @param {ProspectsContext} ctx
 * @param {any} prospect
 */
export function addLive(ctx, prospect) {
  const { state } = ctx;
  if (state.rows.has(prospect.id)) return;
  const where = placementOf(prospect, state.filters, state.pageIndex);
  if (where === "top") {
    putRow(ctx, prospect, { atTop: true });
    state.rows.get(prospect.id)?.tr.classList.add("is-new");
    settle(ctx);
  } else if (where === "bar" && !state.counted.has(prospect.id)) {
    state.counted.add(prospect.id);
    state.newCount += 1;
    showNewBar(ctx.ui, state.newCount);
  }
}

/**
 * A `prospect_updated` event: the row is redrawn, or removed when the prospect was deleted.
 * @param {ProspectsContext} ctx
 * @param {any} data the event's data: the prospect, with `changes`, `reason` and `outreach_id`
 */
export function applyUpdate(ctx, data) {
  // eslint-disable-next-line no-unused-vars -- left out of the prospect
  const { changes, reason, outreach_id: _, ...prospect } = data;
  ctx.state.inflight?.set(prospect.id, reason === "deleted" ? null : prospect);
  if (reason === "deleted") {
    dropRow(ctx, prospect.id);
    settle(ctx);
  } else applyProspect(ctx, prospect);
}
