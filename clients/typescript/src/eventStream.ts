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

import type { webhooks } from "./generated/openapi.js";

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
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** Data of the `connection` frame, sent first on every stream. */
export interface ConnectionInfo {
  status: "connected";
  instance_id: string;
  server_time: string;
  latest_seq: number;
  resume_from: number | null;
  heartbeat_seconds: number;
  expires_at: string | null;
  types: EventType[] | null;
}

/** Data of the `reset` frame: the resume point could not be honoured; refetch state. */
export interface ResetInfo {
  reason: "retention" | "unknown_id";
  last_event_id: number;
  latest_seq: number;
  oldest_seq: number | null;
}

/** Data of the `close` frame: the server ends the stream on purpose. */
export interface CloseInfo {
  reason: "shutdown" | "credential_expired" | "error" | string;
}

/** The body a webhook endpoint receives for an event of type `T` (the same `data` as the stream). */
type WebhookBody<T extends keyof webhooks> = NonNullable<
  webhooks[T]["post"]["requestBody"]
>["content"]["application/json"];

/**
 * Payload shape per event type, generated from the server's schemas (the API document's
 * `webhooks` section, the same schemas `GET /api/event-types` serves).
 */
export type EventDataMap = { [T in EventType]: WebhookBody<T>["data"] };

// EVENT_TYPES above and the server's event types must be the same set: either direction fails here.
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type EventTypesMatchServer = Expect<SameKeys<EventType, keyof webhooks>>;

export type EventData<T extends EventType> = EventDataMap[T];

/** Payload of a `notification` event. */
export type NotificationData = EventDataMap["notification"];

/** A persisted event: has an id (its `seq`), is replayed on resume. */
export interface PersistedEvent<T extends EventType = EventType> {
  type: T;
  ephemeral: false;
  id: number;
  seq: number;
  created_at: string;
  by_automation: boolean;
  data: EventData<T>;
}

/** A live-only message (progress ticks): no id, never replayed. */
export interface EphemeralEvent<T extends EventType = EventType> {
  type: T;
  ephemeral: true;
  data: Record<string, unknown>;
}

export interface ConnectionEvent {
  type: "connection";
  data: ConnectionInfo;
}

export interface ResetEvent {
  type: "reset";
  id: number;
  data: ResetInfo;
}

export interface CloseEvent {
  type: "close";
  data: CloseInfo;
}

/** Every message the stream delivers, discriminated on `type` (then on `ephemeral`). */
export type StreamEvent =
  | ConnectionEvent
  | ResetEvent
  | CloseEvent
  | { [T in EventType]: PersistedEvent<T> | EphemeralEvent<T> }[EventType];

export type StreamEventName = StreamEvent["type"];

export type Status = "connecting" | "open" | "reconnecting" | "closed";

export interface StatusInfo {
  /** Consecutive failed attempts so far (0 once a stream is open). */
  attempt: number;
  /** When `reconnecting` by this client's own backoff: the delay before the next attempt. */
  delayMs?: number;
  /** Why the previous stream ended, when known. */
  reason?: string;
}

/** The part of `EventSource` this client uses (for injection in tests or other runtimes). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((this: any, ev: any) => unknown) | null;
  onerror: ((this: any, ev: any) => unknown) | null;
  onmessage: ((this: any, ev: any) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEventLike) => void): void;
  close(): void;
}

export interface MessageEventLike {
  data: string;
  lastEventId: string;
}

export type EventSourceFactory = (url: string, init: { withCredentials: boolean }) => EventSourceLike;

export interface BackoffPolicy {
  /** Base delay of the first own reconnect (ms). Default 1000. */
  initialMs: number;
  /** Upper bound of the base delay (ms). Default 30000. */
  maxMs: number;
  /** Growth per failed attempt. Default 2. */
  factor: number;
  /** Relative jitter j in [0, 1]: the delay is drawn from [b·(1−j), b·(1+j)]. Default 0.5. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  initialMs: 1000,
  maxMs: 30000,
  factor: 2,
  jitter: 0.5,
});

/**
 * The delay before own reconnect number `attempt` (0-based):
 * base b = min(maxMs, initialMs · factor^attempt), then a uniform draw in [b·(1−j), b·(1+j)].
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  const j = Math.min(1, Math.max(0, policy.jitter));
  return Math.max(0, Math.round(base * (1 - j + 2 * j * random())));
}

export interface EventStreamOptions {
  /** The stream URL, e.g. `https://api.example.com/api/events`. */
  url: string;
  /** Returns a fresh single-use ticket (`POST /api/events/ticket`); awaited before every connect. */
  getTicket?: () => Promise<string>;
  /** Only these event types (`?types=`). */
  types?: readonly EventType[];
  /** Resume after this seq on the first connect (`last_event_id`); default: start at the present. */
  lastEventId?: number;
  /** Send cookies (the stream cookie on another origin). Default false. */
  withCredentials?: boolean;
  /** Own reconnect backoff; merged over {@link DEFAULT_BACKOFF}. */
  backoff?: Partial<BackoffPolicy>;
  /** Creates the EventSource; default `new EventSource(url, init)`. */
  eventSourceFactory?: EventSourceFactory;
  /** Uniform random in [0, 1) for jitter; default `Math.random`. */
  random?: () => number;
  /** Called when `getTicket` fails or a message cannot be parsed. */
  onError?: (error: unknown) => void;
}

export type EventListener = (event: StreamEvent) => void;
export type StatusListener = (status: Status, info: StatusInfo) => void;

const CLOSED = 2;

export class EventStream {
  private readonly options: EventStreamOptions;
  private readonly policy: BackoffPolicy;
  private readonly factory: EventSourceFactory;
  private readonly random: () => number;
  private readonly eventListeners = new Set<EventListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private source: EventSourceLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;
  private attempt = 0;
  private started = false;
  private lastId: number | null;
  private currentStatus: Status = "connecting";

  constructor(options: EventStreamOptions) {
    this.options = options;
    this.policy = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.lastId = options.lastEventId ?? null;
    this.factory =
      options.eventSourceFactory ??
      ((url, init) => {
        const ctor = (globalThis as { EventSource?: new (u: string, i: object) => EventSourceLike }).EventSource;
        if (ctor === undefined) throw new Error("EventSource is not available; pass eventSourceFactory");
        return new ctor(url, init);
      });
  }

  /** The current connection status. */
  get status(): Status {
    return this.currentStatus;
  }

  /** The id (`seq`) of the last persisted event delivered, or the resume point (given, or from the server). */
  get lastEventId(): number | null {
    return this.lastId;
  }

  /** Opens the stream (once; later calls do nothing). Returns `this`. */
  start(): this {
    if (this.started || this.currentStatus === "closed") return this;
    this.started = true;
    void this.connect();
    return this;
  }

  /** Receives every event; returns an unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Receives each status change (and each newly scheduled own reconnect); returns an unsubscribe function. */
  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Ends the stream for good. */
  close(): void {
    if (this.currentStatus === "closed") return;
    this.generation++;
    this.dropSource();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.setStatus("closed", { attempt: this.attempt });
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    let ticket: string | undefined;
    if (this.options.getTicket) {
      try {
        ticket = await this.options.getTicket();
      } catch (error) {
        if (generation !== this.generation) return;
        this.report(error);
        this.scheduleReconnect("ticket_failed");
        return;
      }
      if (generation !== this.generation) return;
    }
    let source: EventSourceLike;
    try {
      source = this.factory(this.buildUrl(ticket), { withCredentials: this.options.withCredentials ?? false });
    } catch (error) {
      this.report(error);
      this.scheduleReconnect("connect_failed");
      return;
    }
    this.source = source;
    source.onopen = () => {
      if (this.source !== source) return;
      this.attempt = 0;
      this.setStatus("open", { attempt: 0 });
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // A ticket is spent once used: the browser's own reconnect would reuse it and get a 401.
      if (source.readyState === CLOSED || this.options.getTicket) {
        this.dropSource();
        this.scheduleReconnect("error");
      } else if (this.currentStatus !== "reconnecting") {
        this.setStatus("reconnecting", { attempt: this.attempt, reason: "error" });
      }
    };
    source.onmessage = (ev) => this.handle(source, "message", ev as MessageEventLike);
    for (const name of ["connection", "reset", "close", ...EVENT_TYPES]) {
      source.addEventListener(name, (ev) => this.handle(source, name, ev));
    }
  }

  private handle(source: EventSourceLike, name: string, ev: MessageEventLike): void {
    if (this.source !== source) return;
    let payload: any;
    try {
      payload = JSON.parse(ev.data);
    } catch (error) {
      this.report(error);
      return;
    }
    if (name === "connection") {
      const info = payload as ConnectionInfo;
      // The frame's id is where this stream starts (the server's latest seq on a fresh connect):
      // holding it makes a reconnect lossless even when the stream is cut before its first event.
      // A resume point already held is never moved by it (the server echoes it back anyway).
      if (this.lastId === null) {
        const point = ev.lastEventId !== "" ? Number(ev.lastEventId) : (info.resume_from ?? info.latest_seq);
        if (Number.isInteger(point) && point >= 0) this.lastId = point;
      }
      this.attempt = 0;
      if (this.currentStatus !== "open") this.setStatus("open", { attempt: 0 });
      this.emit({ type: "connection", data: info });
      return;
    }
    if (name === "reset") {
      const info = payload as ResetInfo;
      // The stream continues from latest_seq, which may be below the id we hold (unknown_id).
      this.lastId = info.latest_seq;
      this.emit({ type: "reset", id: info.latest_seq, data: info });
      return;
    }
    if (name === "close") {
      this.emit({ type: "close", data: payload as CloseInfo });
      // Reconnect ourselves: this refreshes the credential and passes the last id.
      this.dropSource();
      this.scheduleReconnect((payload as CloseInfo).reason);
      return;
    }
    const type = (typeof payload?.type === "string" ? payload.type : name) as EventType;
    if (payload?.ephemeral === true) {
      this.emit({ type, ephemeral: true, data: payload.data ?? {} } as StreamEvent);
      return;
    }
    // The seq in the data is authoritative; `lastEventId` of a native MessageEvent persists
    // across frames without an id, so it is only a fallback.
    const id = typeof payload?.seq === "number" ? payload.seq : Number(ev.lastEventId || NaN);
    if (!Number.isFinite(id)) return;
    if (this.lastId !== null && id <= this.lastId) return;
    this.lastId = id;
    this.emit({
      type,
      ephemeral: false,
      id,
      seq: typeof payload.seq === "number" ? payload.seq : id,
      created_at: payload.created_at,
      by_automation: payload.by_automation === true,
      data: payload.data ?? {},
    } as StreamEvent);
  }

  private buildUrl(ticket: string | undefined): string {
    const params: string[] = [];
    if (this.options.types && this.options.types.length > 0) {
      params.push(`types=${encodeURIComponent(this.options.types.join(","))}`);
    }
    if (ticket !== undefined) params.push(`ticket=${encodeURIComponent(ticket)}`);
    if (this.lastId !== null) params.push(`last_event_id=${this.lastId}`);
    if (params.length === 0) return this.options.url;
    return this.options.url + (this.options.url.includes("?") ? "&" : "?") + params.join("&");
  }

  private scheduleReconnect(reason: string): void {
    if (this.currentStatus === "closed") return;
    if (this.timer !== null) clearTimeout(this.timer);
    const delayMs = backoffDelay(this.attempt, this.policy, this.random);
    this.attempt++;
    const generation = ++this.generation;
    this.setStatus("reconnecting", { attempt: this.attempt, delayMs, reason }, true);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (generation !== this.generation) return;
      void this.connect();
    }, delayMs);
  }

  private dropSource(): void {
    const source = this.source;
    this.source = null;
    if (source) {
      source.onopen = null;
      source.onerror = null;
      source.onmessage = null;
      source.close();
    }
  }

  private setStatus(status: Status, info: StatusInfo, always = false): void {
    if (status === this.currentStatus && !always) return;
    this.currentStatus = status;
    for (const listener of [...this.statusListeners]) {
      try {
        listener(status, info);
      } catch (error) {
        this.report(error);
      }
    }
  }

  private emit(event: StreamEvent): void {
    for (const listener of [...this.eventListeners]) {
      try {
        listener(event);
      } catch (error) {
        this.report(error);
      }
    }
  }

  private report(error: unknown): void {
    if (this.options.onError) this.options.onError(error);
  }
}
