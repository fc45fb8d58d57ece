// @ts-check
// The signed-out screens: sign in, sign up, a forgotten password, and the pages a mailed link
// opens (a new password, a confirmed address). Each screen is one form built by `authForm`;
// `createAuth` wires them to the API and hands a signed-in session back to the shell.

import { errorBox, field, h, handleSubmit, replace } from "./dom.js";
import { confirmedNotice, isNotVerified } from "./mail-links.js";
import { newPasswordAttributes, pagePolicy, passwordHint } from "./policy.js";

const TITLES = {
  signin: "Sign in",
  signup: "Create your account",
  forgot: "Reset your password",
  reset: "Choose a new password",
};

function emailInput(value = "") {
  return h("input", { name: "email", type: "email", autocomplete: "email", required: true, maxlength: 254, value });
}

function switchLink(href, label, go) {
  return h("a", { href, on: { click: (event) => { event.preventDefault(); go(); } } }, label);
}

/**
 * One signed-out form: a title, an optional notice, fields, a submit button and a footer.
 * @param {object} form
 * @param {string} form.id
 * @param {string} form.title
 * @param {import("./dom.js").Child} [form.notice]
 * @param {import("./dom.js").Child} form.fields
 * @param {string} form.submit
 * @param {import("./dom.js").Child} form.footer
 * @param {(values: Record<string, string>, boxes: { errors: HTMLElement, noticeBox: HTMLElement }) => Promise<unknown>} form.onSubmit
 */
function authForm({ id, title, notice, fields, submit, footer, onSubmit }) {
  const errors = h("div", { class: "form-errors" });
  const noticeBox = h("div", { class: "auth-notice", "aria-live": "polite" }, notice ?? null);
  const form = h(
    "form",
    { class: "auth-form", id, "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title" }, title),
    noticeBox,
    errors,
    fields,
    h("button", { type: "submit", class: "primary" }, submit),
    footer,
  );
  handleSubmit(form, errors, (values) => onSubmit(values, { errors, noticeBox }));
  return form;
}

function noticeLine(text, kind = "info") {
  return h("p", { class: ["notice", `notice-${kind}`], role: "status" }, text);
}

// Sign-in refused until the address is confirmed: say so, and offer a new link.
function showNotVerified(api, email, noticeBox) {
  const resend = h("button", { type: "button", class: "ghost small", id: "resend-verification" }, "Send the link again");
  const sent = h("span", { class: "muted", role: "status" });
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      const body = await api.publicPost("/api/auth/verify-email/resend", { email });
      sent.textContent = ` ${body?.detail ?? "A new link is on its way."}`;
    } catch (error) {
      replace(sent, errorBox(error));
      resend.disabled = false;
    }
  });
  replace(
    noticeBox,
    h(
      "div",
      { class: "notice notice-warn", id: "verify-notice", role: "status" },
      h("p", {}, `Please confirm your address first: follow the link we mailed to ${email}.`),
      h("p", {}, resend, sent),
    ),
  );
}

export function createAuth({ app, api, onSignedIn }) {
  const policy = pagePolicy();

  const show = (mode, form, hash) => {
    replace(app, h("main", { id: "main", class: "auth" }, form));
    if (hash !== undefined) history.replaceState(null, "", hash || location.pathname + location.search);
    document.title = `${TITLES[mode]} · aiclone`;
    form.querySelector("input")?.focus();
  };

  const signIn = async (email, password, noticeBox) => {
    try {
      await api.signIn(email, password);
    } catch (error) {
      if (!isNotVerified(error)) throw error;
      showNotVerified(api, email, noticeBox);
      return;
    }
    await onSignedIn();
  };

  const signin = (notice = "") =>
    show(
      "signin",
      authForm({
        id: "signin-form",
        title: "Sign in to aiclone",
        notice: notice ? noticeLine(notice) : null,
        fields: [
          field("Email", emailInput()),
          field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, maxlength: 1024 })),
        ],
        submit: "Sign in",
        footer: [
          h("p", {}, switchLink("#forgot-password", "Forgot password?", () => forgot())),
          h("p", {}, "New here? ", switchLink("#signup", "Create an account", () => signup())),
        ],
        onSubmit: (values, { noticeBox }) => signIn(values.email, values.password, noticeBox),
      }),
      "#signin",
    );

  const signup = () =>
    show(
      "signup",
      authForm({
        id: "signup-form",
        title: "Create your account",
        fields: [
          field("Full name", h("input", { name: "full_name", autocomplete: "name", required: true, maxlength: 200 })),
          field("Email", emailInput()),
          field("Password", h("input", { name: "password", ...newPasswordAttributes(policy) }), passwordHint(policy)),
        ],
        submit: "Create account",
        footer: h("p", {}, "Already have an account? ", switchLink("#signin", "Sign in", () => signin())),
        onSubmit: async (values, { noticeBox }) => {
          await api.register(values.email, values.password, values.full_name);
          await signIn(values.email, values.password, noticeBox);
        },
      }),
      "#signup",
    );

  const forgot = () =>
    show(
      "forgot",
      authForm({
        id: "forgot-form",
        title: "Reset your password",
        notice: h("p", { class: "muted" }, "We will mail you a link to choose a new password."),
        fields: field("Email", emailInput()),
        submit: "Send the link",
        footer: h("p", {}, switchLink("#signin", "Back to sign in", () => signin())),
        onSubmit: async (values, { noticeBox }) => {
          const body = await api.publicPost("/api/auth/password-reset", { email: values.email });
          replace(
            noticeBox,
            h(
              "div",
              { class: "notice notice-good", id: "check-mail", role: "status" },
              h("strong", {}, "Check your mail. "),
              body?.detail ?? "If an account uses this address, a link is on its way.",
            ),
          );
        },
      }),
      "#forgot-password",
    );

  const reset = (token) =>
    show(
      "reset",
      authForm({
        id: "reset-form",
        title: "Choose a new password",
        fields: field("New password", h("input", { name: "new_password", ...newPasswordAttributes(policy) }), passwordHint(policy)),
        submit: "Set the password",
        footer: h("p", {}, switchLink("#signin", "Back to sign in", () => signin())),
        onSubmit: async (values) => {
          await api.publicPost("/api/auth/password-reset/confirm", { token, new_password: values.new_password });
          signin("Your password is changed, and every session signed out. Sign in with the new password.");
        },
      }),
      "",
    );

  /** Acts on a mailed link; returns the notice to show next, or null when a form took over. */
  const followMailedLink = async ({ action, token }) => {
    history.replaceState(null, "", location.pathname + location.search);
    if (action === "reset-password") {
      reset(token);
      return null;
    }
    try {
      return { text: confirmedNotice(action, await api.publicPost("/api/auth/verify-email", { token })), kind: "success" };
    } catch (error) {
      return { text: `${error.title}. ${error.detail || ""}`.trim(), kind: "error" };
    }
  };

  return { signin, signup, forgot, reset, followMailedLink };
}
