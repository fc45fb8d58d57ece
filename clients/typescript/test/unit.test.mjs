// Unit tests of the compiled EventStream with an injected in-memory EventSource.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventStream, backoffDelay, DEFAULT_BACKOFF } from "../dist/eventStream.js";

class FakeEventSource {
  constructor(url, init) {
    this.url = url;
    this.init = init;
    this.readyState = 0;
    this.onopen = null;
    this.onerror = null;
    this.onmessage = null;
    this.listeners = new Map();
    this.closed = false;
    this.lastEventId = "";
  }
  addEventListener(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }
  close() {
    this.readyState = 2;
    this.closed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(name, data, id) {
    if (id !== undefined) this.lastEventId = String(id);
    for (const listener of this.listeners.get(name) ?? []) {
      listener({ data: JSON.stringify(data), lastEventId: this.lastEventId });
    }
  }
  /** The server's first frame; its id is the resume point (the one sent, else latest_seq). */
  connected(latest = 0, resumeFrom = null) {
    this.open();
    const info = { status: "connected", instance_id: "i", latest_seq: latest, resume_from: resumeFrom };
    this.frame("connection", info, resumeFrom ?? latest);
  }
  event(seq, type = "notification") {
    this.frame(type, { seq, type, created_at: "2026-01-01T00:00:00Z", by_automation: false, data: { n: seq } }, seq);
  }
  /** A network error: the browser retries (readyState CONNECTING) or gives up (CLOSED). */
  fail(givesUp) {
    this.readyState = givesUp ? 2 : 0;
    this.onerror?.({});
  }
}

function harness(options = {}) {
  const sources = [];
  const events = [];
  const statuses = [];
  const stream = new EventStream({
    url: "http://127.0.0.1:1/api/events",
    backoff: { initialMs: 1, maxMs: 8, factor: 2, jitter: 0.5 },
    random: () => 0.5,
    eventSourceFactory: (url, init) => {
      const source = new FakeEventSource(url, init);
      sources.push(source);
      return source;
    },
    ...options,
  });
  stream.subscribe((event) => events.push(event));
  stream.onStatus((status, info) => statuses.push({ status, ...info }));
  return { stream, sources, events, statuses };
}

async function until(predicate, what, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const ids = (events) => events.filter((e) => e.id !== undefined && e.type !== "reset").map((e) => e.id);

test("backoffDelay grows exponentially up to the cap, within the jitter bounds", () => {
  const policy = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.3 };
  const bases = [100, 200, 400, 800, 1600, 3200, 5000, 5000];
  for (let attempt = 0; attempt < bases.length; attempt++) {
    const b = bases[attempt];
    assert.equal(backoffDelay(attempt, policy, () => 0), Math.round(b * 0.7));
    assert.equal(backoffDelay(attempt, policy, () => 0.5), b);
    assert.ok(backoffDelay(attempt, policy, () => 0.999999) <= Math.round(b * 1.3));
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(attempt, policy);
      assert.ok(d >= Math.round(b * 0.7) && d <= Math.round(b * 1.3), `attempt ${attempt}: ${d} outside bounds of ${b}`);
    }
  }
  // Jitter actually spreads: 200 draws at one attempt are not all equal.
  const draws = new Set(Array.from({ length: 200 }, () => backoffDelay(3, policy)));
  assert.ok(draws.size > 10);
  assert.equal(DEFAULT_BACKOFF.initialMs, 1000);
});

test("own reconnects back off exponentially with jitter while connects keep failing", async () => {
  let draws = 0;
  const randoms = [0, 0.999, 0, 0.999, 0, 0.999];
  const { stream, statuses } = harness({
    getTicket: async () => {
      throw new Error("ticket endpoint down");
    },
    backoff: { initialMs: 2, maxMs: 8, factor: 2, jitter: 0.5 },
    random: () => randoms[draws++ % randoms.length],
  });
  stream.start();
  await until(() => statuses.filter((s) => s.delayMs !== undefined).length >= 6, "6 scheduled reconnects");
  stream.close();
  const delays = statuses.filter((s) => s.delayMs !== undefined).slice(0, 6);
  assert.deepEqual(delays.map((s) => s.attempt), [1, 2, 3, 4, 5, 6]);
  // bases 2, 4, 8, 8, 8, 8; draws alternate at the lower and upper jitter bound.
  assert.deepEqual(delays.map((s) => s.delayMs), [1, 6, 4, 12, 4, 12]);
  assert.ok(delays.every((s) => s.status === "reconnecting" && s.reason === "ticket_failed"));
});

test("events are delivered once, in order: ids at or below the last delivered are dropped", async () => {
  const { stream, sources, events } = harness();
  stream.start();
  await until(() => sources.length === 1, "first EventSource");
  const es = sources[0];
  es.connected();
  for (const seq of [1, 2, 2, 3, 1, 5, 4, 5, 6]) es.event(seq);
  assert.deepEqual(ids(events), [1, 2, 3, 5, 6]);
  assert.equal(stream.lastEventId, 6);
  // Ephemeral messages have no id and are always delivered; they do not move the resume point.
  es.frame("task_update", { type: "task_update", ephemeral: true, data: { progress: 40 } });
  const last = events.at(-1);
  assert.equal(last.type, "task_update");
  assert.equal(last.ephemeral, true);
  assert.deepEqual(last.data, { progress: 40 });
  assert.equal(stream.lastEventId, 6);
  // Persisted events are typed and carry their payload.
  const first = events.find((e) => e.type === "notification");
  assert.equal(first.ephemeral, false);
  assert.equal(first.seq, 1);
  assert.deepEqual(first.data, { n: 1 });
  stream.close();
});

test("a reset moves the resume point to latest_seq, even backwards", async () => {
  const { stream, sources, events } = harness({ lastEventId: 50 });
  stream.start();
  await until(() => sources.length === 1, "first EventSource");
  const es = sources[0];
  es.connected(10, 50);
  es.frame("reset", { reason: "unknown_id", last_event_id: 50, latest_seq: 10, oldest_seq: 1 }, 10);
  es.event(11);
  assert.equal(events[1].type, "reset");
  assert.equal(events[1].id, 10);
  assert.deepEqual(ids(events), [11]);
  assert.equal(stream.lastEventId, 11);
  stream.close();
});

test("after the browser gives up, a new EventSource resumes with last_event_id and a fresh ticket", async () => {
  let tickets = 0;
  const { stream, sources, events } = harness({
    getTicket: async () => `t${++tickets}`,
    types: ["notification", "task_update"],
  });
  stream.start();
  await until(() => sources.length === 1, "first EventSource");
  const url0 = new URL(sources[0].url);
  assert.equal(url0.pathname, "/api/events");
  assert.equal(url0.searchParams.get("ticket"), "t1");
  assert.equal(url0.searchParams.get("types"), "notification,task_update");
  assert.equal(url0.searchParams.has("last_event_id"), false, "a fresh stream starts at the present");
  sources[0].connected();
  sources[0].event(7);
  sources[0].event(8);
  sources[0].fail(true); // e.g. a 503 during a deploy: the EventSource is closed for good

  assert.equal(sources[0].closed, true);
  await until(() => sources.length === 2, "second EventSource");
  const url1 = new URL(sources[1].url);
  assert.equal(url1.searchParams.get("ticket"), "t2");
  assert.equal(url1.searchParams.get("last_event_id"), "8");
  // The server replays from 9; a duplicate of 8 (e.g. a replay overlap) is dropped.
  sources[1].connected(10, 8);
  for (const seq of [8, 9, 10]) sources[1].event(seq);
  assert.deepEqual(ids(events), [7, 8, 9, 10]);
  // Frames from the abandoned EventSource are ignored.
  sources[0].event(11);
  assert.deepEqual(ids(events), [7, 8, 9, 10]);
  stream.close();
  assert.equal(sources[1].closed, true);
});

test("a stream cut before its first event resumes from the connection frame's resume point", async () => {
  for (const latest of [0, 5]) {
    let tickets = 0;
    const { stream, sources, events } = harness({ getTicket: async () => `t${++tickets}` });
    stream.start();
    await until(() => sources.length === 1, "first EventSource");
    assert.equal(new URL(sources[0].url).searchParams.has("last_event_id"), false);
    sources[0].connected(latest);
    assert.equal(stream.lastEventId, latest);
    sources[0].fail(false); // cut before any event; with a ticket the client reconnects itself
    await until(() => sources.length === 2, "second EventSource");
    // Events committed in between are replayed after this point: nothing is lost.
    assert.equal(new URL(sources[1].url).searchParams.get("last_event_id"), String(latest));
    sources[1].connected(latest + 2, latest);
    sources[1].event(latest + 1);
    sources[1].event(latest + 2);
    assert.deepEqual(ids(events), [latest + 1, latest + 2]);
    stream.close();
  }
});

test("a connection frame never moves the resume point the client already holds", async () => {
  const { stream, sources } = harness({ lastEventId: 4 });
  stream.start();
  await until(() => sources.length === 1, "first EventSource");
  sources[0].connected(9, 4);
  assert.equal(stream.lastEventId, 4);
  stream.close();
});

test("getTicket is called before every connect, including after a close frame", async () => {
  const calls = [];
  const { stream, sources } = harness({
    getTicket: async () => {
      calls.push(sources.length);
      return `ticket-${calls.length}`;
    },
    lastEventId: 3,
  });
  stream.start();
  await until(() => sources.length === 1, "first EventSource");
  assert.equal(new URL(sources[0].url).searchParams.get("last_event_id"), "3");
  sources[0].connected();
  sources[0].event(4);
  sources[0].frame("close", { reason: "credential_expired" });
  await until(() => sources.length === 2, "second EventSource");
  sources[1].connected();
  sources[1].fail(false); // with a ticket even a retryable error is handled by the client
  await until(() => sources.length === 3, "third EventSource");
  assert.deepEqual(calls, [0, 1, 2]);
  assert.deepEqual(
    sources.map((s) => new URL(s.url).searchParams.get("ticket")),
    ["ticket-1", "ticket-2", "ticket-3"],
  );
  assert.equal(new URL(sources[2].url).searchParams.get("last_event_id"), "4");
  stream.close();
});

test("status transitions: connecting, open, reconnecting (browser and own), open, closed", async () => {
  const { stream, sources, statuses } = harness();
  assert.equal(stream.status, "connecting");
  stream.start();
  await until(() => sources.length === 1, "first EventSource");
  sources[0].connected();
  assert.equal(stream.status, "open");
  sources[0].fail(false); // the browser reconnects this one itself
  assert.equal(stream.status, "reconnecting");
  assert.equal(sources[0].closed, false);
  sources[0].connected();
  assert.equal(stream.status, "open");
  sources[0].fail(true); // gave up: own reconnect
  assert.equal(stream.status, "reconnecting");
  await until(() => sources.length === 2, "second EventSource");
  sources[1].connected();
  assert.equal(stream.status, "open");
  stream.close();
  assert.equal(stream.status, "closed");
  stream.close();
  assert.deepEqual(
    statuses.map((s) => s.status),
    ["open", "reconnecting", "open", "reconnecting", "open", "closed"],
  );
  assert.equal(statuses[3].delayMs, 1); // base 1 at attempt 0, random 0.5 => the base itself
  // Once closed nothing reconnects.
  sources[1].fail(true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(sources.length, 2);
  assert.equal(stream.status, "closed");
});

test("close() during a pending getTicket opens nothing", async () => {
  let release;
  const { stream, sources } = harness({ getTicket: () => new Promise((resolve) => (release = resolve)) });
  stream.start();
  stream.close();
  release("late");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(sources.length, 0);
  assert.equal(stream.status, "closed");
});
