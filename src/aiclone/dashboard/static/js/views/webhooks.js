// @ts-check
// Webhooks: the user's endpoints, their signing secrets and their delivery logs.
//
// The secret is shown once, right after create or rotate (the API never returns it again), with
// a copy button; when the clipboard is refused (no secure context, no permission) the secret is
// selected so the user can copy it by hand.
//
// Live: the API emits no event when a delivery is attempted. A delivery row is written in the
// same transaction as the event it carries, so any persisted event on the stream refreshes the
// open log at once; the attempts that follow (done by the worker) are picked up by polling the
// open log every few seconds while the page is visible. Nothing polls while no log is open, and
// everything stops on unmount.

import { busy, errorBox, field, h, modal, replace, select, stateLine } from "../dom.js";
import { dateTime, debounce, relativeTime } from "../format.js";

const POLL_MS = 4000;
const LOG_PAGE = 25;
const EXCERPT_CHARS = 4000;
const DELIVERY_STATUSES = ["pending", "sending", "succeeded", "failed"];

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

const FLAVOURS = {
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

// ---------------------------------------------------------------- DOM pieces

function typePicker(allTypes, selected, legend = "Event types") {
  const wanted = new Set(selected);
  const all = h("input", { type: "checkbox", value: "*", checked: wanted.has("*"), dataset: { type: "*" } });
  const boxes = allTypes.map((type) =>
    h("input", { type: "checkbox", value: type, checked: wanted.has(type), dataset: { type } }),
  );
  const sync = () => boxes.forEach((box) => (box.disabled = all.checked));
  all.addEventListener("change", sync);
  sync();
  const element = h(
    "fieldset",
    { class: "type-picker" },
    h("legend", {}, legend),
    h("label", { class: "check all-types" }, all, h("span", {}, "All events (*), also types added later")),
    h("div", { class: "type-grid" }, boxes.map((box) => h("label", { class: "check" }, box, h("span", {}, box.value)))),
  );
  const values = () => normalizeTypes(all.checked ? ["*"] : boxes.filter((box) => box.checked).map((box) => box.value));
  return { element, values };
}

function pill(kind, label) {
  return h("span", { class: ["pill", kind] }, label);
}

function when(value, empty = "—") {
  if (!value) return empty;
  return h("time", { datetime: value, title: dateTime(value) }, relativeTime(value));
}

// ---------------------------------------------------------------- the view

export default {
  id: "webhooks",
  title: "Webhooks",
  adminOnly: false,
  mount(root, { api, live, toast }) {
    let alive = true;
    let eventTypes = [];
    let endpoints = [];
    let openId = null; // the endpoint whose log is open
    let deliveries = [];
    let logCursor = null;
    let detailId = null;
    let refreshing = false;

    // --- layout
    const secretBox = h("section", { class: "panel secret-panel", id: "webhook-secret", hidden: true, "aria-live": "polite" });
    const listState = h("div", {}, stateLine("loading", "Loading endpoints…"));
    const list = h("ul", { class: "endpoints", id: "endpoints" });
    const formErrors = h("div", { class: "form-errors" });
    const url = h("input", { name: "url", type: "url", required: true, maxlength: 2048, placeholder: FLAVOURS.standard.placeholder });
    const flavour = select("flavour", Object.entries(FLAVOURS).map(([value, item]) => [value, item.label]), "standard");
    const urlHint = h("span", {}, FLAVOURS.standard.hint);
    flavour.addEventListener("change", () => {
      const chosen = FLAVOURS[flavour.value] ?? FLAVOURS.standard;
      url.setAttribute("placeholder", chosen.placeholder);
      replace(urlHint, chosen.hint);
    });
    const description = h("input", { name: "description", maxlength: 500 });
    const pickerSlot = h("div", {}, stateLine("loading", "Loading event types…"));
    let createPicker = null;
    const form = h(
      "form",
      { id: "webhook-form", class: "webhook-form", novalidate: true },
      formErrors,
      field("Type", flavour),
      field("URL", url, urlHint),
      field("Description", description),
      pickerSlot,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create endpoint")),
    );
    const logTitle = h("h2", { id: "log-title" }, "Deliveries");
    const statusFilter = select("status", [["", "Any status"], ...DELIVERY_STATUSES.map((s) => [s, s])], "");
    statusFilter.setAttribute("aria-label", "Filter by status");
    const refreshButton = h("button", { type: "button", class: "ghost small", id: "log-refresh" }, "Refresh");
    const closeLog = h("button", { type: "button", class: "ghost small", id: "log-close" }, "Close");
    const logState = h("div", { "aria-live": "polite" });
    const logBody = h("tbody", { id: "deliveries" });
    const more = h("button", { type: "button", class: "ghost", hidden: true }, "Older deliveries");
    const logPanel = h(
      "section",
      { class: "panel", id: "log-panel", hidden: true, "aria-labelledby": "log-title" },
      h("header", { class: "panel-head" }, logTitle, h("div", { class: "actions" }, statusFilter, refreshButton, closeLog)),
      h("p", { class: "muted small-print" }, `New deliveries appear as events happen; attempts refresh every ${POLL_MS / 1000} s while this log is open.`),
      logState,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "deliveries" },
          h("thead", {}, h("tr", {}, ["Created", "Event", "Status", "Attempts", "Next attempt", "Last response", ""].map((t) => h("th", { scope: "col" }, t)))),
          logBody,
        ),
      ),
      more,
    );
    const detail = h("section", { class: "panel delivery-detail", id: "delivery-detail", hidden: true, "aria-live": "polite" });

    replace(
      root,
      h("header", { class: "view-head" }, h("h1", {}, "Webhooks"), h("p", { class: "muted" }, "Send your events to other systems as signed HTTP requests.")),
      secretBox,
      h(
        "div",
        { class: "columns" },
        h("section", { class: "panel", "aria-labelledby": "endpoints-title" }, h("header", { class: "panel-head" }, h("h2", { id: "endpoints-title" }, "Endpoints")), listState, list),
        h("section", { class: "panel", "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, "New endpoint"), form),
      ),
      logPanel,
      detail,
    );

    // --- the secret, shown once
    const showSecret = (secret, { heading, note }) => {
      const text = h("textarea", { class: "secret", id: "secret-value", readonly: true, rows: 2, spellcheck: "false", "aria-label": "Signing secret" });
      text.value = secret;
      const status = h("p", { class: "copy-status", id: "copy-status", role: "status" });
      const copy = h("button", { type: "button", class: "primary", id: "copy-secret" }, "Copy secret");
      const done = h("button", { type: "button", class: "ghost" }, "I have stored it");
      copy.addEventListener("click", async () => {
        try {
          if (!window.isSecureContext || !navigator.clipboard?.writeText) {
            throw new Error("this page cannot use the clipboard (it needs https or localhost)");
          }
          await navigator.clipboard.writeText(secret);
          status.className = "copy-status copied";
          status.textContent = "Copied to the clipboard.";
        } catch (error) {
          text.focus();
          text.select();
          status.className = "copy-status copy-failed";
          status.textContent = `Could not copy automatically (${error?.message || error}). The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.`;
        }
      });
      done.addEventListener("click", () => {
        replace(secretBox);
        secretBox.hidden = true;
      });
      replace(
        secretBox,
        h("h2", {}, heading),
        h("p", { class: "notice", id: "secret-notice" }, h("strong", {}, "Copy this secret now: you will not see it again. "), "Receivers use it to verify the webhook-signature header."),
        note ? h("p", { class: "muted" }, note) : null,
        text,
        h("div", { class: "actions" }, copy, done),
        status,
      );
      secretBox.hidden = false;
      secretBox.scrollIntoView({ block: "nearest" });
      copy.focus();
    };

    // --- endpoints
    const endpointCard = (endpoint) => {
      const state = endpointState(endpoint);
      const isOpen = endpoint.id === openId;
      const button = (label, action, extra = {}) =>
        h("button", { type: "button", class: ["small", extra.kind || "ghost"], dataset: { action }, on: { click: () => act(action, endpoint) } }, label);
      const offered = new Set(endpointActions(endpoint));
      const flavourName = endpoint.flavour ?? "standard";
      return h(
        "li",
        { class: ["endpoint", isOpen ? "selected" : null], dataset: { id: endpoint.id, status: endpoint.status, flavour: flavourName } },
        h(
          "div",
          { class: "endpoint-main" },
          h(
            "div",
            { class: "endpoint-line" },
            h("span", { class: ["pill", "flavour", `flavour-${flavourName}`] }, flavourLabel(endpoint)),
            h("code", { class: "endpoint-url" }, displayUrl(endpoint)),
            pill(state.kind, state.label),
          ),
          endpoint.description ? h("p", { class: "endpoint-desc" }, endpoint.description) : null,
          h("p", { class: "endpoint-types" }, h("span", { class: "muted" }, "Events: "), typesLabel(endpoint.event_types)),
          state.reason ? h("p", { class: "endpoint-reason" }, h("span", { class: "muted" }, "Reason: "), state.reason) : null,
          h(
            "p",
            { class: "endpoint-health muted" },
            `Failures in a row: `,
            h("span", { class: "failures" }, String(endpoint.consecutive_failures)),
            " · Last success: ",
            when(endpoint.last_success_at, "never"),
            flavourName === "standard" ? [" · Secret: ", h("code", {}, endpoint.secret_hint)] : null,
          ),
          flavourName === "zapier" ? h("p", { class: "muted endpoint-note" }, "Made by a Zap. Zapier sets its URL and event; deleting it here stops the Zap's trigger.") : null,
        ),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: ["small", isOpen ? "primary" : "ghost"], dataset: { action: "log" }, "aria-pressed": String(isOpen), on: { click: () => act("log", endpoint) } }, "Deliveries"),
          button("Send test", "test"),
          offered.has("edit") ? button("Edit", "edit") : null,
          offered.has("rotate") ? button("Rotate secret", "rotate") : null,
          endpoint.status !== "active" ? button("Recover", "recover", { kind: "primary" }) : button("Recover failed", "recover"),
          button("Delete", "delete", { kind: "danger" }),
        ),
      );
    };

    const renderEndpoints = () => {
      const focused = document.activeElement;
      const focusKey = list.contains(focused) ? [focused.closest("li")?.dataset.id, focused.dataset.action] : null;
      replace(list, endpoints.map(endpointCard));
      replace(listState, endpoints.length ? null : stateLine("empty", "No endpoints yet. Create one to receive your events."));
      if (focusKey) list.querySelector(`li[data-id="${CSS.escape(focusKey[0])}"] [data-action="${focusKey[1]}"]`)?.focus();
      const open = endpoints.find((item) => item.id === openId);
      if (open) replace(logTitle, "Deliveries · ", h("code", {}, displayUrl(open)));
    };

    let lastEndpointsJson = "";
    const loadEndpoints = async () => {
      try {
        const items = [];
        let cursor = null;
        do {
          const page = await api.get("/api/webhooks", { limit: 100, cursor });
          items.push(...page.items);
          cursor = page.next_cursor;
        } while (cursor && alive);
        if (!alive) return;
        const json = JSON.stringify(items);
        endpoints = items;
        if (json !== lastEndpointsJson) {
          lastEndpointsJson = json;
          renderEndpoints();
        }
        if (openId && !endpoints.some((item) => item.id === openId)) closeTheLog();
      } catch (error) {
        if (alive) replace(listState, errorBox(error));
      }
    };

    const loadTypes = async () => {
      try {
        const body = await api.get("/api/webhooks/event-types");
        if (!alive) return;
        eventTypes = body.items;
        createPicker = typePicker(eventTypes, ["*"]);
        replace(pickerSlot, createPicker.element);
      } catch (error) {
        if (alive) replace(pickerSlot, errorBox(error));
      }
    };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(formErrors);
      const body = { url: url.value.trim(), description: description.value, event_types: createPicker ? createPicker.values() : [], flavour: flavour.value };
      try {
        const created = await busy(form, () => api.post("/api/webhooks", body));
        form.reset();
        flavour.dispatchEvent(new Event("change"));
        createPicker = typePicker(eventTypes, ["*"]);
        replace(pickerSlot, createPicker.element);
        openId = created.id;
        await loadEndpoints();
        openLog(created.id);
        // Slack checks no signature: its secret would only be noise.
        if (created.flavour === "standard") showSecret(created.secret, { heading: "Endpoint created: its signing secret" });
        toast(created.flavour === "slack" ? "Slack endpoint created. Send a test to see a message in the channel." : "Webhook endpoint created.", "success");
      } catch (error) {
        replace(formErrors, errorBox(error));
      }
    });

    // --- actions on an endpoint
    const confirmDialog = (title, message, label, kind, work) => {
      const errors = h("div", {});
      const ok = h("button", { type: "submit", class: kind }, label);
      const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
      const body = h("form", { class: "confirm-form" }, h("p", {}, message), errors, h("div", { class: "actions" }, ok, cancel));
      const dialog = modal(title, body);
      cancel.addEventListener("click", dialog.close);
      body.addEventListener("submit", async (event) => {
        event.preventDefault();
        replace(errors);
        try {
          await busy(body, work);
          dialog.close();
        } catch (error) {
          replace(errors, errorBox(error));
        }
      });
      ok.focus();
    };

    const editDialog = (endpoint) => {
      const errors = h("div", {});
      const editUrl = h("input", { name: "url", type: "url", required: true, maxlength: 2048, value: endpoint.url });
      const editDescription = h("input", { name: "description", maxlength: 500, value: endpoint.description });
      const enabled = h("input", { type: "checkbox", name: "enabled", checked: endpoint.status === "active" });
      const picker = typePicker(eventTypes, endpoint.event_types);
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
        const patch = { url: editUrl.value.trim(), description: editDescription.value, event_types: picker.values() };
        const wasEnabled = endpoint.status === "active";
        if (enabled.checked !== wasEnabled) patch.status = enabled.checked ? "active" : "inactive";
        try {
          await busy(body, () => api.patch(`/api/webhooks/${endpoint.id}`, patch));
          dialog.close();
          toast("Endpoint saved.", "success");
          await loadEndpoints();
        } catch (error) {
          replace(errors, errorBox(error));
        }
      });
      editUrl.focus();
    };

    const recoverDialog = (endpoint) => {
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
              await api.patch(`/api/webhooks/${endpoint.id}`, { status: "active" });
            }
            return api.post(`/api/webhooks/${endpoint.id}/recover`, { since: start.toISOString() });
          });
          dialog.close();
          toast(`${result.requeued} failed ${result.requeued === 1 ? "delivery" : "deliveries"} re-queued.`, "success");
          await loadEndpoints();
          openLog(endpoint.id);
        } catch (error) {
          replace(errors, errorBox(error));
          loadEndpoints();
        }
      });
    };

    const sendTest = async (endpoint) => {
      try {
        const types = endpoint.event_types ?? [];
        const eventType = types.length && !types.includes("*") ? types[0] : "prospect_added";
        const result = await api.post(`/api/webhooks/${endpoint.id}/test`, { event_type: eventType });
        const last = result.attempt_log[result.attempt_log.length - 1];
        toast(`Test sent: ${outcomeText(last?.status_code, last?.error, last?.error_class)}`, result.status === "succeeded" ? "success" : "error");
        openLog(endpoint.id);
        showDetail(result);
        loadEndpoints();
      } catch (error) {
        toast(`Test not sent: ${error.detail || error.title || error}`, "error");
      }
    };

    const act = (action, endpoint) => {
      if (action === "log") {
        if (openId === endpoint.id && !logPanel.hidden) closeTheLog();
        else openLog(endpoint.id);
      } else if (action === "edit") editDialog(endpoint);
      else if (action === "test") sendTest(endpoint);
      else if (action === "recover") recoverDialog(endpoint);
      else if (action === "rotate") {
        confirmDialog(
          "Rotate the signing secret",
          "A new secret is made now. For a while, every request is signed with both the new and the old secret, so your receiver can switch without missing anything.",
          "Rotate secret",
          "primary",
          async () => {
            const rotated = await api.post(`/api/webhooks/${endpoint.id}/rotate-secret`);
            const until = rotated.previous_secret_expires_at;
            showSecret(rotated.secret, {
              heading: "New signing secret",
              note: until ? `The previous secret also signs requests until ${dateTime(until)}.` : "The previous secret no longer signs requests.",
            });
            loadEndpoints();
          },
        );
      } else if (action === "delete") {
        const what = endpoint.flavour === "zapier" ? "this Zapier subscription (the Zap stops triggering)" : displayUrl(endpoint);
        confirmDialog("Delete endpoint", `Delete ${what} and its delivery log? This cannot be undone.`, "Delete", "danger", async () => {
          await api.delete(`/api/webhooks/${endpoint.id}`);
          toast("Endpoint deleted.", "success");
          if (openId === endpoint.id) closeTheLog();
          await loadEndpoints();
        });
      }
    };

    // --- the delivery log
    const deliveryRow = (item) => {
      const details = h("button", { type: "button", class: "ghost small", dataset: { action: "details" } }, "Details");
      const resend = h("button", { type: "button", class: "ghost small", dataset: { action: "resend" } }, "Resend");
      details.addEventListener("click", () => loadDetail(item.id, details));
      resend.addEventListener("click", () => resendDelivery(item.id, resend));
      return h(
        "tr",
        { dataset: { id: item.id, status: item.status, attempts: item.attempts }, class: item.id === detailId ? "selected" : null },
        h("td", { dataset: { label: "Created" } }, when(item.created_at)),
        h("td", { dataset: { label: "Event" } }, h("span", { class: "event-type" }, item.event_type), item.test ? h("span", { class: "pill" }, "test") : null),
        h("td", { dataset: { label: "Status" } }, pill(item.status, item.status)),
        h("td", { class: "attempts", dataset: { label: "Attempts" } }, String(item.attempts)),
        h("td", { dataset: { label: "Next attempt" } }, item.status === "pending" || item.status === "sending" ? when(item.next_attempt_at) : "—"),
        h("td", { class: "last-response", dataset: { label: "Last response" } }, outcomeText(item.last_status_code, item.last_error, null)),
        h("td", {}, h("div", { class: "row-actions" }, details, resend)),
      );
    };

    const renderLog = () => {
      const focused = document.activeElement;
      const focusKey = logBody.contains(focused) ? [focused.closest("tr")?.dataset.id, focused.dataset.action] : null;
      replace(logBody, deliveries.map(deliveryRow));
      replace(logState, deliveries.length ? null : stateLine("empty", "No deliveries yet. They appear here when one of the subscribed events happens, or when you send a test."));
      if (focusKey) logBody.querySelector(`tr[data-id="${CSS.escape(focusKey[0])}"] [data-action="${focusKey[1]}"]`)?.focus();
    };

    let lastLogJson = "";
    const loadLog = async ({ older = false } = {}) => {
      const id = openId;
      if (!id) return;
      try {
        const page = await api.get(`/api/webhooks/${id}/deliveries`, {
          limit: LOG_PAGE,
          cursor: older ? logCursor : null,
          status: statusFilter.value || null,
        });
        if (!alive || id !== openId) return;
        if (older) logCursor = page.next_cursor;
        else if (deliveries.length <= LOG_PAGE) logCursor = page.next_cursor;
        const filter = statusFilter.value;
        // Newest page merged into what is shown (older pages stay); rows leaving the filter drop out.
        deliveries = mergeDeliveries(deliveries, page.items).filter((item) => !filter || item.status === filter);
        more.hidden = !logCursor;
        const json = JSON.stringify(deliveries);
        if (json !== lastLogJson) {
          lastLogJson = json;
          renderLog();
        }
      } catch (error) {
        if (alive && id === openId) replace(logState, errorBox(error));
      }
    };

    const openLog = (id) => {
      if (openId !== id) {
        deliveries = [];
        logCursor = null;
        lastLogJson = "";
        replace(logBody);
        hideDetail();
      }
      openId = id;
      logPanel.hidden = false;
      replace(logState, deliveries.length ? null : stateLine("loading", "Loading deliveries…"));
      lastEndpointsJson = "";
      renderEndpoints();
      loadLog();
    };

    function closeTheLog() {
      openId = null;
      deliveries = [];
      logPanel.hidden = true;
      hideDetail();
      renderEndpoints();
    }

    function hideDetail() {
      detailId = null;
      detail.hidden = true;
      replace(detail);
    }

    const showDetail = (item) => {
      detailId = item.id;
      for (const row of logBody.querySelectorAll("tr")) row.classList.toggle("selected", row.dataset.id === item.id);
      const attempts = item.attempt_log.map((attempt) =>
        h(
          "li",
          { class: "attempt", dataset: { number: attempt.number, status: attempt.status_code ?? "" } },
          h(
            "div",
            { class: "attempt-head" },
            h("strong", {}, `Attempt ${attempt.number}`),
            h("span", { class: "muted" }, ` ${attempt.trigger} · `),
            when(attempt.started_at),
            h("span", { class: "muted" }, ` · ${attempt.duration_ms} ms`),
            " · ",
            h("span", { class: ["attempt-outcome", attempt.status_code >= 200 && attempt.status_code < 300 ? "trend-up" : "trend-down"] }, outcomeText(attempt.status_code, null, attempt.error_class)),
          ),
          attempt.error ? h("p", { class: "attempt-error" }, h("span", { class: "muted" }, "Error: "), attempt.error) : null,
          attempt.remote_address ? h("p", { class: "muted" }, `Remote address: ${attempt.remote_address}`) : null,
          attempt.response_body
            ? h("details", { class: "response", open: true }, h("summary", {}, "Response body (excerpt)"), h("pre", { class: "response-body" }, excerpt(attempt.response_body)))
            : h("p", { class: "muted" }, "No response body."),
        ),
      );
      replace(
        detail,
        h(
          "header",
          { class: "panel-head" },
          h("h2", {}, "Delivery ", h("code", {}, item.webhook_id)),
          h("button", { type: "button", class: "ghost small", on: { click: hideDetail } }, "Close"),
        ),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Event"), h("dd", {}, item.event_type, item.event_seq !== null ? ` (seq ${item.event_seq})` : "", item.test ? " — test" : ""),
          h("dt", {}, "Status"), h("dd", {}, pill(item.status, item.status)),
          h("dt", {}, "Attempts"), h("dd", {}, String(item.attempts)),
          h("dt", {}, "Next attempt"), h("dd", {}, item.next_attempt_at && item.status === "pending" ? when(item.next_attempt_at) : "—"),
          h("dt", {}, "Created"), h("dd", {}, dateTime(item.created_at)),
          h("dt", {}, "Finished"), h("dd", {}, item.finished_at ? dateTime(item.finished_at) : "—"),
        ),
        h("h3", {}, "Attempts"),
        attempts.length ? h("ol", { class: "attempts", id: "attempts" }, attempts) : stateLine("empty", "Not attempted yet."),
        h("details", { class: "payload" }, h("summary", {}, "Payload"), h("pre", {}, JSON.stringify(item.payload, null, 2))),
      );
      detail.hidden = false;
    };

    const loadDetail = async (id, button) => {
      const endpoint = openId;
      try {
        const item = await api.get(`/api/webhooks/${endpoint}/deliveries/${id}`);
        if (!alive || endpoint !== openId) return;
        showDetail(item);
        if (button) detail.scrollIntoView({ block: "nearest" });
      } catch (error) {
        if (alive && button) toast(error.detail || error.title, "error");
      }
    };

    const resendDelivery = async (id, button) => {
      const endpoint = openId;
      button.disabled = true;
      try {
        const item = await api.post(`/api/webhooks/${endpoint}/deliveries/${id}/retry`);
        if (!alive) return;
        const last = item.attempt_log[item.attempt_log.length - 1];
        toast(`Resent: ${outcomeText(last?.status_code, last?.error, last?.error_class)}`, last?.status_code >= 200 && last?.status_code < 300 ? "success" : "error");
        showDetail(item);
        await loadLog();
        loadEndpoints();
      } catch (error) {
        if (alive) toast(`Not resent: ${error.detail || error.title}`, "error");
      } finally {
        button.disabled = false;
      }
    };

    // --- refreshing
    const refresh = async () => {
      if (!alive || refreshing) return;
      refreshing = true;
      try {
        await Promise.all([loadEndpoints(), openId ? loadLog() : null, openId && detailId ? loadDetail(detailId) : null]);
      } finally {
        refreshing = false;
      }
    };
    const soon = debounce(() => refresh(), 300);
    const timer = setInterval(() => {
      if (openId && document.visibilityState === "visible") refresh();
    }, POLL_MS);
    const onVisible = () => {
      if (document.visibilityState === "visible" && openId) refresh();
    };
    document.addEventListener("visibilitychange", onVisible);
    statusFilter.addEventListener("change", () => {
      deliveries = [];
      logCursor = null;
      lastLogJson = "";
      loadLog();
    });
    refreshButton.addEventListener("click", () => refresh());
    closeLog.addEventListener("click", () => closeTheLog());
    more.addEventListener("click", () => loadLog({ older: true }));

    const unsubscribe = [
      live.on("*", (event) => {
        if (event.ephemeral || event.type === "connection") return;
        if (event.type === "reset") {
          refresh();
          return;
        }
        // A new event may have created deliveries (same transaction); a notification may say an
        // endpoint is failing or was disabled.
        if (openId || event.type === "notification") soon();
      }),
    ];

    loadTypes();
    loadEndpoints();
    return () => {
      alive = false;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
      unsubscribe.forEach((stop) => stop());
    };
  },
};
