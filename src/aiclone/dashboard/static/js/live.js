// @ts-check
// The page's one live connection: our EventStream client (compiled from clients/typescript) with
// single-use tickets, so no long-lived token ever appears in a URL. Views subscribe by event type.
//
// Connection light: "connected" while a stream is open; "reconnecting" right after it drops;
// "offline" once a reconnect attempt has failed (the server is unreachable) or the browser
// reports no network. The client resumes from the last delivered seq (no gap) and drops
// anything at or below it (no duplicate).

import { EventStream } from "./vendor/eventStream.js";

export const LIGHT_LABELS = {
  connected: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

/** Maps the client's status to the light: pure, so it can be unit-tested. */
export function lightOf(status, info = {}, online = true) {
  if (status === "open") return "connected";
  if (!online || status === "closed") return "offline";
  if (info.reason === "ticket_failed" || info.reason === "connect_failed" || (info.attempt ?? 0) >= 2) {
    return "offline";
  }
  return "reconnecting";
}

export class Live {
  constructor(api) {
    this.api = api;
    this.stream = null;
    this.listeners = new Map(); // type -> Set of listeners; "*" receives everything
    this.lightListeners = new Set();
    this.light = "reconnecting";
    this.connection = null;
    this.onOnline = () => this.updateLight(this.stream?.status ?? "connecting", {});
    this.onOffline = () => this.updateLight(this.stream?.status ?? "connecting", {});
  }

  start() {
    if (this.stream) return;
    const stream = new EventStream({
      url: "/api/events",
      getTicket: async () => (await this.api.post("/api/events/ticket")).ticket,
      backoff: { initialMs: 500, maxMs: 8000 },
      onError: (error) => console.debug("event stream:", error),
    });
    this.stream = stream;
    stream.onStatus((status, info) => this.updateLight(status, info));
    stream.subscribe((event) => this.dispatch(event));
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    stream.start();
  }

  stop() {
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.stream?.close();
    this.stream = null;
  }

  /** The last delivered persisted event's seq (for tests and diagnostics). */
  get lastEventId() {
    return this.stream?.lastEventId ?? null;
  }

  updateLight(status, info) {
    const light = lightOf(status, info, navigator.onLine);
    if (light === this.light) return;
    this.light = light;
    this.lightListeners.forEach((listener) => listener(light));
  }

  onLight(listener) {
    this.lightListeners.add(listener);
    listener(this.light);
    return () => this.lightListeners.delete(listener);
  }

  /**
   * Subscribes to one event type ("prospect_added", …), to the stream's own frames
   * ("connection", "reset"), or to "*". Returns the unsubscribe function.
   */
  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(listener);
    return () => this.listeners.get(type)?.delete(listener);
  }

  dispatch(event) {
    if (event.type === "connection") this.connection = event.data;
    for (const key of [event.type, "*"]) {
      for (const listener of this.listeners.get(key) ?? []) {
        try {
          listener(event);
        } catch (error) {
          console.error("event listener failed", error);
        }
      }
    }
  }
}
