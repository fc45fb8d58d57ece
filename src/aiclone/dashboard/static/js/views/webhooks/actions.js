// @ts-check
// The Webhooks view's actions: loading endpoints and the open log, creating, editing, testing,
// rotating, recovering and deleting endpoints, resending deliveries. Each takes the view's
// context, changes its state, then redraws through render.js.

import { busy, errorBox, field, h, modal, replace, stateLine } from "../../dom.js";
import { dateTime } from "../../format.js";
import { LOG_PAGE, displayUrl, mergeDeliveries, outcomeText, recoverSince, resetLog, toLocalInput } from "./state.js";
import { confirmDialog, renderDetail, renderEndpoints, renderLog, showSecret, typePicker } from "./render.js";

/**
 * What every action works on.
 * @typedef {object} WebhooksContext
 * @property {import("../../api.js").Api} api
 * @property {(message: string, kind?: string) => void} toast
 * @property {import("./state.js").WebhooksState} state
 * @property {import("./render.js").WebhooksUi} ui
 * @property {{ element: HTMLElement, values: () => string[] } | null} createPicker
 */

/** @param {WebhooksContext} ctx */
const logHandlers = (ctx) => ({
  details: (/** @type {string} */ id, /** @type {HTMLButtonElement} */ button) => loadDetail(ctx, id, button),
  resend: (/** @type {string} */ id, /** @type {HTMLButtonElement} */ button) => resendDelivery(ctx, id, button),
});

/** @param {WebhooksContext} ctx */
export function drawEndpoints(ctx) {
  renderEndpoints(ctx.ui, ctx.state, (action, endpoint) => act(ctx, action, endpoint));
}

/** @param {WebhooksContext} ctx */
export async function loadEndpoints(ctx) {
  const { state } = ctx;
  try {
    const items = [];
    let cursor = null;
    do {
      const page = await ctx.api.get("/api/webhooks", { limit: 100, cursor });
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && state.alive);
    if (!state.alive) return;
    const json = JSON.stringify(items);
    state.endpoints = items;
    if (json !== state.lastEndpointsJson) {
      state.lastEndpointsJson = json;
      drawEndpoints(ctx);
    }
    if (state.openId && !state.endpoints.some((item) => item.id === state.openId)) closeTheLog(ctx);
  } catch (error) {
    if (state.alive) replace(ctx.ui.listState, errorBox(error));
  }
}

/** @param {WebhooksContext} ctx */
function freshCreatePicker(ctx) {
  ctx.createPicker = typePicker(ctx.state.eventTypes, ["*"]);
  replace(ctx.ui.pickerSlot, ctx.createPicker.element);
}

/** @param {WebhooksContext} ctx */
export async function loadTypes(ctx) {
  try {
    const body = await ctx.api.get("/api/webhooks/event-types");
    if (!ctx.state.alive) return;
    ctx.state.eventTypes = body.items;
    freshCreatePicker(ctx);
  } catch (error) {
    if (ctx.state.alive) replace(ctx.ui.pickerSlot, errorBox(error));
  }
}

/** @param {WebhooksContext} ctx */
export async function createEndpoint(ctx) {
  const { ui } = ctx;
  replace(ui.formErrors);
  const body = { url: ui.url.value.trim(), description: ui.description.value, event_types: ctx.createPicker ? ctx.createPicker.values() : [], flavour: ui.flavour.value };
  try {
    const created = await busy(ui.form, () => ctx.api.post("/api/webhooks", body));
    ui.form.reset();
    ui.flavour.dispatchEvent(new Event("change"));
    freshCreatePicker(ctx);
    ctx.state.openId = created.id;
    await loadEndpoints(ctx);
    openLog(ctx, created.id);
    // Slack checks no signature: its secret would only be noise.
    if (created.flavour === "standard") showSecret(ui.secretBox, created.secret, { heading: "Endpoint created: its signing secret" });
    ctx.toast(created.flavour === "slack" ? "Slack endpoint created. Send a test to see a message in the channel." : "Webhook endpoint created.", "success");
  } catch (error) {
    replace(ui.formErrors, errorBox(error));
  }
}

/**
 * @param {WebhooksContext} ctx
 * @param {any} endpoint
 */
function editDialog(ctx, endpoint) {
  const errors = h("div", {});
  const editUrl = h("input", { name: "url", type: "url", required: true, maxlength: 2048, value: endpoint.url });
  const editDescription = h("input", { name: "description", maxlength: 500, value: endpoint.description });
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: endpoint.status === "active" });
  const picker = typePicker(ctx.state.eventTypes, endpoint.event_types);
  const body = h(
    "form",
    { class: "edit-form", novalidate: true },
    errors,
    field("URL", editUrl),
    field("Description", editDescription),
    picker.element,
    h("label", { class: "check" }, enabled, " Enabled (deliveries are sent)"),
    endpoint.status === "failed" ? h("p", { class: "muted" }, "Enabling a disabled endpoint resets its failure count; use Recover to resend what failed.") : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save")),
  );
  const dialog = modal("Edit endpoint", body);
  body.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    /** @type {Record<string, unknown>} */
    const patch = { url: editUrl.value.trim(), description: editDescription.value, event_types: picker.values() };
    const wasEnabled = endpoint.status === "active";
    if (enabled.checked !== wasEnabled) patch.status = enabled.checked ? "active" : "inactive";
    try {
      await busy(body, () => ctx.api.patch(`/api/webhooks/${endpoint.id}`, patch));
      dialog.close();
      ctx.toast("Endpoint saved.", "success");
      await loadEndpoints(ctx);
    } catch (error) {
      replace(errors, errorBox(error));
    }
  });
  editUrl.focus();
}

/**
 * @param {WebhooksContext} ctx
 * @param {any} endpoint
 */
function recoverDialog(ctx, endpoint) {
  const errors = h("div", {});
  const since = h("input", { type: "datetime-local", name: "since", required: true, value: toLocalInput(recoverSince(endpoint)) });
  const reenable = h("input", { type: "checkbox", name: "reenable", checked: endpoint.status !== "active" });
  const body = h(
    "form",
    { class: "recover-form" },
    h("p", {}, "Re-queues every failed delivery since the time below, oldest first, each with a fresh retry schedule."),
    errors,
    field("Failed since", since),
    endpoint.status !== "active" ? h("label", { class: "check" }, reenable, " Re-enable the endpoint first (required)") : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Recover")),
  );
  const dialog = modal("Recover deliveries", body);
  body.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    const start = new Date(since.value);
    if (Number.isNaN(start.getTime())) {
      replace(errors, errorBox({ title: "Enter a date and time.", errors: [{ field: "since", message: "required" }] }));
      return;
    }
    try {
      const result = await busy(body, async () => {
        if (endpoint.status !== "active" && reenable.checked) {
          await ctx.api.patch(`/api/webhooks/${endpoint.id}`, { status: "active" });
        }
        return ctx.api.post(`/api/webhooks/${endpoint.id}/recover`, { since: start.toISOString() });
      });
      dialog.close();
      ctx.toast(`${result.requeued} failed ${result.requeued === 1 ? "delivery" : "deliveries"} re-queued.`, "success");
      await loadEndpoints(ctx);
      openLog(ctx, endpoint.id);
    } catch (error) {
      replace(errors, errorBox(error));
      loadEndpoints(ctx);
    }
  });
}

/**
 * @param {WebhooksContext} ctx
 * @param {any} endpoint
 */
async function sendTest(ctx, endpoint) {
  try {
    const types = endpoint.event_types ?? [];
    const eventType = types.length && !types.includes("*") ? types[0] : "prospect_added";
    const result = await ctx.api.post(`/api/webhooks/${endpoint.id}/test`, { event_type: eventType });
    const last = result.attempt_log[result.attempt_log.length - 1];
    ctx.toast(`Test sent: ${outcomeText(last?.status_code, last?.error, last?.error_class)}`, result.status === "succeeded" ? "success" : "error");
    openLog(ctx, endpoint.id);
    showDetail(ctx, result);
    loadEndpoints(ctx);
  } catch (error) {
    ctx.toast(`Test not sent: ${error.detail || error.title || error}`, "error");
  }
}

/**
 * @param {WebhooksContext} ctx
 * @param {any} endpoint
 */
function rotateSecret(ctx, endpoint) {
  confirmDialog(
    "Rotate the signing secret",
    "A new secret is made now. For a while, every request is signed with both the new and the old secret, so your receiver can switch without missing anything.",
    "Rotate secret",
    "primary",
    async () => {
      const rotated = await ctx.api.post(`/api/webhooks/${endpoint.id}/rotate-secret`);
      const until = rotated.previous_secret_expires_at;
      showSecret(ctx.ui.secretBox, rotated.secret, {
        heading: "New signing secret",
        note: until ? `The previous secret also signs requests until ${dateTime(until)}.` : "The previous secret no longer signs requests.",
      });
      loadEndpoints(ctx);
    },
  );
}

/**
 * @param {WebhooksContext} ctx
 * @param {any} endpoint
 */
function deleteEndpoint(ctx, endpoint) {
  const what = endpoint.flavour === "zapier" ? "this Zapier subscription (the Zap stops triggering)" : displayUrl(endpoint);
  confirmDialog("Delete endpoint", `Delete ${what} and its delivery log? This cannot be undone.`, "Delete", "danger", async () => {
    await ctx.api.delete(`/api/webhooks/${endpoint.id}`);
    ctx.toast("Endpoint deleted.", "success");
    if (ctx.state.openId === endpoint.id) closeTheLog(ctx);
    await loadEndpoints(ctx);
  });
}

/**
 * An endpoint card's button.
 * @param {WebhooksContext} ctx
 * @param {string} action
 * @param {any} endpoint
 */
export function act(ctx, action, endpoint) {
  if (action === "log") {
    if (ctx.state.openId === endpoint.id && !ctx.ui.logPanel.hidden) closeTheLog(ctx);
    else openLog(ctx, endpoint.id);
  } else if (action === "edit") editDialog(ctx, endpoint);
  else if (action === "test") sendTest(ctx, endpoint);
  else if (action === "recover") recoverDialog(ctx, endpoint);
  else if (action === "rotate") rotateSecret(ctx, endpoint);
  else if (action === "delete") deleteEndpoint(ctx, endpoint);
}

/**
 * @param {WebhooksContext} ctx
 * @param {{ older?: boolean }} [options]
 */
export async function loadLog(ctx, { older = false } = {}) {
  const { state, ui } = ctx;
  const id = state.openId;
  if (!id) return;
  try {
    const page = await ctx.api.get(`/api/webhooks/${id}/deliveries`, {
      limit: LOG_PAGE,
      cursor: older ? state.logCursor : null,
      status: ui.statusFilter.value || null,
    });
    if (!state.alive || id !== state.openId) return;
    if (older) state.logCursor = page.next_cursor;
    else if (state.deliveries.length <= LOG_PAGE) state.logCursor = page.next_cursor;
    const filter = ui.statusFilter.value;
    // Newest page merged into what is shown (older pages stay); rows leaving the filter drop out.
    state.deliveries = mergeDeliveries(state.deliveries, page.items).filter((item) => !filter || item.status === filter);
    ui.more.hidden = !state.logCursor;
    const json = JSON.stringify(state.deliveries);
    if (json !== state.lastLogJson) {
      state.lastLogJson = json;
      renderLog(ui, state, logHandlers(ctx));
    }
  } catch (error) {
    if (state.alive && id === state.openId) replace(ui.logState, errorBox(error));
  }
}

/**
 * @param {WebhooksContext} ctx
 * @param {string} id
 */
export function openLog(ctx, id) {
  const { state, ui } = ctx;
  if (state.openId !== id) {
    resetLog(state);
    replace(ui.logBody);
    hideDetail(ctx);
  }
  state.openId = id;
  ui.logPanel.hidden = false;
  replace(ui.logState, state.deliveries.length ? null : stateLine("loading", "Loading deliveries…"));
  state.lastEndpointsJson = "";
  drawEndpoints(ctx);
  loadLog(ctx);
}

/** @param {WebhooksContext} ctx */
export function closeTheLog(ctx) {
  ctx.state.openId = null;
  ctx.state.deliveries = [];
  ctx.ui.logPanel.hidden = true;
  hideDetail(ctx);
  drawEndpoints(ctx);
}

/** @param {WebhooksContext} ctx */
function hideDetail(ctx) {
  ctx.state.detailId = null;
  ctx.ui.detail.hidden = true;
  replace(ctx.ui.detail);
}

/**
 * @param {WebhooksContext} ctx
 * @param {any} item
 */
function showDetail(ctx, item) {
  ctx.state.detailId = item.id;
  renderDetail(ctx.ui, item, () => hideDetail(ctx));
}

/**
 * @param {WebhooksContext} ctx
 * @param {string} id
 * @param {HTMLButtonElement} [button] the row's button, when a person asked
 */
export async function loadDetail(ctx, id, button) {
  const { state } = ctx;
  const endpoint = state.openId;
  try {
    const item = await ctx.api.get(`/api/webhooks/${endpoint}/deliveries/${id}`);
    if (!state.alive || endpoint !== state.openId) return;
    showDetail(ctx, item);
    if (button) ctx.ui.detail.scrollIntoView({ block: "nearest" });
  } catch (error) {
    if (state.alive && button) ctx.toast(error.detail || error.title, "error");
  }
}

/**
 * @param {WebhooksContext} ctx
 * @param {string} id
 * @param {HTMLButtonElement} button
 */
async function resendDelivery(ctx, id, button) {
  const endpoint = ctx.state.openId;
  button.disabled = true;
  try {
    const item = await ctx.api.post(`/api/webhooks/${endpoint}/deliveries/${id}/retry`);
    if (!ctx.state.alive) return;
    const last = item.attempt_log[item.attempt_log.length - 1];
    ctx.toast(`Resent: ${outcomeText(last?.status_code, last?.error, last?.error_class)}`, last?.status_code >= 200 && last?.status_code < 300 ? "success" : "error");
    showDetail(ctx, item);
    await loadLog(ctx);
    loadEndpoints(ctx);
  } catch (error) {
    if (ctx.state.alive) ctx.toast(`Not resent: ${error.detail || error.title}`, "error");
  } finally {
    button.disabled = false;
  }
}

/**
 * Reloads the endpoints, the open log and the detail shown; one refresh at a time.
 * @param {WebhooksContext} ctx
 */
export async function refresh(ctx) {
  const { state } = ctx;
  if (!state.alive || state.refreshing) return;
  state.refreshing = true;
  try {
    await Promise.all([
      loadEndpoints(ctx),
      state.openId ? loadLog(ctx) : null,
      state.openId && state.detailId ? loadDetail(ctx, state.detailId) : null,
    ]);
  } finally {
    state.refreshing = false;
  }
}
