// @ts-check
// Prospects: a filtered, sorted, keyset-paged table with add/edit, approve/reject and delete.
//
// Paging keeps a stack of cursors: page n is fetched with the `next_cursor` that ended page n-1,
// so "Next" continues strictly after the last row shown (no duplicate, no gap) and "Previous"
// re-reads the page before with the cursor it was first read with.
//
// Live changes: `prospect_updated` updates (or, when it no longer matches the filters or was
// deleted, removes) a row that is on screen. A `prospect_added` that matches the filters is
// put at the top when the table shows the first page newest first (where it belongs); in any
// other order or page it is counted in a "N new prospects — show" bar instead, so the page
// the user is reading never shifts under them. A `reset` frame reloads the page.
//
// The view is three modules: prospects/state.js (what the page holds, and the pure rules),
// prospects/render.js (the DOM) and prospects/actions.js (requests and what they change).

import { createState } from "./prospects/state.js";
import { layout } from "./prospects/render.js";
import { addLive, applyUpdate, load, wireControls } from "./prospects/actions.js";

export {
  FORM_FIELDS,
  PAGE_SIZES,
  SORTS,
  formFieldOf,
  listQuery,
  localDayStart,
  matchesFilters,
  parseTags,
  placementOf,
  prospectPayload,
} from "./prospects/state.js";

export default {
  id: "prospects",
  title: "Prospects",
  adminOnly: false,
  /**
   * @param {HTMLElement} root
   * @param {{ api: import("../api.js").Api, live: any, toast: (message: string, kind?: string) => void }} services
   */
  mount(root, { api, live, toast }) {
    const state = createState();
    const ui = layout(root, state);
    /** @type {import("./prospects/actions.js").ProspectsContext} */
    const ctx = { api, live, toast, state, ui };
    wireControls(ctx);
    const unsubscribe = [
      live.on("prospect_added", (/** @type {any} */ event) => {
        if (!event.ephemeral && event.data?.id) addLive(ctx, event.data);
      }),
      live.on("prospect_updated", (/** @type {any} */ event) => {
        if (!event.ephemeral && event.data?.id) applyUpdate(ctx, event.data);
      }),
      live.on("reset", () => load(ctx)),
    ];

    load(ctx);
    return () => {
      state.alive = false;
      unsubscribe.forEach((stop) => stop());
      state.dialog?.close();
    };
  },
};
