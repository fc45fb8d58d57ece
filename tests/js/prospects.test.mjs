// Unit tests of the Prospects view's pure logic (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  formFieldOf,
  listQuery,
  localDayStart,
  matchesFilters,
  parseTags,
  placementOf,
  prospectPayload,
} from "../../src/aiclone/dashboard/static/js/views/prospects.js";

const none = { q: "", status: "", min_score: "", tag: "", from: "", to: "", sort: "created_at:desc" };
const ada = {
  id: "1", name: "Ada Lovelace", company: "Engines", email: "ada@example.com", approval_status: "pending",
  fit_score: 80, tags: ["math"], created_at: "2026-03-10T12:00:00Z", phone: null, notes: null,
};

test("the list query leaves out empty filters and splits the sort", () => {
  assert.deepEqual(listQuery(none, { limit: 10 }), { sort: "created_at", order: "desc", limit: 10, cursor: undefined });
  const query = listQuery({ ...none, q: " ada ", status: "approved", min_score: "50", tag: "x", sort: "name:asc" }, { limit: 5, cursor: "c" });
  assert.deepEqual(query, { sort: "name", order: "asc", limit: 5, cursor: "c", q: "ada", status: "approved", min_score: "50", tag: "x" });
});

test("a created range is whole local days: from inclusive, to inclusive", () => {
  const query = listQuery({ ...none, from: "2026-03-01", to: "2026-03-10" });
  assert.equal(query.created_after, new Date(2026, 2, 1).toISOString());
  assert.equal(query.created_before, new Date(2026, 2, 11).toISOString());
  assert.equal(localDayStart("nonsense"), null);
});

test("live prospects are matched like the API filters them", () => {
  assert.ok(matchesFilters(ada, none));
  assert.ok(matchesFilters(ada, { ...none, q: "ENGI" }));
  assert.ok(matchesFilters(ada, { ...none, q: "ada@" }));
  assert.ok(!matchesFilters(ada, { ...none, q: "grace" }));
  assert.ok(!matchesFilters(ada, { ...none, status: "approved" }));
  assert.ok(matchesFilters(ada, { ...none, min_score: "80" }));
  assert.ok(!matchesFilters(ada, { ...none, min_score: "81" }));
  assert.ok(matchesFilters(ada, { ...none, tag: "MATH" }));
  assert.ok(!matchesFilters(ada, { ...none, tag: "art" }));
  assert.ok(!matchesFilters(ada, { ...none, from: "2099-01-01" }));
  assert.ok(!matchesFilters(ada, { ...none, to: "2000-01-01" }));
});

test("a new prospect goes on top only where it belongs", () => {
  assert.equal(placementOf(ada, none, 0), "top");
  assert.equal(placementOf(ada, none, 1), "bar");
  assert.equal(placementOf(ada, { ...none, sort: "name:asc" }, 0), "bar");
  assert.equal(placementOf(ada, { ...none, status: "rejected" }, 0), "skip");
});

test("the form becomes a create body, or a patch of the changed fields only", () => {
  const values = {
    name: " Ada Lovelace ", email: "", phone: "", job_title: "", company: "Engines", website: "", linkedin: "",
    discovery_source: "", best_outreach_angle: "", scoring_reasoning: "", notes: "", fit_score: "80",
    referral_capacity: "0", signal_strength: "x", approval_status: "pending", tags: "math, , Art",
  };
  const body = prospectPayload(values);
  assert.deepEqual(body, {
    name: "Ada Lovelace", company: "Engines", fit_score: 80, referral_capacity: 0, signal_strength: "x",
    approval_status: "pending", tags: ["math", "Art"],
  });
  const original = { ...ada, referral_capacity: 0, signal_strength: 0, tags: ["math", "Art"] };
  const patch = prospectPayload({ ...values, signal_strength: "0" }, original);
  assert.deepEqual(patch, { email: null }); // cleared: sent as null; unchanged fields left out
  assert.deepEqual(parseTags(" a ,b,, "), ["a", "b"]);
});

test("API error paths map to form fields", () => {
  assert.equal(formFieldOf("email"), "email");
  assert.equal(formFieldOf("tags[1]"), "tags");
  assert.equal(formFieldOf("items[0].website"), "website");
  assert.equal(formFieldOf("cursor"), null);
});
