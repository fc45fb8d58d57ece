// Unit tests of the Automations view's pure helpers (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  actionText,
  conditionText,
  conditionsText,
  errorsByField,
  parseSample,
  parseValue,
  ruleBody,
  sampleFor,
  splitTags,
  valueText,
} from "../../src/aiclone/dashboard/static/js/views/automations.js";

test("condition values: JSON when they look like numbers, booleans or lists, else text", () => {
  assert.equal(parseValue("70"), 70);
  assert.equal(parseValue(" -1.5 "), -1.5);
  assert.equal(parseValue("true"), true);
  assert.equal(parseValue("false"), false);
  assert.equal(parseValue("null"), null);
  assert.deepEqual(parseValue('["a", 2]'), ["a", 2]);
  assert.equal(parseValue('"70"'), "70");
  assert.equal(parseValue("Acme Corp"), "Acme Corp");
  assert.equal(parseValue("70 kg"), "70 kg");
  assert.equal(parseValue("[a, b]"), "[a, b]"); // not JSON: left as text for the API to judge
  assert.equal(parseValue(""), undefined);
  assert.equal(parseValue("   "), undefined);
});

test("saved values go back into the box so that they parse to themselves", () => {
  for (const value of [70, true, ["a", "b"], "Acme", "70", "true", null]) {
    const text = valueText(value);
    assert.deepEqual(parseValue(text) ?? null, value);
  }
  assert.equal(valueText("Acme"), "Acme");
  assert.equal(valueText("70"), '"70"');
  assert.equal(valueText(undefined), "");
});

test("conditions read as words", () => {
  assert.equal(conditionText({ field: "fit_score", op: "gte", value: 70 }), "fit_score ≥ 70");
  assert.equal(conditionText({ field: "company", op: "eq", value: "Acme" }), 'company is "Acme"');
  assert.equal(conditionText({ field: "status", op: "in", value: ["new", "contacted"] }), 'status is one of ["new", "contacted"]');
  assert.equal(conditionText({ field: "website", op: "exists", value: null }), "website is present");
  assert.equal(conditionText({ field: "website", op: "exists", value: false }), "website is missing");
  assert.equal(conditionsText([]), "every time");
  assert.equal(
    conditionsText([{ field: "a", op: "gt", value: 1 }, { field: "b", op: "contains", value: "x" }]),
    'a > 1 and b contains "x"',
  );
});

test("actions read as words", () => {
  assert.equal(actionText({ type: "notify", title: "Hi {{name}}", body: "", level: "info" }), 'Notify me: "Hi {{name}}"');
  assert.equal(actionText({ type: "notify", title: "Hi", level: "warning" }), 'Notify me: "Hi" (warning)');
  assert.equal(
    actionText({ type: "create_research_task", priority: "high", title: null }),
    "Queue web research of the prospect's website (high priority)",
  );
  assert.equal(actionText({ type: "tag_prospect", add: ["hot"], remove: ["cold"] }), "Tag the prospect: +hot −cold");
});

test("the request body from the form", () => {
  const base = {
    name: "Hot leads",
    trigger: "prospect_added",
    enabled: true,
    conditions: [
      { field: " fit_score ", op: "gte", value: "70" },
      { field: "tags", op: "in", value: "" },
    ],
    title: "",
    body: "",
    level: "info",
    priority: "medium",
    researchTitle: "  ",
    add: "hot, vip,,",
    remove: "",
  };
  const tag = ruleBody({ ...base, actionType: "tag_prospect" });
  assert.deepEqual(tag, {
    name: "Hot leads",
    trigger_event: "prospect_added",
    enabled: true,
    conditions: [{ field: "fit_score", op: "gte", value: 70 }, { field: "tags", op: "in" }],
    action: { type: "tag_prospect", add: ["hot", "vip"], remove: [] },
  });
  assert.deepEqual(ruleBody({ ...base, actionType: "create_research_task" }).action, { type: "create_research_task", priority: "medium" });
  assert.deepEqual(ruleBody({ ...base, actionType: "notify", title: "New: {{name}}" }).action, {
    type: "notify",
    title: "New: {{name}}",
    body: "",
    level: "info",
  });
  assert.deepEqual(splitTags(" a ,b,, "), ["a", "b"]);
});

test("field errors are grouped by path", () => {
  const grouped = errorsByField([
    { field: "conditions[0].value", message: "must be a non-empty list for in" },
    { field: "conditions[0].value", message: "again" },
    { field: "action.type", message: "refused" },
  ]);
  assert.deepEqual(grouped.get("conditions[0].value"), ["must be a non-empty list for in", "again"]);
  assert.deepEqual(grouped.get("action.type"), ["refused"]);
  assert.equal(errorsByField(undefined).size, 0);
});

test("sample data: empty is {}, anything but a JSON object is a readable error", () => {
  assert.deepEqual(parseSample(""), {});
  assert.deepEqual(parseSample('{"id": "x"}'), { id: "x" });
  assert.throws(() => parseSample("{nope"), (error) => error.errors[0].field === "data" && /not valid JSON/.test(error.errors[0].message));
  assert.throws(() => parseSample("[1]"), /JSON object/);
  assert.match(sampleFor("prospect_added"), /"id"/);
  assert.match(sampleFor("research_completed"), /"prospect_id"/);
});
