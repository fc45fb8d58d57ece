// @ts-check
// Links the server mails open the dashboard as `<public url>/#<action>=<token>`: the token rides
// in the fragment, so it never reaches a server log or a Referer. The page reads it once, acts,
// and clears the fragment so a reload or a shared screenshot does not carry it.

export const MAIL_ACTIONS = ["reset-password", "verify-email", "confirm-email"];
const MAX_TOKEN = 128;

/** `{ action, token }` for a mailed link's fragment, null for any other hash. */
export function mailedLink(hash) {
  const match = /^#([a-z-]+)=(.+)$/.exec(String(hash ?? ""));
  if (!match || !MAIL_ACTIONS.includes(match[1])) return null;
  let token;
  try {
    token = decodeURIComponent(match[2]).trim();
  } catch {
    return null;
  }
  if (!token || token.length > MAX_TOKEN) return null;
  return { action: match[1], token };
}

/** What the page says once an address link was accepted. */
export function confirmedNotice(action, body) {
  const email = body?.email ? String(body.email) : "your address";
  return action === "confirm-email"
    ? `Your account now uses ${email}.`
    : `Thank you: ${email} is confirmed.`;
}

export const NOT_VERIFIED = "https://aiclone.dev/problems/email-not-verified";

/** True when a sign-in was refused because the address is not confirmed yet. */
export function isNotVerified(error) {
  return error?.status === 403 && error?.type === NOT_VERIFIED;
}
