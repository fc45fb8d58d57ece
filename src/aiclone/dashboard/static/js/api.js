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

/** An RFC 9457 problem (or a network failure, status 0) as an Error. */
export class ApiError extends Error {
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

async function problemOf(response) {
  try {
    const body = await response.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {};
  }
}

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
  constructor({ fetchImpl = (...args) => fetch(...args) } = {}) {
    this.fetch = fetchImpl;
    this.token = null;
    this.expiresAt = 0;
    this.renewing = null;
    this.signedOutListeners = new Set();
  }

  get signedIn() {
    return this.token !== null;
  }

  /** Called when the session ends (expired cookie, revoked, signed out elsewhere). */
  onSignedOut(listener) {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

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

  async send(path, init) {
    try {
      return await this.fetch(path, { credentials: "same-origin", ...init });
    } catch (error) {
      throw new ApiError(0, { detail: "The server did not answer. Check your connection." });
    }
  }

  async signIn(email, password) {
    const form = new URLSearchParams({ username: email, password });
    const response = await this.send(SESSION, { method: "POST", body: form, headers: CSRF });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    this.accept(await response.json());
  }

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

  /** Renews the access token from the session cookie; one renewal at a time. False if signed out. */
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
   */
  async request(method, path, { query, json, raw = false, headers = {} } = {}) {
    const url = withQuery(path, query);
    const init = { method, headers: { ...headers } };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    let response;
    for (let attempt = 0; attempt < 2; attempt++) {
      init.headers.Authorization = await this.authorization();
      response = await this.send(url, init);
      if (response.status !== 401 || attempt === 1) break;
      if (!(await this.renew())) break;
    }
    if (response.status === 401) this.forget();
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    if (raw) return response;
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, json, query) {
    return this.request("POST", path, { json, query });
  }

  patch(path, json) {
    return this.request("PATCH", path, { json });
  }

  delete(path, query) {
    return this.request("DELETE", path, { query });
  }

  /**
   * Downloads a response as a file named by the server (Content-Disposition) or `fallbackName`.
   * `method`/`json` allow a POST download (e.g. an export described by a JSON body).
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
