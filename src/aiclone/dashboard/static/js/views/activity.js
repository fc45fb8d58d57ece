// @ts-check
// Home: the live activity feed and the notifications.
//
// The feed is loaded once from /api/activities, then grows from `activity` events on the stream.
// Items are keyed by activity id, so an item that is both in the first page and delivered live
// (it committed between the two) shows once. A `reset` frame (the resume point was pruned)
// reloads the list.

import { errorBox, h, replace, stateLine } from "../dom.js";
import { dateTime, relativeTime } from "../format.js";

const PAGE = 30;
const MAX_ITEMS = 300;

function activityItem(item) {
  return h(
    "li",
    { class: "feed-item", dataset: { id: item.id, type: item.type, seq: item.source_seq ?? "" } },
    h("span", { class: ["feed-type", `type-${item.type}`] }, item.type.replaceAll("_", " ")),
    h("div", { class: "feed-body" }, h("strong", { class: "feed-title" }, item.title), item.message ? h("p", {}, item.message) : null),
    h("time", { datetime: item.created_at, title: dateTime(item.created_at) }, relativeTime(item.created_at)),
  );
}

function notificationItem(item, onRead) {
  const read = h("button", { type: "button", class: "ghost small", disabled: item.read }, item.read ? "Read" : "Mark read");
  read.addEventListener("click", () => onRead(item, read));
  return h(
    "li",
    { class: ["notification", item.read ? "is-read" : "is-unread", `level-${item.level}`], dataset: { id: item.id } },
    h("div", {}, h("strong", {}, item.title), item.body ? h("p", {}, item.body) : null,
      h("time", { datetime: item.created_at, title: dateTime(item.created_at) }, relativeTime(item.created_at))),
    read,
  );
}

export default {
  id: "activity",
  title: "Activity",
  mount(root, { api, live, setUnread, toast }) {
    const feed = h("ol", { class: "feed", id: "activity-feed", "aria-live": "polite" });
    const feedState = h("div", {}, stateLine("loading", "Loading activity…"));
    const more = h("button", { type: "button", class: "ghost", hidden: true }, "Older activity");
    const notes = h("ul", { class: "notifications", id: "notifications" });
    const notesState = h("div", {}, stateLine("loading", "Loading notifications…"));
    const readAll = h("button", { type: "button", class: "ghost small" }, "Mark all read");
    replace(
      root,
      h("div", { class: "columns" },
        h("section", { class: "panel", "aria-labelledby": "feed-title" },
          h("header", { class: "panel-head" }, h("h2", { id: "feed-title" }, "Live activity")),
          feedState, feed, more),
        h("section", { class: "panel", "aria-labelledby": "notes-title" },
          h("header", { class: "panel-head" }, h("h2", { id: "notes-title" }, "Notifications"), readAll),
          notesState, notes)),
    );

    const seen = new Set();
    let cursor = null;
    let alive = true;

    const showEmpty = () => {
      replace(feedState, seen.size ? null : stateLine("empty", "Nothing has happened yet. Add a prospect or start a research task, and it shows up here at once."));
    };
    const add = (item, { atTop }) => {
      if (seen.has(item.id)) return;
      seen.add(item.id);
      const node = activityItem(item);
      if (atTop) feed.prepend(node);
      else feed.append(node);
      while (feed.children.length > MAX_ITEMS) feed.lastElementChild.remove();
    };
    const loadFeed = async (reset = false) => {
      if (reset) {
        seen.clear();
        replace(feed);
        cursor = null;
      }
      try {
        const page = await api.get("/api/activities", { limit: PAGE, cursor });
        if (!alive) return;
        page.items.forEach((item) => add(item, { atTop: false }));
        cursor = page.next_cursor;
        more.hidden = !cursor;
        showEmpty();
      } catch (error) {
        if (alive) replace(feedState, errorBox(error));
      }
    };
    more.addEventListener("click", () => loadFeed());

    const loadNotes = async () => {
      try {
        const page = await api.get("/api/notifications", { limit: 20 });
        if (!alive) return;
        replace(notes, page.items.map((item) => notificationItem(item, markRead)));
        replace(notesState, page.items.length ? null : stateLine("empty", "No notifications."));
      } catch (error) {
        if (alive) replace(notesState, errorBox(error));
      }
    };
    const markRead = async (item, button) => {
      button.disabled = true;
      try {
        await api.post(`/api/notifications/${item.id}/read`);
      } catch (error) {
        button.disabled = false;
        toast(error.detail || error.title, "error");
      }
    };
    readAll.addEventListener("click", async () => {
      try {
        const result = await api.post("/api/notifications/read", { all: true });
        setUnread(result.unread);
      } catch (error) {
        toast(error.detail || error.title, "error");
      }
    });

    const unsubscribe = [
      live.on("activity", (event) => {
        if (event.ephemeral) return;
        add(event.data, { atTop: true });
        showEmpty();
      }),
      live.on("notification", (event) => {
        if (event.ephemeral) return;
        const data = event.data;
        if (data.action === "created" && data.notification) {
          if (!notes.querySelector(`[data-id="${CSS.escape(data.notification.id)}"]`)) {
            notes.prepend(notificationItem(data.notification, markRead));
            replace(notesState);
          }
        } else if (data.action === "read") {
          const ids = data.ids ?? null;
          for (const node of /** @type {NodeListOf<HTMLElement>} */ (notes.querySelectorAll(".notification.is-unread"))) {
            if (ids === null || ids.includes(node.dataset.id)) {
              node.classList.replace("is-unread", "is-read");
              const button = /** @type {HTMLButtonElement} */ (node.querySelector("button"));
              button.disabled = true;
              button.textContent = "Read";
            }
          }
        }
      }),
      live.on("reset", () => {
        loadFeed(true);
        loadNotes();
      }),
    ];

    loadFeed();
    loadNotes();
    return () => {
      alive = false;
      unsubscribe.forEach((stop) => stop());
    };
  },
};
