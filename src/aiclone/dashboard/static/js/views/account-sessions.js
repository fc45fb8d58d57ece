// @ts-check
// The Account view's sessions panel (every signed-in browser or device, with a sign-out each and
// "sign out everywhere") and its danger zone (export all data, delete the account).
//
// Ending this device's session, signing out everywhere and deleting the account all end the
// page's session on purpose: the shell's `endSession(notice)` shows the sign-in form with why.

import { busy, errorBox, field, h, modal, replace, stateLine } from "../dom.js";
import { dateTime, relativeTime } from "../format.js";

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** A short name for a user agent: the browser and the system when they can be told. */
/** @param {[RegExp, string][]} names */
const nameIn = (names, /** @type {string} */ ua) => names.find(([pattern]) => pattern.test(ua))?.[1] ?? null;

/** @param {unknown} userAgent */
export function deviceLabel(userAgent) {
  const ua = String(userAgent ?? "");
  if (!ua.trim()) return "Unknown device";
  const browser = nameIn(
    [
      [/Edg\//, "Edge"],
      [/OPR\//, "Opera"],
      [/Firefox\//, "Firefox"],
      [/Chrom(e|ium)\//, "Chrome"],
      [/Safari\//, "Safari"],
      [/curl\//, "curl"],
      [/python-httpx|python-requests|aiohttp/i, "Python client"],
    ],
    ua,
  );
  const system = nameIn(
    [
      [/Android/, "Android"],
      [/iPhone|iPad|iOS/, "iOS"],
      [/Windows/, "Windows"],
      [/Mac OS X|Macintosh/, "macOS"],
      [/CrOS/, "ChromeOS"],
      [/Linux/, "Linux"],
    ],
    ua,
  );
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? (ua.length > 60 ? `${ua.slice(0, 57)}…` : ua);
}

/** This device first, then the most recently used. */
export function orderSessions(items) {
  return [...items].sort(
    (a, b) => Number(b.current) - Number(a.current) || String(b.last_used_at).localeCompare(String(a.last_used_at)),
  );
}

// ---------------------------------------------------------------- sessions

function when(value) {
  return h("time", { datetime: value, title: dateTime(value) }, relativeTime(value));
}

function sessionRow(item, signOut) {
  const button = h(
    "button",
    { type: "button", class: "ghost small", dataset: { action: "end-session" } },
    item.current ? "Sign out here" : "Sign out",
  );
  button.addEventListener("click", () => signOut(item, button));
  return h(
    "tr",
    { dataset: { id: item.id, current: item.current ? "true" : "false" } },
    h(
      "td",
      { class: "device" },
      h("span", { title: item.user_agent }, deviceLabel(item.user_agent)),
      item.current ? h("span", { class: "pill active this-device" }, "this device") : null,
    ),
    h("td", { class: "address" }, item.address || "—"),
    h("td", {}, when(item.created_at)),
    h("td", {}, when(item.last_used_at)),
    h("td", {}, button),
  );
}

/** The sessions panel: `{ element, load, stop }`. */
export function sessionsPanel(ctx) {
  let alive = true;
  const state = h("div", {}, stateLine("loading", "Loading your sessions…"));
  const rows = h("tbody", { id: "sessions" });
  const everywhere = h("button", { type: "button", class: "danger", id: "sign-out-everywhere" }, "Sign out everywhere");
  const element = h(
    "section",
    { class: "panel", id: "account-sessions", "aria-labelledby": "sessions-title" },
    h("header", { class: "panel-head" }, h("h2", { id: "sessions-title" }, "Sessions"), everywhere),
    h("p", { class: "muted" }, "Every browser or app signed in to your account. Signing one out stops it at once."),
    state,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "sessions" }, h("thead", {}, h("tr", {}, ["Device", "Address", "Signed in", "Last used", ""].map((text) => h("th", { scope: "col" }, text)))), rows),
    ),
  );

  const load = async () => {
    try {
      const body = await ctx.api.get("/api/auth/sessions");
      if (!alive) return;
      const items = orderSessions(body.items ?? []);
      replace(rows, items.map((item) => sessionRow(item, signOut)));
      replace(state, items.length ? null : stateLine("empty", "No open session."));
    } catch (error) {
      if (alive) replace(state, errorBox(error));
    }
  };

  const signOut = async (item, button) => {
    button.disabled = true;
    try {
      await ctx.api.delete(`/api/auth/sessions/${encodeURIComponent(item.id)}`);
    } catch (error) {
      button.disabled = false;
      replace(state, errorBox(error));
      return;
    }
    if (item.current) ctx.endSession("You signed out of this device.");
    else {
      ctx.toast("That session is signed out.", "success");
      load();
    }
  };

  everywhere.addEventListener("click", async () => {
    everywhere.disabled = true;
    try {
      await ctx.api.delete("/api/auth/sessions");
      ctx.endSession("You are signed out on every device.");
    } catch (error) {
      everywhere.disabled = false;
      replace(state, errorBox(error));
    }
  });

  return { element, load, stop: () => (alive = false) };
}

// ---------------------------------------------------------------- export and deletion

function exportButton(ctx) {
  const button = h("button", { type: "button", class: "ghost", id: "export-data" }, "Export my data");
  const status = h("span", { class: "muted", id: "export-status", role: "status" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = " Preparing the ZIP…";
    try {
      const file = await ctx.api.download("/api/auth/me/export", null, "aiclone-export.zip");
      status.textContent = ` Downloaded ${file.name}.`;
    } catch (error) {
      replace(status, errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return h("p", {}, button, status);
}

function confirmDeletion(ctx) {
  const errors = h("div", { class: "form-errors" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, maxlength: 1024 });
  const confirm = h("button", { type: "submit", class: "danger", id: "delete-confirm" }, "Delete my account forever");
  const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
  const form = h(
    "form",
    { id: "delete-form" },
    h(
      "p",
      { class: "notice notice-bad", id: "delete-warning" },
      h("strong", {}, "This cannot be undone. "),
      "Your account and everything in it (prospects, research, outreach, content, automations, webhooks, events and analytics) are erased at once, and every device is signed out. Export your data first if you want to keep it.",
    ),
    errors,
    field("Your password", password, "To confirm that it is you."),
    h("div", { class: "actions" }, confirm, cancel),
  );
  const dialog = modal("Delete your account?", form);
  cancel.addEventListener("click", dialog.close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(errors);
    try {
      await busy(form, () => ctx.api.request("DELETE", "/api/auth/me", { json: { password: password.value } }));
    } catch (error) {
      replace(errors, errorBox(error));
      return;
    }
    dialog.close();
    ctx.endSession("Your account and all its data are deleted.");
  });
  password.focus();
}

export function dangerPanel(ctx) {
  const remove = h("button", { type: "button", class: "danger", id: "delete-account" }, "Delete my account…");
  remove.addEventListener("click", () => confirmDeletion(ctx));
  return h(
    "section",
    { class: "panel", id: "account-data", "aria-labelledby": "data-title" },
    h("h2", { id: "data-title" }, "Your data"),
    h("p", { class: "muted" }, "A ZIP with everything the account holds, one JSON file per kind of record."),
    exportButton(ctx),
    h("h3", {}, "Delete the account"),
    h("p", { class: "muted" }, "Erases the account and all its data for good."),
    remove,
  );
}
