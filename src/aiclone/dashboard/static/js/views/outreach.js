// @ts-check
// Outreach: the user's messages, newest first, and "Draft with AI" for a prospect.
//
// The list is read from /api/outreach and kept current with `outreach_updated` events (created,
// updated, deleted). A route `#/outreach/<id>` opens that message (the link a finished draft
// gives). Drafting streams the text as the model writes it (see ../drafting.js).

import { draftForm, draftPanel, outreachText } from "../drafting.js";
import { errorBox, h, replace, select, stateLine } from "../dom.js";
import { dateTime, relativeTime } from "../format.js";

const PAGE = 50;

/** The message id a route names (`#/outreach/<id>`), or null. */
export function routedId(hash) {
  const part = String(hash ?? "").replace(/^#\/?/, "").split("/")[1] ?? "";
  return /^[0-9a-f-]{36}$/i.test(part) ? part.toLowerCase() : null;
}

export default {
  id: "outreach",
  title: "Outreach",
  adminOnly: false,
  mount(root, { api, live }) {
    let alive = true;
    const names = new Map(); // prospect id -> label
    const items = new Map(); // message id -> li
    const wanted = routedId(location.hash);

    const prospects = select("prospect_id", [["", "Choose a prospect…"]], "");
    prospects.id = "outreach-draft-prospect";
    const panel = draftPanel({
        live,
        linkTo: (id) => `#/outreach/${id}`,
        loadSaved: async (id) => outreachText(await api.get(`/api/outreach/${id}`)),
        idPrefix: "outreach-draft",
      });
    const form = draftForm({
      api,
      prospects,
      prospectId: () => prospects.value,
      onQueued: (task) => panel.start(task),
      idPrefix: "outreach-draft",
    });
    const listEl = h("ul", { class: "outreach-list", id: "outreach-list" });
    const listState = h("div", { id: "outreach-state" }, stateLine("loading", "Loading outreach…"));

    replace(
      root,
      h("div", { class: "columns outreach-columns" },
        h("section", { class: "panel", "aria-labelledby": "outreach-draft-title" },
          h("header", { class: "panel-head" }, h("h2", { id: "outreach-draft-title" }, "Draft with AI")),
          form, panel.element),
        h("section", { class: "panel", "aria-labelledby": "outreach-list-title" },
          h("header", { class: "panel-head" }, h("h2", { id: "outreach-list-title" }, "Messages")),
          listState, listEl)),
    );

    const itemOf = (message) =>
      h("li", { class: ["outreach-item", message.id === wanted ? "is-open" : null], id: `outreach-${message.id}`, dataset: { id: message.id, status: message.status } },
        h("div", { class: "task-head" },
          h("strong", { class: "outreach-subject" }, message.subject || "(no subject)"),
          h("span", { class: ["pill", message.status] }, message.status)),
        h("p", { class: "muted outreach-meta" },
          `${message.channel} · to ${names.get(message.prospect_id) ?? "a prospect"} · `,
          h("time", { datetime: message.created_at, title: dateTime(message.created_at) }, relativeTime(message.created_at))),
        h("pre", { class: "outreach-body" }, message.body));

    const put = (message, atTop) => {
      const li = itemOf(message);
      const known = items.get(message.id);
      if (known) known.replaceWith(li);
      else if (atTop) listEl.prepend(li);
      else listEl.append(li);
      items.set(message.id, li);
      replace(listState);
      if (message.id === wanted) li.scrollIntoView?.({ block: "nearest" });
    };
    const showEmpty = () => {
      if (!items.size) replace(listState, stateLine("empty", "No outreach yet. Draft a message with AI above."));
    };

    const load = async () => {
      try {
        const [people, page] = await Promise.all([
          api.get("/api/prospects", { sort: "name", order: "asc", limit: 200 }),
          api.get("/api/outreach", { limit: PAGE }),
        ]);
        if (!alive) return;
        for (const item of people.items) names.set(item.id, item.company ? `${item.name} (${item.company})` : item.name);
        replace(prospects, h("option", { value: "" }, "Choose a prospect…"), people.items.map((item) => h("option", { value: item.id }, names.get(item.id))));
        page.items.forEach((message) => put(message, false));
        showEmpty();
      } catch (error) {
        if (alive) replace(listState, errorBox(error));
      }
    };

    const unsubscribe = [
      live.on("outreach_updated", (event) => {
        const data = event.data;
        if (event.ephemeral || !data?.id) return;
        if (data.action === "deleted") {
          items.get(data.id)?.remove();
          items.delete(data.id);
          showEmpty();
        } else put(data, data.action === "created");
      }),
      live.on("reset", () => {
        items.clear();
        replace(listEl);
        load();
      }),
    ];
    load();
    return () => {
      alive = false;
      panel.stop();
      unsubscribe.forEach((stop) => stop());
    };
  },
};
