// A consumer of the packed SDK: type-checked against the installed package, then run against a
// real server (AICLONE_BASE). Prints one JSON line of what it saw.
import { EVENT_TYPES, createApiClient } from "@aiclone/client";
import type { EventDataMap, PersistedEvent, Schemas } from "@aiclone/client";
import { EventStream } from "@aiclone/client/events";

declare const process: { env: Record<string, string | undefined> };

const base = process.env.AICLONE_BASE ?? "http://127.0.0.1:8000";
const password = "correct-horse-battery-staple-9";
const email = `sdk-${Date.now()}@example.com`;

const anonymous = createApiClient({ baseUrl: base });
const registered = await anonymous.POST("/api/auth/register", { body: { email, password, full_name: "SDK User" } });
if (registered.error) throw new Error(`register: ${JSON.stringify(registered.error)}`);
const login = await anonymous.POST("/api/auth/login", {
  body: { username: email, password },
  bodySerializer: (form) => new URLSearchParams(form as Record<string, string>).toString(),
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
});
if (!login.data) throw new Error(`login: ${JSON.stringify(login.error)}`);
const token: string = login.data.access_token;

const api = createApiClient({ baseUrl: base, token: () => token });
const created = await api.POST("/api/prospects", { body: { name: "Ada Lovelace", company: "Analytical Engines" } });
if (!created.data) throw new Error(`create: ${JSON.stringify(created.error)}`);
const prospect: Schemas["ProspectRead"] = created.data;
// The payload of a prospect_added event is the prospect itself.
const payload: EventDataMap["prospect_added"] = prospect;

const listed = await api.GET("/api/prospects", { params: { query: { status: "pending", limit: 10 } } });
if (!listed.data) throw new Error(`list: ${JSON.stringify(listed.error)}`);

// @ts-expect-error -- not one of the statuses
void api.GET("/api/prospects", { params: { query: { status: "maybe" } } });
// @ts-expect-error -- a name is text
void api.POST("/api/prospects", { body: { name: 42 } });
// @ts-expect-error -- no such path
void api.GET("/api/prospect");

const missing = await api.GET("/api/prospects/{prospect_id}", {
  params: { path: { prospect_id: crypto.randomUUID() } },
});
const problem: Schemas["Problem"] | undefined = missing.error;

const catalog = await api.GET("/api/event-types");
if (!catalog.data) throw new Error(`event types: ${JSON.stringify(catalog.error)}`);

function describe(event: PersistedEvent<"notification">): number {
  return event.data.unread; // typed: NotificationEvent
}
void describe;
void EventStream;

console.log(
  JSON.stringify({
    prospect: payload.name,
    listed: listed.data.items.map((p) => p.name),
    missingStatus: missing.response.status,
    problemType: problem?.type,
    eventTypes: catalog.data.items.map((item) => item.type),
    clientEventTypes: [...EVENT_TYPES],
    requestId: created.response.headers.get("x-request-id"),
  }),
);
