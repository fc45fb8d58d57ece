// @ts-check
// Account: the signed-in user's own name, address and password, their sessions, the export of
// all their data and the deletion of the account.
//
// Each panel is a small form whose action calls one endpoint and says what happened in words
// (an address change waits for its confirmation; a password change ends the other sessions).
// The sessions and the irreversible actions live in account-sessions.js.

import { errorBox, field, h, handleSubmit, replace, stateLine } from "../dom.js";
import { newPasswordAttributes, pagePolicy, passwordHint } from "../policy.js";
import { dangerPanel, sessionsPanel } from "./account-sessions.js";

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** The PATCH body of the name form: the trimmed name, or null when nothing changes. */
export function nameChange(values, user) {
  const name = String(values.full_name ?? "").trim();
  return name && name !== user.full_name ? { full_name: name } : null;
}

/** The PATCH body of the address form: the new address with the current password, or null. */
export function emailChange(values, user) {
  const email = String(values.email ?? "").trim();
  if (!email || email.toLowerCase() === String(user.email).toLowerCase()) return null;
  return { email, current_password: String(values.current_password ?? "") };
}

/** What a password change says about the other sessions it ended. */
export function endedSessionsText(count) {
  const n = Number(count) || 0;
  if (n === 0) return "Your password is changed. No other session was signed in.";
  return `Your password is changed. ${n} other ${n === 1 ? "session was" : "sessions were"} signed out.`;
}

/** The line under the address form while a change waits for its confirmation. */
export function pendingText(pendingEmail) {
  return pendingEmail ? `Confirmation sent to ${pendingEmail}. Follow the link in that mail to use it.` : "";
}

// ---------------------------------------------------------------- rendering

function panel(id, title, ...children) {
  return h(
    "section",
    { class: "panel", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title),
    ...children,
  );
}

/** A form whose submit runs `action(values)`; its result text goes to the status line. */
function actionForm(id, fields, submit, action) {
  const errors = h("div", { class: "form-errors" });
  const result = h("p", { class: "result", id: `${id}-result`, role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { id },
    errors,
    fields,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, submit)),
    result,
  );
  handleSubmit(form, errors, (values) => action(values, form), {
    done: (text) => {
      if (text) result.textContent = text;
    },
    failed: () => {
      result.textContent = "";
    },
  });
  return form;
}

function passwordInput(name, autocomplete = "current-password") {
  return h("input", { name, type: "password", autocomplete, required: true, maxlength: 1024 });
}

// ---------------------------------------------------------------- actions

function nameForm(ctx, me) {
  return actionForm(
    "name-form",
    field("Full name", h("input", { name: "full_name", autocomplete: "name", required: true, maxlength: 200, value: me.full_name })),
    "Save name",
    async (values) => {
      const change = nameChange(values, me);
      if (!change) return "Nothing to change.";
      const updated = await ctx.api.patch("/api/auth/me", change);
      me.full_name = updated.full_name;
      ctx.renamed?.(updated.full_name);
      return "Name saved.";
    },
  );
}

function emailForm(ctx, me) {
  return actionForm(
    "email-form",
    [
      field("New address", h("input", { name: "email", type: "email", autocomplete: "email", required: true, maxlength: 254 })),
      field("Current password", passwordInput("current_password"), "Needed to change the address."),
    ],
    "Change address",
    async (values, form) => {
      const change = emailChange(values, me);
      if (!change) return "That is already your address.";
      const updated = await ctx.api.patch("/api/auth/me", change);
      form.reset();
      return pendingText(updated?.pending_email ?? change.email);
    },
  );
}

function passwordForm(ctx, changed) {
  const policy = pagePolicy();
  return actionForm(
    "password-form",
    [
      field("Current password", passwordInput("current_password")),
      field("New password", h("input", { name: "new_password", ...newPasswordAttributes(policy) }), passwordHint(policy)),
    ],
    "Change password",
    async (values, form) => {
      const body = await ctx.api.post("/api/auth/password", {
        current_password: values.current_password,
        new_password: values.new_password,
      });
      form.reset();
      changed();
      return endedSessionsText(body?.other_sessions_ended);
    },
  );
}

function render(root, ctx, me) {
  const address = h("p", { class: "muted", id: "current-email" }, "Signed in as ", h("strong", {}, me.email));
  const pending = me.pending_email ? h("p", { class: "notice" }, pendingText(me.pending_email)) : null;
  const sessions = sessionsPanel(ctx);
  replace(
    root,
    h("header", { class: "view-head" }, h("h1", {}, "Account")),
    h(
      "div",
      { class: "account-grid" },
      panel("account-name", "Name", nameForm(ctx, me)),
      panel("account-email", "Email address", address, pending, emailForm(ctx, me)),
      panel("account-password", "Password", passwordForm(ctx, () => sessions.load())),
    ),
    sessions.element,
    dangerPanel(ctx),
  );
  return sessions;
}

export default {
  id: "account",
  title: "Account",
  mount(root, ctx) {
    let alive = true;
    let sessions = null;
    replace(root, stateLine("loading", "Loading your account…"));
    // Read afresh: the shell's copy predates a confirmed address change or a pending one.
    ctx.api
      .get("/api/auth/me")
      .then((me) => {
        if (!alive) return;
        sessions = render(root, ctx, { ...ctx.user, ...me });
        sessions.load();
      })
      .catch((error) => alive && replace(root, errorBox(error)));
    return () => {
      alive = false;
      sessions?.stop();
    };
  },
};
