// @ts-check
// Webhooks: the user's endpoints, their signing secrets and their delivery logs.
//
// The secret is shown once, right after create or rotate (the API never returns it again), with
// a copy button; when the clipboard is refused (no secure context, no permission) the secret is
// selected so the user can copy it by hand.
//
// Live: the API emits no event when a delivery is attempted. A delivery row is written in the
// same transaction as the event it carries, so any persisted event on the stream refreshes the
// open log at once; the attempts that follow (done by the worker) are picked up by polling the
// open log every few seconds while the page is visible. Nothing polls while no log is open, and
// everything stops on unmount.
//
// The view is three modules: webhooks/state.js (what the page holds, and the pure rules),
// webhooks/render.js (the DOM) and webhooks/actions.js (requests and what they change).

import { debounce } from "../format.js";
import { POLL_MS, createState, resetLog } from "./webhooks/state.js";
import { layout } from "./webhooks/render.js";
import { closeTheLog, createEndpoint, loadEndpoints, loadLog, loadTypes, refresh } from "./webhooks/actions.js";

export {
  displayUrl,
  endpointActions,
  endpointState,
  excerpt,
  flavourLabel,
  mergeDeliveries,
  normalizeTypes,
  outcomeText,
  recoverSince,
  toLocalInput,
  typesLabel,
} from "./webhooks/state.js";

export default {
  id: "webhooks",
  title: "Webhooks",
  adminOnly: false,
  /**
   * @param {HTMLElement} root
   * @param {{ api: import("../api.js").Api, live: any, toast: (message: string, kind?: string) => void }} services
   */
  mount(root, { api, live, toast }) {
    const state = createState();
    const ui = layout(root);
    /** @type {import("./webhooks/actions.js").WebhooksContext} */
    const ctx = { api, toast, state, ui, createPicker: null };

    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      createEndpoint(ctx);
    });
    const soon = debounce(() => refresh(ctx), 300);
    const timer = setInterval(() => {
      if (state.openId && document.visibilityState === "visible") refresh(ctx);
    }, POLL_MS);
    const onVisible = () => {
      if (document.visibilityState === "visible" && state.openId) refresh(ctx);
    };
    document.addEventListener("visibilitychange", onVisible);
    ui.statusFilter.addEventListener("change", () => {
      resetLog(state);
      loadLog(ctx);
    });
    ui.refreshButton.addEventListener("click", () => refresh(ctx));
    ui.closeLog.addEventListener("click", () => closeTheLog(ctx));
    ui.more.addEventListener("click", () => loadLog(ctx, { older: true }));

    const unsubscribe = [
      live.on("*", (/** @type {any} */ event) => {
        if (event.ephemeral || event.type === "connection") return;
        if (event.type === "reset") {
          refresh(ctx);
          return;
        }
        // A new event may have created deliveries (same transaction); a notification may say an
        // endpoint is failing or was disabled.
        if (state.openId || event.type === "notification") soon();
      }),
    ];

    loadTypes(ctx);
    loadEndpoints(ctx);
    return () => {
      state.alive = false;
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
      unsubscribe.forEach((stop) => stop());
    };
  },
};
