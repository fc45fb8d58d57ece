// @ts-check
// API keys: credentials for scripts and integrations (Zapier, a metrics scraper), each with the
// scopes it was given. The list shows what a key can do and when it was last used; a new key is
// shown once, in full, with a copy button, and never again; revoking one stops it everywhere.
//
// Key management needs a signed-in session (the server refuses keys here), which the dashboard
// always has. Scopes are grouped per domain as read / write; the admin-only ones are offered to
// admins only (the server refuses them to anyone else anyway).

import { busy, errorBox, field, formValues, h, modal, replace, stateLine } from "../dom.js";
import { dateTime, relativeTime } from "../format.js";

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** The read/write scopes of each domain, in the order the form shows them. */
export const DOMAIN_SCOPES = [
  ["prospects", "Prospects"],
  ["research", "Research"],
  ["outreach", "Outreach"],
  ["content", "Content"],
  ["automations", "Automations"],
  ["webhooks", "Webhooks"],
  ["notifications", "Notifications"],
  ["activities", "Activities"],
].map(([domain, label]) => ({ domain, label, read: `${domain}:read`, write: `${domain}:write` }));

/** Scopes that are not a domain's read/write pair. */
export const OTHER_SCOPES = [
  { scope: "events:read", label: "Live event stream", adminOnly: false },
  { scope: "analytics:read", label: "Analytics and exports", adminOnly: false },
  { scope: "metrics:read", label: "Metrics endpoint (/metrics)", adminOnly: true },
  { scope: "admin", label: "Administration", adminOnly: true },
];

/** The scopes a user may give a key: admins get the admin-only ones too. */
export function offeredScopes(isAdmin) {
  const scopes = DOMAIN_SCOPES.flatMap((group) => [group.read, group.write]);
  for (const item of OTHER_SCOPES) if (isAdmin || !item.adminOnly) scopes.push(item.scope);
  return scopes;
}

export const EXPIRY_CHOICES = [
  ["never", "Never"],
  ["30", "In 30 days"],
  ["90", "In 90 days"],
  ["365", "In a year"],
];

/** The `expires_at` of an expiry choice ("never" or a number of days from `now`), ISO 8601 UTC. */
export function expiresAt(choice, now = Date.now()) {
  const days = Number(choice);
  if (choice === "never" || !Number.isInteger(days) || days <= 0) return null;
  return new Date(Number(now) + days * 24 * 3600 * 1000).toISOString();
}

/**
 * The body of `POST /api/api-keys` from the form's values and the checked scopes, or the
 * reason it cannot be sent. Scopes are de-duplicated, limited to the offered ones and sorted.
 */
export function keyRequest(values, checked, { isAdmin = false, now = Date.now() } = {}) {
  const name = String(values.name ?? "").trim();
  if (!name) return { error: "Give the key a name, so you know later what uses it." };
  const offered = new Set(offeredScopes(isAdmin));
  const scopes = [...new Set(checked)].filter((scope) => offered.has(scope)).sort();
  if (!scopes.length) return { error: "Choose at least one scope." };
  const body = { name, scopes };
  const expires = expiresAt(String(values.expires ?? "never"), now);
  if (expires) body.expires_at = expires;
  return { body };
}

/** A key's scopes in words: "prospects read, write · events read". */
export function scopeSummary(scopes) {
  const byDomain = new Map();
  for (const scope of [...(scopes ?? [])].sort()) {
    const [domain, verb] = String(scope).split(":");
    if (!byDomain.has(domain)) byDomain.set(domain, []);
    if (verb) byDomain.get(domain).push(verb);
  }
  return [...byDomain]
    .map(([domain, verbs]) => (verbs.length ? `${domain} ${verbs.sort((a, b) => (a === "read" ? -1 : b === "read" ? 1 : 0)).join(", ")}` : domain))
    .join(" · ");
}

/** Whether a key has expired by `now`. */
export function isExpired(item, now = Date.now()) {
  return Boolean(item.expires_at) && new Date(item.expires_at).getTime() <= Number(now);
}

// ---------------------------------------------------------------- rendering

function when(value, empty) {
  if (!value) return h("span", { class: "muted" }, empty);
  return h("time", { datetime: value, title: dateTime(value) }, relativeTime(value));
}

function keyRow(item, revoke) {
  const button = h("button", { type: "button", class: "ghost small", dataset: { action: "revoke" } }, "Revoke");
  button.addEventListener("click", () => revoke(item));
  const expired = isExpired(item);
  return h(
    "tr",
    { dataset: { id: item.id } },
    h("td", { class: "key-name" }, item.name, expired ? h("span", { class: "pill bad" }, "expired") : null),
    h("td", {}, h("code", { class: "key-prefix" }, item.prefix)),
    h("td", { class: "key-scopes" }, scopeSummary(item.scopes)),
    // The labels name the facts where the table stacks into blocks (a phone).
    h("td", { dataset: { label: "Created" } }, when(item.created_at, "—")),
    h("td", { dataset: { label: "Expires" } }, item.expires_at ? when(item.expires_at, "") : h("span", { class: "muted" }, "never")),
    h("td", { dataset: { label: "Last used" } }, when(item.last_used_at, "never")),
    h("td", { class: "address", dataset: { label: "From" } }, item.last_used_ip || "—"),
    h("td", {}, button),
  );
}

function scopeCheckbox(scope, label) {
  return h("label", { class: "scope" }, h("input", { type: "checkbox", name: "scope", value: scope }), ` ${label}`);
}

function scopeFieldset(isAdmin) {
  const rows = DOMAIN_SCOPES.map((group) =>
    h(
      "tr",
      { dataset: { domain: group.domain } },
      h("th", { scope: "row" }, group.label),
      h("td", {}, scopeCheckbox(group.read, "read")),
      h("td", {}, scopeCheckbox(group.write, "write")),
    ),
  );
  const others = OTHER_SCOPES.filter((item) => isAdmin || !item.adminOnly).map((item) =>
    h("li", {}, scopeCheckbox(item.scope, item.label), item.adminOnly ? h("span", { class: "pill" }, "admins") : null),
  );
  return h(
    "fieldset",
    { class: "scopes", id: "key-scopes" },
    h("legend", {}, "Scopes"),
    h("p", { class: "hint" }, "Read lets the key list and fetch; write lets it create, change and delete."),
    h("table", { class: "scope-grid" }, h("tbody", {}, rows)),
    h("ul", { class: "scope-others" }, others),
  );
}

/** The panel showing a new key once: its text, a copy button and the warning. */
function newKeyPanel(created, onDone) {
  const text = h("code", { class: "new-key-text", id: "new-key-text" }, created.key);
  const copy = h("button", { type: "button", class: "primary", id: "copy-key" }, "Copy");
  const copied = h("span", { class: "muted", id: "copy-status", role: "status" });
  const done = h("button", { type: "button", class: "ghost", id: "new-key-done" }, "I have stored it");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      copied.textContent = " Copied.";
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      const range = document.createRange();
      range.selectNodeContents(text);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      copied.textContent = " Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
  const panel = h(
    "section",
    { class: "panel new-key", id: "new-key", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, `New key: ${created.name}`),
    h(
      "p",
      { class: "notice notice-bad", id: "new-key-warning" },
      h("strong", {}, "Copy this key now. "),
      "It is shown only this once; aiclone keeps only a hash of it. Store it like a password; anyone holding it can act with its scopes.",
    ),
    h("p", { class: "new-key-row" }, text),
    h("div", { class: "actions" }, copy, copied, done),
  );
  done.addEventListener("click", () => {
    panel.remove();
    onDone();
  });
  return panel;
}

function createForm(ctx, isAdmin, onCreated) {
  const errors = h("div", { class: "form-errors" });
  const expiry = h(
    "select",
    { name: "expires" },
    EXPIRY_CHOICES.map(([value, label]) => h("option", { value, selected: value === "never" }, label)),
  );
  const form = h(
    "form",
    { id: "key-form" },
    errors,
    h(
      "div",
      { class: "key-form-head" },
      field("Name", h("input", { name: "name", required: true, maxlength: 100, placeholder: "Zapier" }), "What will use it."),
      field("Expires", expiry),
    ),
    scopeFieldset(isAdmin),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create key")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    const checked = [.../** @type {NodeListOf<HTMLInputElement>} */ (form.querySelectorAll("input[name=scope]:checked"))].map(
      (input) => input.value,
    );
    const request = keyRequest(formValues(form), checked, { isAdmin });
    if (request.error) {
      replace(errors, errorBox({ title: request.error }));
      return;
    }
    try {
      const created = await busy(form, () => ctx.api.post("/api/api-keys", request.body));
      form.reset();
      onCreated(created);
    } catch (error) {
      replace(errors, errorBox(error));
    }
  });
  return form;
}

function confirmRevoke(ctx, item, revoked) {
  const errors = h("div", { class: "form-errors" });
  const confirm = h("button", { type: "submit", class: "danger", id: "revoke-confirm" }, "Revoke the key");
  const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
  const form = h(
    "form",
    { id: "revoke-form" },
    h(
      "p",
      { class: "notice notice-bad" },
      "Anything using ",
      h("strong", {}, item.name),
      " (",
      h("code", {}, item.prefix),
      ") stops working within a second. This cannot be undone.",
    ),
    errors,
    h("div", { class: "actions" }, confirm, cancel),
  );
  const dialog = modal("Revoke this key?", form);
  cancel.addEventListener("click", dialog.close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    try {
      await busy(form, () => ctx.api.delete(`/api/api-keys/${encodeURIComponent(item.id)}`));
    } catch (error) {
      replace(errors, errorBox(error));
      return;
    }
    dialog.close();
    revoked(item);
  });
  confirm.focus();
}

function render(root, ctx) {
  const isAdmin = ctx.user?.role === "admin";
  let alive = true;
  const state = h("div", { id: "keys-state" }, stateLine("loading", "Loading your keys…"));
  const rows = h("tbody", { id: "keys" });
  const headers = ["Name", "Prefix", "Scopes", "Created", "Expires", "Last used", "Last used from", ""];
  const table = h(
    "div",
    { class: "table-wrap", hidden: true },
    h("table", { class: "api-keys" }, h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))), rows),
  );
  const shown = h("div", { id: "new-key-slot" });

  const load = async () => {
    try {
      const body = await ctx.api.get("/api/api-keys");
      if (!alive) return;
      const items = body?.items ?? [];
      replace(rows, items.map((item) => keyRow(item, revoke)));
      table.hidden = !items.length;
      replace(state, items.length ? null : stateLine("empty", "No API keys yet."));
    } catch (error) {
      if (alive) replace(state, errorBox(error));
    }
  };
  const revoke = (item) =>
    confirmRevoke(ctx, item, () => {
      ctx.toast(`Key “${item.name}” revoked.`, "success");
      load();
    });
  const created = (key) => {
    replace(shown, newKeyPanel(key, () => replace(shown)));
    /** @type {HTMLElement | null} */ (shown.querySelector("#copy-key"))?.focus();
    load();
  };

  replace(
    root,
    h("header", { class: "view-head" }, h("h1", {}, "API keys")),
    h(
      "p",
      { class: "muted" },
      "Keys let scripts and integrations such as Zapier call the API as you, with only the scopes you give them. Send one as ",
      h("code", {}, "Authorization: Bearer <key>"),
      ".",
    ),
    shown,
    h(
      "section",
      { class: "panel", id: "keys-list", "aria-labelledby": "keys-title" },
      h("h2", { id: "keys-title" }, "Your keys"),
      state,
      table,
    ),
    h(
      "section",
      { class: "panel", id: "keys-create", "aria-labelledby": "keys-create-title" },
      h("h2", { id: "keys-create-title" }, "Create a key"),
      createForm(ctx, isAdmin, created),
    ),
  );
  load();
  return () => (alive = false);
}

export default {
  id: "api-keys",
  title: "API keys",
  mount(root, ctx) {
    return render(root, ctx);
  },
};
