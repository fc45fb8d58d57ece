// Unit tests of the account pages' pure helpers (run by `node --test tests/js/`).
import assert from "node:assert/strict";
import { test } from "node:test";

import { confirmedNotice, isNotVerified, mailedLink } from "../../src/aiclone/dashboard/static/js/mail-links.js";
import { newPasswordAttributes, parsePolicy, passwordHint } from "../../src/aiclone/dashboard/static/js/policy.js";
import { deviceLabel, orderSessions } from "../../src/aiclone/dashboard/static/js/views/account-sessions.js";
import { emailChange, endedSessionsText, nameChange, pendingText } from "../../src/aiclone/dashboard/static/js/views/account.js";
import { refusalText, userUpdate } from "../../src/aiclone/dashboard/static/js/views/admin-users.js";

test("the password hint comes from the page's policy, never a number of its own", () => {
  assert.deepEqual(parsePolicy("8 1024"), { min: 8, max: 1024 });
  assert.equal(passwordHint(parsePolicy("8 1024")), "At least 8 characters.");
  assert.equal(passwordHint(parsePolicy("15 64")), "At least 15 characters.");
  // The placeholder left unfilled (or no meta at all): no invented minimum.
  assert.deepEqual(parsePolicy("password-policy"), { min: null, max: null });
  assert.deepEqual(parsePolicy(undefined), { min: null, max: null });
  assert.equal(passwordHint(parsePolicy(null)), "Choose a long password.");
  assert.equal(newPasswordAttributes({ min: 10, max: 100 }).maxlength, 100);
  assert.equal("minlength" in newPasswordAttributes({ min: 10, max: 100 }), false);
  assert.equal(newPasswordAttributes({ min: null, max: null }).maxlength, 1024);
});

test("mailed links are read from the fragment, anything else is not one", () => {
  assert.deepEqual(mailedLink("#reset-password=abc_DEF-123"), { action: "reset-password", token: "abc_DEF-123" });
  assert.deepEqual(mailedLink("#verify-email=a%2Db"), { action: "verify-email", token: "a-b" });
  assert.deepEqual(mailedLink("#confirm-email=xyz"), { action: "confirm-email", token: "xyz" });
  assert.equal(mailedLink("#/activity"), null);
  assert.equal(mailedLink("#signin"), null);
  assert.equal(mailedLink("#delete-everything=abc"), null);
  assert.equal(mailedLink("#reset-password="), null);
  assert.equal(mailedLink("#reset-password=%E0%A4%A"), null); // malformed escape
  assert.equal(mailedLink(`#verify-email=${"x".repeat(129)}`), null);
  assert.equal(mailedLink(""), null);
});

test("an accepted address link says which address", () => {
  assert.equal(confirmedNotice("verify-email", { email: "ada@example.com" }), "Thank you: ada@example.com is confirmed.");
  assert.equal(confirmedNotice("confirm-email", { email: "new@example.com" }), "Your account now uses new@example.com.");
  assert.equal(confirmedNotice("verify-email", null), "Thank you: your address is confirmed.");
});

test("only the email-not-verified problem counts as unverified", () => {
  const type = "https://aiclone.dev/problems/email-not-verified";
  assert.equal(isNotVerified({ status: 403, type }), true);
  assert.equal(isNotVerified({ status: 403, type: "https://aiclone.dev/problems/forbidden" }), false);
  assert.equal(isNotVerified({ status: 401, type }), false);
  assert.equal(isNotVerified(null), false);
});

test("profile changes send only what changed", () => {
  const user = { full_name: "Ada", email: "ada@example.com" };
  assert.equal(nameChange({ full_name: " Ada " }, user), null);
  assert.equal(nameChange({ full_name: "  " }, user), null);
  assert.deepEqual(nameChange({ full_name: " Ada L. " }, user), { full_name: "Ada L." });
  assert.equal(emailChange({ email: "ADA@example.com", current_password: "x" }, user), null);
  assert.deepEqual(emailChange({ email: " new@example.com ", current_password: "pw" }, user), {
    email: "new@example.com",
    current_password: "pw",
  });
  assert.equal(pendingText("new@example.com"), "Confirmation sent to new@example.com. Follow the link in that mail to use it.");
  assert.equal(pendingText(null), "");
});

test("a password change counts the other sessions it ended", () => {
  assert.equal(endedSessionsText(0), "Your password is changed. No other session was signed in.");
  assert.equal(endedSessionsText(1), "Your password is changed. 1 other session was signed out.");
  assert.equal(endedSessionsText(3), "Your password is changed. 3 other sessions were signed out.");
  assert.equal(endedSessionsText(undefined), "Your password is changed. No other session was signed in.");
});

test("sessions: this device first, then the most recently used; devices named briefly", () => {
  const items = [
    { id: "a", current: false, last_used_at: "2026-12-01T10:00:00Z" },
    { id: "b", current: true, last_used_at: "2026-12-01T09:00:00Z" },
    { id: "c", current: false, last_used_at: "2026-12-01T11:00:00Z" },
  ];
  assert.deepEqual(orderSessions(items).map((item) => item.id), ["b", "c", "a"]);
  assert.equal(items[0].id, "a", "the input is not reordered");
  const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
  assert.equal(deviceLabel(chrome), "Chrome on Linux");
  assert.equal(deviceLabel("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Gecko/20100101 Firefox/133.0"), "Firefox on macOS");
  assert.equal(deviceLabel("python-httpx/0.28.1"), "Python client");
  assert.equal(deviceLabel(""), "Unknown device");
  assert.equal(deviceLabel("x".repeat(80)), `${"x".repeat(57)}…`);
});

test("admin user actions: the PATCH bodies and a refusal's words", () => {
  const user = { is_active: true, role: "admin" };
  assert.deepEqual(userUpdate("toggle-active", user), { is_active: false });
  assert.deepEqual(userUpdate("toggle-active", { ...user, is_active: false }), { is_active: true });
  assert.deepEqual(userUpdate("role", user, "user"), { role: "user" });
  assert.equal(userUpdate("role", user, "admin"), null);
  assert.equal(userUpdate("explode", user), null);
  const lastAdmin = { status: 409, title: "The last active admin cannot be demoted or deactivated", detail: "This is the last active admin; promote another user first." };
  assert.equal(refusalText(lastAdmin), "This is the last active admin; promote another user first.");
  assert.equal(refusalText({ status: 409, title: "Conflict", detail: "" }), "Conflict");
  assert.equal(refusalText({ status: 404, title: "Not found", detail: "No user with this id." }), "No user with this id.");
});
