// @ts-check
// Admin: who is connected (every instance's open event streams), the accounts (with their
// actions, admin-users.js), and a broadcast notification to every active user.
//
// The shell lists this view only for admins; the view still checks, and a 403 from any of its
// calls (a role taken away meanwhile) replaces the page with a readable refusal. The overview
// refreshes every 10 s while the page is visible, and on the Refresh button.

import { busy, errorBox, field, h, modal, replace, select, stateLine } from "../dom.js";
import { dateTime, number, relativeTime } from "../format.js";
import { refusalText, userActions } from "./admin-users.js";

const STATUS_EVERY_MS = 10_000;
const USER_PAGE = 50;
const LEVELS = ["info", "success", "warning", "error"];

// ---------------------------------------------------------------- pure helpers (unit-tested)

/** The overview's headline figures as [key, label, value] rows. */
export function statusFigures(status) {
  const cluster = status.cluster;
  const rows = [];
  if (cluster) {
    rows.push(["total_streams", "Open streams", number(cluster.total_streams)]);
    rows.push(["users_online", "Users connected", number(cluster.users_online)]);
    rows.push(["instances", "Live instances", number(cluster.instances.length)]);
  }
  rows.push(["own_streams", "Your streams", `${number(status.streams)} of ${number(status.max_streams)}`]);
  rows.push(["answered_by", "Answered by", status.instance_id]);
  return rows;
}

/** The broadcast request from the form's values: trimmed, an empty link left out. */
export function broadcastRequest(values) {
  const request = {
    title: String(values.title ?? "").trim(),
    body: String(values.body ?? "").trim(),
    level: LEVELS.includes(values.level) ? values.level : "info",
  };
  const link = String(values.link ?? "").trim();
  if (link) request.link = link;
  return request;
}

/** A user id shown as the account's email when it is known. */
export function userLabel(userId, usersById) {
  const user = usersById.get(String(userId));
  return user ? `${user.email}` : String(userId);
}

// ---------------------------------------------------------------- the view

function forbidden() {
  return h(
    "section",
    { class: "panel", id: "admin-forbidden" },
    h("h1", {}, "Admin"),
    stateLine("error", "This page is for administrators. Your account does not have the admin role; ask an administrator if you need it."),
    h("p", {}, h("a", { href: "#/activity" }, "Back to your activity")),
  );
}

function table(headers, rows, attrs = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h("table", attrs, h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))), h("tbody", {}, rows)),
  );
}

/**
 * What the panels share.
 * @typedef {object} AdminContext
 * @property {import("../api.js").Api} api
 * @property {(message: string, kind?: string) => void} toast
 * @property {boolean} alive false once the view is unmounted, or replaced by the refusal
 * @property {(error: any) => boolean} refuse shows the refusal once on a 403; true when it did
 * @property {Map<string, any>} usersById the users read so far, so the overview can name them
 */

/**
 * Live connections: the figures, the instances and the users with open streams.
 * @param {AdminContext} ctx
 */
function statusSection(ctx) {
  const updated = h("span", { class: "muted updated", "aria-live": "polite" });
  const refreshButton = h("button", { type: "button", class: "ghost small", id: "status-refresh" }, "Refresh");
  const statusBody = h("div", { id: "status-body" }, stateLine("loading", "Loading the overview…"));
  const statusPanel = h(
    "section",
    { class: "panel", id: "admin-status", "aria-labelledby": "status-title" },
    h("header", { class: "panel-head" }, h("h2", { id: "status-title" }, "Live connections"), h("div", { class: "actions" }, updated, refreshButton)),
    statusBody,
  );

  const renderStatus = (status) => {
    const cluster = status.cluster;
    const figures = h(
      "dl",
      { class: "figures" },
      statusFigures(status).map(([key, label, value]) => h("div", { class: "figure", dataset: { key } }, h("dt", {}, label), h("dd", {}, value))),
    );
    if (!cluster) {
      replace(statusBody, figures, stateLine("empty", "Cluster figures are only shown to administrators."));
      return;
    }
    const instances = cluster.instances.map((item) =>
      h(
        "tr",
        { dataset: { instance: item.instance_id } },
        h("td", {}, h("code", {}, item.instance_id), item.instance_id === status.instance_id ? h("span", { class: "pill active" }, "this one") : null),
        h("td", {}, number(item.streams)),
        h("td", {}, number(item.users)),
        h("td", {}, h("time", { datetime: item.started_at, title: dateTime(item.started_at) }, relativeTime(item.started_at))),
        h("td", {}, h("time", { datetime: item.heartbeat_at, title: dateTime(item.heartbeat_at) }, relativeTime(item.heartbeat_at))),
      ),
    );
    const perUser = cluster.per_user.map((item) =>
      h("tr", { dataset: { user: item.user_id } }, h("td", {}, userLabel(item.user_id, ctx.usersById)), h("td", {}, number(item.streams))),
    );
    replace(
      statusBody,
      figures,
      h("h3", {}, "Instances"),
      instances.length ? table(["Instance", "Streams", "Users", "Started", "Last heartbeat"], instances, { id: "instances" }) : stateLine("empty", "No live instance reported in."),
      h("h3", {}, "Users with open streams"),
      perUser.length ? table(["User", "Streams"], perUser, { id: "per-user" }) : stateLine("empty", "Nobody is connected."),
      cluster.per_user_truncated ? h("p", { class: "muted" }, "Only the busiest users are listed.") : null,
    );
  };

  let loadingStatus = false;
  const loadStatus = async () => {
    if (loadingStatus) return;
    loadingStatus = true;
    try {
      const status = await ctx.api.get("/api/events/status");
      if (!ctx.alive) return;
      renderStatus(status);
      const now = new Date().toISOString();
      replace(updated, "Updated ", h("time", { datetime: now }, dateTime(now)));
    } catch (error) {
      if (ctx.alive && !ctx.refuse(error)) replace(statusBody, errorBox(error));
    } finally {
      loadingStatus = false;
    }
  };
  return { element: statusPanel, load: loadStatus, refreshButton };
}

/**
 * Every user, with a role filter and the actions on each.
 * @param {AdminContext} ctx
 */
function usersSection(ctx) {
  const roleFilter = select("role", [["", "All roles"], ["user", "Users"], ["admin", "Admins"]], "");
  roleFilter.setAttribute("aria-label", "Filter by role");
  const usersState = h("div", { id: "users-state" }, stateLine("loading", "Loading users…"));
  const usersBody = h("tbody", { id: "users" });
  const moreUsers = h("button", { type: "button", class: "ghost", hidden: true }, "More users");
  let usersCursor = null;
  const usersPanel = h(
    "section",
    { class: "panel", id: "admin-users", "aria-labelledby": "users-title" },
    h("header", { class: "panel-head" }, h("h2", { id: "users-title" }, "Users"), roleFilter),
    usersState,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "users" }, h("thead", {}, h("tr", {}, ["Email", "Name", "Role", "Active", "Created", "Actions"].map((text) => h("th", { scope: "col" }, text)))), usersBody),
    ),
    moreUsers,
  );
  const report = (error) =>
    replace(usersState, h("div", { id: "users-refusal" }, errorBox({ title: error?.status === 409 ? "Refused" : error?.title, detail: refusalText(error) })));
  const userRow = (item) => {
    const row = h(
      "tr",
      { dataset: { id: item.id, role: item.role, active: item.is_active ? "true" : "false" } },
      h("td", { class: "email" }, item.email),
      h("td", {}, item.full_name),
      h("td", {}, h("span", { class: ["pill", item.role === "admin" ? "warn" : null] }, item.role)),
      h("td", {}, item.is_active ? "yes" : h("span", { class: "pill disabled" }, "inactive")),
      h("td", {}, h("time", { datetime: item.created_at, title: dateTime(item.created_at) }, relativeTime(item.created_at))),
    );
    const actions = userActions(item, {
      api: ctx.api,
      toast: ctx.toast,
      refuse: ctx.refuse,
      report,
      replaceRow: (changed) => {
        ctx.usersById.set(String(changed.id), changed);
        replace(usersState);
        row.replaceWith(userRow(changed));
      },
      removeRow: () => {
        ctx.usersById.delete(String(item.id));
        replace(usersState);
        row.remove();
      },
    });
    row.appendChild(h("td", {}, actions));
    return row;
  };
  const loadUsers = async (reset = false) => {
    if (reset) {
      usersCursor = null;
      replace(usersBody);
    }
    try {
      const page = await ctx.api.get("/api/admin/users", { limit: USER_PAGE, cursor: usersCursor, role: roleFilter.value || null });
      if (!ctx.alive) return;
      page.items.forEach((item) => {
        ctx.usersById.set(String(item.id), item);
        usersBody.appendChild(userRow(item));
      });
      usersCursor = page.next_cursor;
      moreUsers.hidden = !usersCursor;
      replace(usersState, usersBody.children.length ? null : stateLine("empty", "No users match."));
    } catch (error) {
      if (ctx.alive && !ctx.refuse(error)) replace(usersState, errorBox(error));
    }
  };
  roleFilter.addEventListener("change", () => loadUsers(true));
  moreUsers.addEventListener("click", () => loadUsers());
  return { element: usersPanel, load: loadUsers };
}

/**
 * A notification to every active user, after a confirmation.
 * @param {AdminContext} ctx
 */
function broadcastSection(ctx) {
  const formErrors = h("div", { class: "form-errors" });
  const result = h("p", { id: "broadcast-result", class: "broadcast-result", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    { id: "broadcast-form", novalidate: true },
    formErrors,
    field("Title", h("input", { name: "title", required: true, maxlength: 200 })),
    field("Message", h("textarea", { name: "body", maxlength: 2000, rows: 3 })),
    h(
      "div",
      { class: "row" },
      field("Level", select("level", LEVELS.map((level) => [level, level]), "info")),
      field("Link", h("input", { name: "link", maxlength: 2048, placeholder: "https://… or #/activity" }), "Optional."),
    ),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Send to everyone…")),
    result,
  );
  const broadcastPanel = h(
    "section",
    { class: "panel", id: "admin-broadcast", "aria-labelledby": "broadcast-title" },
    h("h2", { id: "broadcast-title" }, "Broadcast a notification"),
    h("p", { class: "muted" }, "Every active user gets it at once, or when they next connect."),
    form,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    replace(formErrors);
    const request = broadcastRequest(Object.fromEntries(new FormData(form).entries()));
    if (!request.title) {
      replace(formErrors, errorBox({ title: "The notification needs a title.", errors: [{ field: "title", message: "required" }] }));
      /** @type {HTMLElement} */ (form.querySelector("[name=title]")).focus();
      return;
    }
    const confirm = h("button", { type: "button", class: "primary", id: "broadcast-confirm" }, "Send");
    const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
    const dialog = modal(
      "Send to every user?",
      h(
        "div",
        {},
        h("p", {}, "This notifies every active user. It cannot be taken back."),
        h("p", { class: "broadcast-preview" }, h("span", { class: ["pill", request.level] }, request.level), " ", h("strong", {}, request.title)),
        request.body ? h("p", { class: "muted" }, request.body) : null,
        h("div", { class: "actions" }, confirm, cancel),
      ),
    );
    cancel.addEventListener("click", dialog.close);
    confirm.addEventListener("click", async () => {
      dialog.close();
      try {
        const sent = await busy(form, () => ctx.api.post("/api/events/broadcast", request));
        if (!ctx.alive) return;
        result.className = "broadcast-result sent";
        result.textContent = `Sent to ${number(sent.recipients)} ${sent.recipients === 1 ? "user" : "users"}.`;
        ctx.toast("Broadcast sent.", "success");
        form.reset();
      } catch (error) {
        if (ctx.alive && !ctx.refuse(error)) replace(formErrors, errorBox(error));
      }
    });
    confirm.focus();
  });
  return { element: broadcastPanel };
}

export default {
  id: "admin",
  title: "Admin",
  adminOnly: true,
  /**
   * @param {HTMLElement} root
   * @param {{ api: import("../api.js").Api, user: any, toast: (message: string, kind?: string) => void }} services
   */
  mount(root, { api, user, toast }) {
    if (user?.role !== "admin") {
      replace(root, forbidden());
      return null;
    }
    let refusedOnce = false;
    /** @type {AdminContext} */
    const ctx = {
      api,
      toast,
      alive: true,
      usersById: new Map(),
      refuse: (error) => {
        if (error?.status !== 403 || refusedOnce) return false;
        refusedOnce = true;
        ctx.alive = false;
        clearInterval(timer);
        replace(root, forbidden());
        return true;
      },
    };
    const status = statusSection(ctx);
    const users = usersSection(ctx);
    const broadcast = broadcastSection(ctx);
    replace(
      root,
      h("header", { class: "view-head" }, h("h1", {}, "Admin")),
      status.element,
      h("div", { class: "columns" }, users.element, broadcast.element),
    );

    status.refreshButton.addEventListener("click", () => status.load());
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") status.load();
    }, STATUS_EVERY_MS);
    // Users first, so the overview can name them.
    users.load().then(() => status.load());
    return () => {
      ctx.alive = false;
      clearInterval(timer);
    };
  },
};
