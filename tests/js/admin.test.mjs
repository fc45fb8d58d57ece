// Unit tests of the Admin view's pure helpers (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { broadcastRequest, statusFigures, userLabel } from "../../src/aiclone/dashboard/static/js/views/admin.js";

test("the overview's figures include the cluster only when it is there", () => {
  const mine = { user_id: "u1", streams: 2, max_streams: 5, instance_id: "web-1", cluster: null };
  assert.deepEqual(statusFigures(mine), [
    ["own_streams", "Your streams", "2 of 5"],
    ["answered_by", "Answered by", "web-1"],
  ]);
  const all = {
    ...mine,
    cluster: { total_streams: 1200, users_online: 37, instances: [{}, {}], per_user: [], per_user_truncated: false },
  };
  assert.deepEqual(
    statusFigures(all).map(([key, , value]) => [key, value]),
    [
      ["total_streams", "1,200"],
      ["users_online", "37"],
      ["instances", "2"],
      ["own_streams", "2 of 5"],
      ["answered_by", "web-1"],
    ],
  );
});

test("a broadcast is trimmed, its level checked, an empty link left out", () => {
  assert.deepEqual(broadcastRequest({ title: "  Hello ", body: " there ", level: "warning", link: " " }), {
    title: "Hello",
    body: "there",
    level: "warning",
  });
  assert.deepEqual(broadcastRequest({ title: "x", level: "shout", link: "#/activity" }), {
    title: "x",
    body: "",
    level: "info",
    link: "#/activity",
  });
});

test("users are named by email when known", () => {
  const users = new Map([["u1", { email: "ada@example.com" }]]);
  assert.equal(userLabel("u1", users), "ada@example.com");
  assert.equal(userLabel("u2", users), "u2");
});
