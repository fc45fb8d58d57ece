// @ts-check
// The API client of the dashboard.
//
// Session model: the access token lives only in this module's memory (never in localStorage, so
// an injected script cannot carry it away after the page is closed). The refresh token never
// reaches JavaScript at all: `POST /api/auth/session` sets it as an HttpOnly, SameSite=Strict
// cookie scoped to /api/auth/session, and `POST /api/auth/session/refresh` rotates it. A reload
// restores the session from that cookie; signing out revokes it on the server.

const SESSION = "/api/auth/session";
const CSRF = { "X-Requested-With": "aiclone" };
// Renew this long before the access token expires.
const RENEW_MARGIN_MS = 60_000;

/**
 * The fields of an RFC 9457 problem the dashboard reads.
 * @typedef {{ title?: string, detail?: string, type?: string, errors?: { field: string, message: string }[] }} Problem
 */

/**
 * Options of {@link Api.request}.
 * @typedef {object} RequestOptions
 * @property {Record<string, unknown>} [query] becomes the query string (empty values left out)
 * @property {unknown} [json] sent as the JSON body
 * @property {boolean} [raw] return the Response itself
 * @property {Record<string, string>} [headers]
 */

/** An RFC 9457 problem (or a network failure, status 0) as an Error. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} [problem]
   */
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.title = problem.title || (status === 0 ? "Cannot reach the server" : `HTTP ${status}`);
    this.detail = problem.detail || "";
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.type = problem.type || "";
  }
}

/**
 * @param {Response} response
 * @returns {Promise<Problem>}
 */
async function problemOf(response) {
  try {
    const body = await response.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {};
  }
}

/**
 * @param {string} path
 * @param {Record<string, unknown> | undefined} query
 */
function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((item) => params.append(key, String(item)));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

export class Api {
  /** @param {{ fetchImpl?: typeof fetch }} [options] */
  constructor({ fetchImpl = (input, init) => fetch(input, init) } = {}) {
    this.fetch = fetchImpl;
    /** @type {string | null} */
    this.token = null;
    this.expiresAt = 0;
    /** @type {Promise<boolean> | null} */
    this.renewing = null;
    /** @type {Set<() => void>} */
    this.signedOutListeners = new Set();
  }

  get signedIn() {
    return this.token !== null;
  }

  /**
   * Called when the session ends (expired cookie, revoked, signed out elsewhere).
   * @param {() => void} listener
   */
  onSignedOut(listener) {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

  /** @param {{ access_token: string, expires_in: number }} body */
  accept(body) {
    this.token = body.access_token;
    this.expiresAt = Date.now() + body.expires_in * 1000;
  }

  forget() {
    const had = this.token !== null;
    this.token = null;
    this.expiresAt = 0;
    if (had) this.signedOutListeners.forEach((listener) => listener());
  }

  /**
   * @param {string} path
   * @param {RequestInit} init
   */
  async send(path, init) {
    try {
      return await this.fetch(path, { credentials: "same-origin", ...init });
    } catch {
      throw new ApiError(0, { detail: "The server did not answer. Check your connection." });
    }
  }

  /**
   * @param {string} email
   * @param {string} password
   */
  async signIn(email, password) {
    const form = new URLSearchParams({ username: email, password });
    const response = await this.send(SESSION, { method: "POST", body: form, headers: CSRF });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    this.accept(await response.json());
  }

  /**
   * @param {string} email
   * @param {string} password
   * @param {string} fullName
   */
  async register(email, password, fullName) {
    const response = await this.send("/api/auth/register", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password, full_name: fullName }),
    });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response.json();
  }

  /**
   * A request of someone who cannot sign in (forgotten password, a mailed link): no token.
   * Returns the parsed JSON body, or null for 204.
   * @param {string} path
   * @param {unknown} json
   */
  async publicPost(path, json) {
    const response = await this.send(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...CSRF },
      body: JSON.stringify(json),
    });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response.status === 204 ? null : response.json();
  }

  /**
   * Renews the access token from the session cookie; one renewal at a time. False if signed out.
   * @returns {Promise<boolean>}
   */
  renew() {
    if (this.renewing) return this.renewing;
    this.renewing = (async () => {
      try {
        const response = await this.send(`${SESSION}/refresh`, { method: "POST", headers: CSRF });
        if (response.ok) {
          this.accept(await response.json());
          return true;
        }
        if (response.status === 401 || response.status === 403) {
          this.forget();
          return false;
        }
        throw new ApiError(response.status, await problemOf(response));
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  async signOut() {
    try {
      await this.send(SESSION, { method: "DELETE", headers: CSRF });
    } finally {
      this.forget();
    }
  }

  async authorization() {
    if (this.token === null) throw new ApiError(401, { title: "Signed out", detail: "Sign in again." });
    if (Date.now() > this.expiresAt - RENEW_MARGIN_MS) await this.renew();
    if (this.token === null) throw new ApiError(401, { title: "Signed out", detail: "Sign in again." });
    return `Bearer ${this.token}`;
  }

  /**
   * An authenticated request. `json` is sent as a JSON body; `query` becomes the query string.
   * Returns the parsed JSON body (null for 204), or the Response itself when `raw` is true.
   * A 401 renews the token once and retries.
   * @param {string} method
   * @param {string} path
   * @param {RequestOptions} [options]
   * @returns {Promise<any>}
   */
  async request(method, path, { query, json, raw = false, headers = {} } = {}) {
    const url = withQuery(path, query);
    /** @type {Record<string, string>} */
    const sent = { ...headers };
    /** @type {RequestInit} */
    const init = { method, headers: sent };
    if (json !== undefined) {
      sent["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    const attempt = async () => {
      sent.Authorization = await this.authorization();
      return this.send(url, init);
    };
    let response = await attempt();
    if (response.status === 401 && (await this.renew())) response = await attempt();
    if (response.status === 401) this.forget();
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    if (raw) return response;
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  /**
   * @param {string} path
   * @param {Record<string, unknown>} [query]
   */
  get(path, query) {
    return this.request("GET", path, { query });
  }

  /**
   * @param {string} path
   * @param {unknown} [json]
   * @param {Record<string, unknown>} [query]
   */
  post(path, json, query) {
    return this.request("POST", path, { json, query });
  }

  /**
   * @param {string} path
   * @param {unknown} json
   */
  patch(path, json) {
    return this.request("PATCH", path, { json });
  }

  /**
   * @param {string} path
   * @param {Record<string, unknown>} [query]
   */
  delete(path, query) {
    return this.request("DELETE", path, { query });
  }

  /**
   * Downloads a response as a file named by the server (Content-Disposition) or `fallbackName`.
   * `method`/`json` allow a POST download (e.g. an export described by a JSON body).
   * @param {string} path
   * @param {Record<string, unknown> | undefined} query
   * @param {string} fallbackName
   * @param {{ method?: string, json?: unknown }} [options]
   */
  async download(path, query, fallbackName, { method = "GET", json } = {}) {
    const response = await this.request(method, path, { query, json, raw: true });
    const blob = await response.blob();
    const disposition = response.headers.get("content-disposition") || "";
    const match = /filename="?([^";]+)"?/i.exec(disposition);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = match ? match[1] : fallbackName;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    return { name: link.download, size: blob.size };
  }
}
