// Unit tests of the API keys page's pure helpers (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DOMAIN_SCOPES,
  OTHER_SCOPES,
  expiresAt,
  isExpired,
  keyRequest,
  offeredScopes,
  scopeSummary,
} from "../../src/aiclone/dashboard/static/js/views/api-keys.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");

test("every domain offers read and write; the admin-only scopes only to admins", () => {
  assert.deepEqual(
    DOMAIN_SCOPES.map((group) => group.domain),
    ["prospects", "research", "outreach", "content", "automations", "webhooks", "notifications", "activities"],
  );
  const user = offeredScopes(false);
  const admin = offeredScopes(true);
  assert.ok(user.includes("prospects:read") && user.includes("prospects:write"));
  assert.ok(user.includes("events:read") && user.includes("analytics:read"));
  assert.equal(user.includes("metrics:read"), false);
  assert.equal(user.includes("admin"), false);
  assert.ok(admin.includes("metrics:read") && admin.includes("admin"));
  assert.equal(admin.length, user.length + OTHER_SCOPES.filter((item) => item.adminOnly).length);
  assert.equal(new Set(admin).size, admin.length, "no scope offered twice");
});

test("the expiry choice becomes an ISO time that many days on, or none", () => {
  assert.equal(expiresAt("never", NOW), null);
  assert.equal(expiresAt("30", NOW), "2026-03-31T12:00:00.000Z");
  assert.equal(expiresAt("365", NOW), "2027-03-01T12:00:00.000Z");
  assert.equal(expiresAt("-3", NOW), null);
  assert.equal(expiresAt("soon", NOW), null);
});

test("the create request: a trimmed name, sorted unique offered scopes, the expiry when set", () => {
  assert.deepEqual(
    keyRequest({ name: "  Zapier ", expires: "never" }, ["prospects:write", "prospects:read", "prospects:read"], { now: NOW }),
    { body: { name: "Zapier", scopes: ["prospects:read", "prospects:write"] } },
  );
  assert.deepEqual(keyRequest({ name: "Scraper", expires: "90" }, ["metrics:read"], { isAdmin: true, now: NOW }), {
    body: { name: "Scraper", scopes: ["metrics:read"], expires_at: "2026-05-30T12:00:00.000Z" },
  });
  // A scope the user is not offered is not sent (the server would refuse it anyway).
  assert.deepEqual(keyRequest({ name: "Sneaky" }, ["admin", "events:read"], { now: NOW }), {
    body: { name: "Sneaky", scopes: ["events:read"] },
  });
  assert.match(keyRequest({ name: " " }, ["events:read"]).error, /name/);
  assert.match(keyRequest({ name: "Nothing" }, []).error, /scope/);
  assert.match(keyRequest({ name: "Only admin" }, ["admin"]).error, /scope/);
});

test("scopes in words: per domain, read before write", () => {
  assert.equal(
    scopeSummary(["prospects:write", "events:read", "prospects:read", "admin"]),
    "admin · events read · prospects read, write",
  );
  assert.equal(scopeSummary([]), "");
  assert.equal(scopeSummary(undefined), "");
});

test("a key past its expiry is expired; one without expiry never is", () => {
  assert.equal(isExpired({ expires_at: "2026-02-28T00:00:00Z" }, NOW), true);
  assert.equal(isExpired({ expires_at: "2026-03-02T00:00:00Z" }, NOW), false);
  assert.equal(isExpired({ expires_at: null }, NOW), false);
});
