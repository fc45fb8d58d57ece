// @ts-check
// The dashboard shell: the signed-out screens (auth.js), navigation between views (hash routes), the connection light,
// the notification count and toasts. Each view is a module exporting
// `{ id, title, adminOnly?, mount(root, ctx) -> cleanup }` (see views/).

import { Api, ApiError } from "./api.js";
import { createAuth } from "./auth.js";
import { errorBox, h, replace, stateLine } from "./dom.js";
import { LIGHT_LABELS, Live } from "./live.js";
import { mailedLink } from "./mail-links.js";
import account from "./views/account.js";
import activity from "./views/activity.js";
import admin from "./views/admin.js";
import analytics from "./views/analytics.js";
import apiKeys from "./views/api-keys.js";
import automations from "./views/automations.js";
import outreach from "./views/outreach.js";
import prospects from "./views/prospects.js";
import research from "./views/research.js";
import webhooks from "./views/webhooks.js";

const VIEWS = [activity, prospects, research, outreach, automations, analytics, webhooks, apiKeys, account, admin];
const app = document.getElementById("app");
const toasts = document.getElementById("toasts");
const api = new Api();

function toast(message, kind = "info") {
  const item = h("div", { class: ["toast", `toast-${kind}`], role: kind === "error" ? "alert" : "status" }, message);
  toasts.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// ---------------------------------------------------------------- signed out

const auth = createAuth({ app, api, onSignedIn: () => startSession() });

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
    h("a", { href: "#/account", class: "who", id: "who" }, user.full_name),
    signOut,
  );
  replace(app, header, h("div", { class: "layout" }, nav, main));

  const setUnread = (count) => {
    const value = Math.max(0, Number(count) || 0);
    unread.textContent = String(value);
    unread.dataset.count = String(value);
  };
  const ctx = {
    api,
    live,
    user,
    toast,
    setUnread,
    navigate: (hash) => (location.hash = hash),
    // The session ended on purpose (signed out everywhere, account deleted): say why.
    endSession: (notice) => {
      end(notice);
      api.forget();
    },
    renamed: (name) => {
      user.full_name = name;
      header.querySelector("#who").textContent = name;
    },
  };

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
    auth.signin(notice);
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
  let notice = null;
  const link = mailedLink(location.hash);
  if (link) {
    notice = await auth.followMailedLink(link);
    if (notice === null) return; // the new-password form is showing
  }
  try {
    if (await api.renew()) {
      await startSession();
      if (notice) toast(notice.text, notice.kind);
      return;
    }
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 0) console.error(error);
  }
  if (notice) auth.signin(notice.text);
  else if (location.hash === "#signup") auth.signup();
  else if (location.hash === "#forgot-password") auth.forgot();
  else auth.signin();
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

// A mailed link opened in a tab that already shows the page changes only the fragment: start over,
// so the link is handled exactly as on a fresh load.
window.addEventListener("hashchange", () => {
  if (mailedLink(location.hash)) location.reload();
});

boot();
