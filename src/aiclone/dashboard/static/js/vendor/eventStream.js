/**
 * EventStream: a typed, resumable client for aiclone's live event stream (`GET /api/events`,
 * Server-Sent Events), built on the browser's native `EventSource`. No dependencies.
 *
 * - Typed events: a discriminated union on `type` (see {@link StreamEvent}).
 * - Status: `connecting | open | reconnecting | closed`, with listeners.
 * - Resume: the last delivered `seq` is kept, and before any event the resume point of the
 *   `connection` frame (its id), so a stream cut before its first event loses nothing. While an
 *   `EventSource` lives, the browser resends it as `Last-Event-ID`; when this client opens a new
 *   `EventSource` (after the browser gave up, after a `close` frame, or in ticket mode after any
 *   error) it passes it as `last_event_id`.
 * - De-duplication: a persisted event whose id is not above the last delivered one is dropped.
 * - Credentials: `getTicket()` is awaited before every connect; its single-use ticket goes in the
 *   URL. Long-lived tokens never do. Without `getTicket`, the stream cookie (or same-origin
 *   session) is used and `withCredentials` may be set.
 * - Reconnects of its own use exponential backoff with jitter ({@link backoffDelay}).
 */
/** Names of persisted event types (and of ephemeral messages of those types). */
export const EVENT_TYPES = [
    "prospect_added",
    "prospect_updated",
    "research_completed",
    "task_update",
    "task_completed",
    "outreach_sent",
    "content_published",
    "content_updated",
    "outreach_updated",
    "automation_triggered",
    "activity",
    "notification",
];
export const DEFAULT_BACKOFF = Object.freeze({
    initialMs: 1000,
    maxMs: 30000,
    factor: 2,
    jitter: 0.5,
});
/**
 * The delay before own reconnect number `attempt` (0-based):
 * base b = min(maxMs, initialMs · factor^attempt), then a uniform draw in [b·(1−j), b·(1+j)].
 */
export function backoffDelay(attempt, policy = DEFAULT_BACKOFF, random = Math.random) {
    const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
    const j = Math.min(1, Math.max(0, policy.jitter));
    return Math.max(0, Math.round(base * (1 - j + 2 * j * random())));
}
const CLOSED = 2;
export class EventStream {
    constructor(options) {
        this.eventListeners = new Set();
        this.statusListeners = new Set();
        this.source = null;
        this.timer = null;
        this.generation = 0;
        this.attempt = 0;
        this.started = false;
        this.currentStatus = "connecting";
        this.options = options;
        this.policy = { ...DEFAULT_BACKOFF, ...options.backoff };
        this.random = options.random ?? Math.random;
        this.lastId = options.lastEventId ?? null;
        this.factory =
            options.eventSourceFactory ??
                ((url, init) => {
                    const ctor = globalThis.EventSource;
                    if (ctor === undefined)
                        throw new Error("EventSource is not available; pass eventSourceFactory");
                    return new ctor(url, init);
                });
    }
    /** The current connection status. */
    get status() {
        return this.currentStatus;
    }
    /** The id (`seq`) of the last persisted event delivered, or the resume point (given, or from the server). */
    get lastEventId() {
        return this.lastId;
    }
    /** Opens the stream (once; later calls do nothing). Returns `this`. */
    start() {
        if (this.started || this.currentStatus === "closed")
            return this;
        this.started = true;
        void this.connect();
        return this;
    }
    /** Receives every event; returns an unsubscribe function. */
    subscribe(listener) {
        this.eventListeners.add(listener);
        return () => this.eventListeners.delete(listener);
    }
    /** Receives each status change (and each newly scheduled own reconnect); returns an unsubscribe function. */
    onStatus(listener) {
        this.statusListeners.add(listener);
        return () => this.statusListeners.delete(listener);
    }
    /** Ends the stream for good. */
    close() {
        if (this.currentStatus === "closed")
            return;
        this.generation++;
        this.dropSource();
        if (this.timer !== null)
            clearTimeout(this.timer);
        this.timer = null;
        this.setStatus("closed", { attempt: this.attempt });
    }
    async connect() {
        const generation = ++this.generation;
        let ticket;
        if (this.options.getTicket) {
            try {
                ticket = await this.options.getTicket();
            }
            catch (error) {
                if (generation !== this.generation)
                    return;
                this.report(error);
                this.scheduleReconnect("ticket_failed");
                return;
            }
            if (generation !== this.generation)
                return;
        }
        let source;
        try {
            source = this.factory(this.buildUrl(ticket), { withCredentials: this.options.withCredentials ?? false });
        }
        catch (error) {
            this.report(error);
            this.scheduleReconnect("connect_failed");
            return;
        }
        this.source = source;
        source.onopen = () => {
            if (this.source !== source)
                return;
            this.attempt = 0;
            this.setStatus("open", { attempt: 0 });
        };
        source.onerror = () => {
            if (this.source !== source)
                return;
            // A ticket is spent once used: the browser's own reconnect would reuse it and get a 401.
            if (source.readyState === CLOSED || this.options.getTicket) {
                this.dropSource();
                this.scheduleReconnect("error");
            }
            else if (this.currentStatus !== "reconnecting") {
                this.setStatus("reconnecting", { attempt: this.attempt, reason: "error" });
            }
        };
        source.onmessage = (ev) => this.handle(source, "message", ev);
        for (const name of ["connection", "reset", "close", ...EVENT_TYPES]) {
            source.addEventListener(name, (ev) => this.handle(source, name, ev));
        }
    }
    handle(source, name, ev) {
        if (this.source !== source)
            return;
        let payload;
        try {
            payload = JSON.parse(ev.data);
        }
        catch (error) {
            this.report(error);
            return;
        }
        if (name === "connection") {
            const info = payload;
            // The frame's id is where this stream starts (the server's latest seq on a fresh connect):
            // holding it makes a reconnect lossless even when the stream is cut before its first event.
            // A resume point already held is never moved by it (the server echoes it back anyway).
            if (this.lastId === null) {
                const point = ev.lastEventId !== "" ? Number(ev.lastEventId) : (info.resume_from ?? info.latest_seq);
                if (Number.isInteger(point) && point >= 0)
                    this.lastId = point;
            }
            this.attempt = 0;
            if (this.currentStatus !== "open")
                this.setStatus("open", { attempt: 0 });
            this.emit({ type: "connection", data: info });
            return;
        }
        if (name === "reset") {
            const info = payload;
            // The stream continues from latest_seq, which may be below the id we hold (unknown_id).
            this.lastId = info.latest_seq;
            this.emit({ type: "reset", id: info.latest_seq, data: info });
            return;
        }
        if (name === "close") {
            this.emit({ type: "close", data: payload });
            // Reconnect ourselves: this refreshes the credential and passes the last id.
            this.dropSource();
            this.scheduleReconnect(payload.reason);
            return;
        }
        const type = (typeof payload?.type === "string" ? payload.type : name);
        if (payload?.ephemeral === true) {
            this.emit({ type, ephemeral: true, data: payload.data ?? {} });
            return;
        }
        // The seq in the data is authoritative; `lastEventId` of a native MessageEvent persists
        // across frames without an id, so it is only a fallback.
        const id = typeof payload?.seq === "number" ? payload.seq : Number(ev.lastEventId || NaN);
        if (!Number.isFinite(id))
            return;
        if (this.lastId !== null && id <= this.lastId)
            return;
        this.lastId = id;
        this.emit({
            type,
            ephemeral: false,
            id,
            seq: typeof payload.seq === "number" ? payload.seq : id,
            created_at: payload.created_at,
            by_automation: payload.by_automation === true,
            data: payload.data ?? {},
        });
    }
    buildUrl(ticket) {
        const params = [];
        if (this.options.types && this.options.types.length > 0) {
            params.push(`types=${encodeURIComponent(this.options.types.join(","))}`);
        }
        if (ticket !== undefined)
            params.push(`ticket=${encodeURIComponent(ticket)}`);
        if (this.lastId !== null)
            params.push(`last_event_id=${this.lastId}`);
        if (params.length === 0)
            return this.options.url;
        return this.options.url + (this.options.url.includes("?") ? "&" : "?") + params.join("&");
    }
    scheduleReconnect(reason) {
        if (this.currentStatus === "closed")
            return;
        if (this.timer !== null)
            clearTimeout(this.timer);
        const delayMs = backoffDelay(this.attempt, this.policy, this.random);
        this.attempt++;
        const generation = ++this.generation;
        this.setStatus("reconnecting", { attempt: this.attempt, delayMs, reason }, true);
        this.timer = setTimeout(() => {
            this.timer = null;
            if (generation !== this.generation)
                return;
            void this.connect();
        }, delayMs);
    }
    dropSource() {
        const source = this.source;
        this.source = null;
        if (source) {
            source.onopen = null;
            source.onerror = null;
            source.onmessage = null;
            source.close();
        }
    }
    setStatus(status, info, always = false) {
        if (status === this.currentStatus && !always)
            return;
        this.currentStatus = status;
        for (const listener of [...this.statusListeners]) {
            try {
                listener(status, info);
            }
            catch (error) {
                this.report(error);
            }
        }
    }
    emit(event) {
        for (const listener of [...this.eventListeners]) {
            try {
                listener(event);
            }
            catch (error) {
                this.report(error);
            }
        }
    }
    report(error) {
        if (this.options.onError)
            this.options.onError(error);
    }
}
