// The dashboard shell: sign-in, navigation between views (hash routes), the connection light,
// the notification count and toasts. Each view is a module exporting
// `{ id, title, adminOnly?, mount(root, ctx) -> cleanup }` (see views/).

import { Api, ApiError } from "./api.js";
import { busy, errorBox, field, formValues, h, replace, stateLine } from "./dom.js";
import { LIGHT_LABELS, Live } from "./live.js";
import activity from "./views/activity.js";
import admin from "./views/admin.js";
import analytics from "./views/analytics.js";
import automations from "./views/automations.js";
import prospects from "./views/prospects.js";
import research from "./views/research.js";
import webhooks from "./views/webhooks.js";

const VIEWS = [activity, prospects, research, automations, analytics, webhooks, admin];
const app = document.getElementById("app");
const toasts = document.getElementById("toasts");
const api = new Api();

function toast(message, kind = "info") {
  const item = h("div", { class: ["toast", `toast-${kind}`], role: kind === "error" ? "alert" : "status" }, message);
  toasts.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// ---------------------------------------------------------------- signed out

function authScreen(mode = "signin", notice = "") {
  const signingUp = mode === "signup";
  const errors = h("div", { class: "form-errors" });
  const email = h("input", { name: "email", type: "email", autocomplete: "email", required: true, maxlength: 254 });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: signingUp ? "new-password" : "current-password",
    required: true,
    maxlength: 1024,
  });
  const fullName = h("input", { name: "full_name", autocomplete: "name", required: true, maxlength: 200 });
  const form = h(
    "form",
    { class: "auth-form", "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title" }, signingUp ? "Create your account" : "Sign in to aiclone"),
    notice ? h("p", { class: "notice" }, notice) : null,
    errors,
    signingUp ? field("Full name", fullName) : null,
    field("Email", email),
    field("Password", password, signingUp ? "At least 12 characters." : null),
    h("button", { type: "submit", class: "primary" }, signingUp ? "Create account" : "Sign in"),
    h(
      "p",
      {},
      signingUp ? "Already have an account? " : "New here? ",
      h(
        "a",
        { href: signingUp ? "#signin" : "#signup", on: { click: (event) => {
          event.preventDefault();
          authScreen(signingUp ? "signin" : "signup");
        } } },
        signingUp ? "Sign in" : "Create an account",
      ),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    replace(errors);
    try {
      await busy(form, async () => {
        if (signingUp) await api.register(values.email, values.password, values.full_name);
        await api.signIn(values.email, values.password);
      });
      await startSession();
    } catch (error) {
      replace(errors, errorBox(error));
    }
  });
  replace(app, h("main", { id: "main", class: "auth" }, form));
  history.replaceState(null, "", signingUp ? "#signup" : "#signin");
  document.title = signingUp ? "Create your account · aiclone" : "Sign in · aiclone";
  (signingUp ? fullName : email).focus();
}

// ---------------------------------------------------------------- signed in

let session = null;

function navLink(view) {
  return h("a", { href: `#/${view.id}`, class: "nav-link", dataset: { view: view.id } }, view.title);
}

async function startSession() {
  let user;
  try {
    user = await api.get("/api/auth/me");
  } catch (error) {
    replace(app, h("main", { id: "main", class: "auth" }, errorBox(error)));
    return;
  }
  if (!location.hash.startsWith("#/")) history.replaceState(null, "", "#/activity");
  const live = new Live(api);
  const views = VIEWS.filter((view) => !view.adminOnly || user.role === "admin");
  const light = h("span", { class: "light", role: "status", "aria-live": "polite", dataset: { state: "reconnecting" } });
  const lightText = h("span", { class: "light-text" }, LIGHT_LABELS.reconnecting);
  const unread = h("span", { class: "badge", dataset: { count: "0" }, "aria-label": "Unread notifications" }, "0");
  const nav = h("nav", { class: "nav", "aria-label": "Sections" }, views.map(navLink));
  const main = h("main", { id: "main", class: "view", tabindex: "-1" });
  const signOut = h("button", { type: "button", class: "ghost", id: "sign-out" }, "Sign out");
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { href: "#/activity", class: "brand" }, "aiclone"),
    h("span", { class: "connection", id: "connection" }, light, lightText),
    h("a", { href: "#/activity", class: "bell", id: "unread", title: "Unread notifications" }, "Notifications ", unread),
    h("span", { class: "who" }, user.full_name),
    signOut,
  );
  replace(app, header, h("div", { class: "layout" }, nav, main));

  const setUnread = (count) => {
    const value = Math.max(0, Number(count) || 0);
    unread.textContent = String(value);
    unread.dataset.count = String(value);
  };
  const ctx = { api, live, user, toast, setUnread, navigate: (hash) => (location.hash = hash) };

  let cleanup = null;
  const route = () => {
    const id = location.hash.replace(/^#\/?/, "").split("/")[0] || "activity";
    const view = views.find((item) => item.id === id) ?? views[0];
    if (cleanup) {
      try {
        cleanup();
      } catch (error) {
        console.error(error);
      }
    }
    for (const link of nav.querySelectorAll("a")) {
      if (link.dataset.view === view.id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = `${view.title} · aiclone`;
    replace(main, stateLine("loading", "Loading…"));
    const root = h("section", { class: `view-${view.id}`, "aria-label": view.title });
    replace(main, root);
    try {
      cleanup = view.mount(root, ctx) ?? null;
    } catch (error) {
      cleanup = null;
      replace(root, errorBox(error));
    }
  };

  const stopLight = live.onLight((state) => {
    light.dataset.state = state;
    lightText.textContent = LIGHT_LABELS[state];
    document.body.dataset.connection = state;
  });
  const stopUnread = live.on("notification", (event) => {
    if (!event.ephemeral && event.data && "unread" in event.data) setUnread(event.data.unread);
    if (!event.ephemeral && event.data?.action === "created" && event.data.notification?.title) {
      toast(String(event.data.notification.title));
    }
  });
  api
    .get("/api/notifications/unread-count")
    .then((body) => setUnread(body.unread ?? body.count))
    .catch(() => {});

  const end = (notice) => {
    window.removeEventListener("hashchange", route);
    if (cleanup) cleanup();
    stopLight();
    stopUnread();
    live.stop();
    stopSignedOut();
    session = null;
    authScreen("signin", notice);
  };
  const stopSignedOut = api.onSignedOut(() => end("Your session has ended. Sign in again."));
  signOut.addEventListener("click", async () => {
    await api.signOut().catch(() => {});
  });
  window.addEventListener("hashchange", route);
  session = { live, user, end };
  live.start();
  route();
}

async function boot() {
  try {
    if (await api.renew()) {
      await startSession();
      return;
    }
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 0) console.error(error);
  }
  authScreen(location.hash === "#signup" ? "signup" : "signin");
}

// For the end-to-end tests and the curious: a read-only view of the live connection.
Object.defineProperty(window, "aiclone", {
  value: Object.freeze({
    get light() {
      return session?.live.light ?? null;
    },
    get lastEventId() {
      return session?.live.lastEventId ?? null;
    },
  }),
});

boot();
