// @ts-check
// The Webhooks view's rendering: the page's layout, an endpoint's card, a delivery's row and
// detail, the secret shown once. Builders take the data and the handlers to call; they do no
// requests and keep no state of their own.

import { busy, errorBox, field, h, modal, replace, select, stateLine } from "../../dom.js";
import { dateTime, relativeTime } from "../../format.js";
import {
  DELIVERY_STATUSES,
  FLAVOURS,
  POLL_MS,
  displayUrl,
  endpointActions,
  endpointState,
  excerpt,
  flavourLabel,
  normalizeTypes,
  outcomeText,
  typesLabel,
} from "./state.js";

/** @typedef {import("./state.js").WebhooksState} WebhooksState */

/**
 * A checkbox per event type, and "All events (*)" that stands for every one.
 * @param {string[]} allTypes
 * @param {string[]} selected
 */
export function typePicker(allTypes, selected, legend = "Event types") {
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

/**
 * @param {string} kind
 * @param {string} label
 */
export function pill(kind, label) {
  return h("span", { class: ["pill", kind] }, label);
}

/**
 * @param {string | null | undefined} value
 * @param {string} [empty]
 */
export function when(value, empty = "—") {
  if (!value) return empty;
  return h("time", { datetime: value, title: dateTime(value) }, relativeTime(value));
}

function createForm() {
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
  return { form, formErrors, url, flavour, description, pickerSlot };
}

function logPanel() {
  const logTitle = h("h2", { id: "log-title" }, "Deliveries");
  const statusFilter = select("status", [["", "Any status"], ...DELIVERY_STATUSES.map((s) => [s, s])], "");
  statusFilter.setAttribute("aria-label", "Filter by status");
  const refreshButton = h("button", { type: "button", class: "ghost small", id: "log-refresh" }, "Refresh");
  const closeLog = h("button", { type: "button", class: "ghost small", id: "log-close" }, "Close");
  const logState = h("div", { "aria-live": "polite" });
  const logBody = h("tbody", { id: "deliveries" });
  const more = h("button", { type: "button", class: "ghost", hidden: true }, "Older deliveries");
  const panel = h(
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
  return { logPanel: panel, logTitle, statusFilter, refreshButton, closeLog, logState, logBody, more };
}

/**
 * The page, drawn into `root`; returns the elements the view updates.
 * @param {HTMLElement} root
 */
export function layout(root) {
  const secretBox = h("section", { class: "panel secret-panel", id: "webhook-secret", hidden: true, "aria-live": "polite" });
  const listState = h("div", {}, stateLine("loading", "Loading endpoints…"));
  const list = h("ul", { class: "endpoints", id: "endpoints" });
  const create = createForm();
  const log = logPanel();
  const detail = h("section", { class: "panel delivery-detail", id: "delivery-detail", hidden: true, "aria-live": "polite" });
  replace(
    root,
    h("header", { class: "view-head" }, h("h1", {}, "Webhooks"), h("p", { class: "muted" }, "Send your events to other systems as signed HTTP requests.")),
    secretBox,
    h(
      "div",
      { class: "columns" },
      h("section", { class: "panel", "aria-labelledby": "endpoints-title" }, h("header", { class: "panel-head" }, h("h2", { id: "endpoints-title" }, "Endpoints")), listState, list),
      h("section", { class: "panel", "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, "New endpoint"), create.form),
    ),
    log.logPanel,
    detail,
  );
  return { secretBox, listState, list, detail, ...create, ...log };
}

/** @typedef {ReturnType<typeof layout>} WebhooksUi */

/**
 * The secret, shown once, with a copy button; when the clipboard is refused it is selected.
 * @param {HTMLElement} secretBox
 * @param {string} secret
 * @param {{ heading: string, note?: string }} text
 */
export function showSecret(secretBox, secret, { heading, note }) {
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
}

/**
 * One endpoint: its URL, status, health and the actions it offers.
 * @param {any} endpoint
 * @param {boolean} isOpen its log is open
 * @param {(action: string, endpoint: any) => void} act
 */
export function endpointCard(endpoint, isOpen, act) {
  const state = endpointState(endpoint);
  /** @param {string} label @param {string} action @param {{ kind?: string }} [extra] */
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
}

/**
 * Redraws `list` with `items`, keeping the keyboard focus on the same row's same button.
 * @param {HTMLElement} list
 * @param {string} rowSelector "li" or "tr"
 * @param {() => void} draw
 */
function keepingFocus(list, rowSelector, draw) {
  const focused = /** @type {HTMLElement | null} */ (document.activeElement);
  const focusKey = focused && list.contains(focused) ? [/** @type {HTMLElement | null} */ (focused.closest(rowSelector))?.dataset.id, focused.dataset.action] : null;
  draw();
  if (focusKey) {
    /** @type {HTMLElement | null} */ (list.querySelector(`${rowSelector}[data-id="${CSS.escape(focusKey[0] ?? "")}"] [data-action="${focusKey[1]}"]`))?.focus();
  }
}

/**
 * @param {WebhooksUi} ui
 * @param {WebhooksState} state
 * @param {(action: string, endpoint: any) => void} act
 */
export function renderEndpoints(ui, state, act) {
  keepingFocus(ui.list, "li", () => {
    replace(ui.list, state.endpoints.map((endpoint) => endpointCard(endpoint, endpoint.id === state.openId, act)));
    replace(ui.listState, state.endpoints.length ? null : stateLine("empty", "No endpoints yet. Create one to receive your events."));
  });
  const open = state.endpoints.find((item) => item.id === state.openId);
  if (open) replace(ui.logTitle, "Deliveries · ", h("code", {}, displayUrl(open)));
}

/**
 * One row of the delivery log.
 * @param {any} item
 * @param {boolean} selected its detail is shown
 * @param {{ details: (id: string, button: HTMLButtonElement) => void, resend: (id: string, button: HTMLButtonElement) => void }} handlers
 */
export function deliveryRow(item, selected, handlers) {
  const details = h("button", { type: "button", class: "ghost small", dataset: { action: "details" } }, "Details");
  const resend = h("button", { type: "button", class: "ghost small", dataset: { action: "resend" } }, "Resend");
  details.addEventListener("click", () => handlers.details(item.id, details));
  resend.addEventListener("click", () => handlers.resend(item.id, resend));
  return h(
    "tr",
    { dataset: { id: item.id, status: item.status, attempts: item.attempts }, class: selected ? "selected" : null },
    h("td", { dataset: { label: "Created" } }, when(item.created_at)),
    h("td", { dataset: { label: "Event" } }, h("span", { class: "event-type" }, item.event_type), item.test ? h("span", { class: "pill" }, "test") : null),
    h("td", { dataset: { label: "Status" } }, pill(item.status, item.status)),
    h("td", { class: "attempts", dataset: { label: "Attempts" } }, String(item.attempts)),
    h("td", { dataset: { label: "Next attempt" } }, item.status === "pending" || item.status === "sending" ? when(item.next_attempt_at) : "—"),
    h("td", { class: "last-response", dataset: { label: "Last response" } }, outcomeText(item.last_status_code, item.last_error, null)),
    h("td", {}, h("div", { class: "row-actions" }, details, resend)),
  );
}

/**
 * @param {WebhooksUi} ui
 * @param {WebhooksState} state
 * @param {Parameters<typeof deliveryRow>[2]} handlers
 */
export function renderLog(ui, state, handlers) {
  keepingFocus(ui.logBody, "tr", () => {
    replace(ui.logBody, state.deliveries.map((item) => deliveryRow(item, item.id === state.detailId, handlers)));
    replace(ui.logState, state.deliveries.length ? null : stateLine("empty", "No deliveries yet. They appear here when one of the subscribed events happens, or when you send a test."));
  });
}

/** @param {any} attempt */
function attemptItem(attempt) {
  return h(
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
  );
}

/**
 * A delivery in full: its facts, every attempt, the payload.
 * @param {WebhooksUi} ui
 * @param {any} item
 * @param {() => void} onClose
 */
export function renderDetail(ui, item, onClose) {
  for (const row of ui.logBody.querySelectorAll("tr")) row.classList.toggle("selected", row.dataset.id === item.id);
  const attempts = item.attempt_log.map(attemptItem);
  replace(
    ui.detail,
    h(
      "header",
      { class: "panel-head" },
      h("h2", {}, "Delivery ", h("code", {}, item.webhook_id)),
      h("button", { type: "button", class: "ghost small", on: { click: onClose } }, "Close"),
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
  ui.detail.hidden = false;
}

/**
 * A yes/no dialog whose yes runs `work`; its error stays in the dialog.
 * @param {string} title
 * @param {string} message
 * @param {string} label
 * @param {string} kind
 * @param {() => Promise<unknown>} work
 */
export function confirmDialog(title, message, label, kind, work) {
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
}
