// @ts-check
// The password policy's length bounds, as the server enforces them. The page carries them in
// `<meta name="aiclone-password-policy" content="MIN MAX">`, written from AICLONE_PASSWORD_MIN_LENGTH
// and AICLONE_PASSWORD_MAX_LENGTH when the page is served, so no form hard-codes a number.

/** `{ min, max }` from the meta's content; null bounds when it is missing or malformed. */
export function parsePolicy(content) {
  const [min, max] = String(content ?? "")
    .trim()
    .split(/\s+/)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : null));
  return { min: min ?? null, max: max ?? null };
}

/** The hint under a new-password field. */
export function passwordHint(policy) {
  return policy.min ? `At least ${policy.min} characters.` : "Choose a long password.";
}

/** The page's policy (read once per call; the meta never changes while the page lives). */
export function pagePolicy(doc = document) {
  return parsePolicy(doc.querySelector('meta[name="aiclone-password-policy"]')?.getAttribute("content"));
}

/**
 * Attributes of a new-password input under the policy. No `minlength`: the server checks the
 * whole policy (length, blocklist, not the address) and its answer names every problem at once,
 * where the browser's own check would stop at the length alone.
 */
export function newPasswordAttributes(policy) {
  return { type: "password", autocomplete: "new-password", required: true, maxlength: policy.max ?? 1024 };
}
