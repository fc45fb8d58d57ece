'use strict';
// Where requests go and how their answers become errors Zapier understands.
//
// aiclone is installed by its users, so there is no fixed host: the connection holds the
// installation's address (`base_url`), falling back to the app's AICLONE_BASE_URL environment
// variable (`zapier env:set`) for an app built for one installation.
const { errors } = require('zapier-platform-core');

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function baseUrl(bundle) {
  const raw = String((bundle.authData && bundle.authData.base_url) || process.env.AICLONE_BASE_URL || '').trim();
  if (!raw) {
    throw new errors.Error('The connection has no aiclone address; reconnect and enter it.', 'missing_base_url', 400);
  }
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new errors.Error(`"${raw}" is not an address; use https://your-aiclone-host.`, 'invalid_base_url', 400);
  }
  // The key travels in every request: plain http only to this machine (a local installation).
  const local = LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw new errors.Error('The aiclone address must start with https://.', 'invalid_base_url', 400);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

const apiUrl = (bundle, path) => baseUrl(bundle) + path;

// beforeRequest: the key travels only in the Authorization header, never in a URL (the server
// refuses keys found in URLs).
function addApiKey(request, z, bundle) {
  request.headers = request.headers || {};
  if (bundle.authData && bundle.authData.api_key) {
    request.headers.Authorization = `Bearer ${bundle.authData.api_key}`;
  }
  request.headers.Accept = 'application/json, application/problem+json';
  return request;
}

function problemOf(response) {
  try {
    const parsed = JSON.parse(response.content);
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

// The server answers errors as RFC 9457 problems; their title, detail and the first field
// errors make the message a Zap's owner sees.
function problemMessage(problem, status) {
  const parts = [problem.title || `HTTP ${status}`];
  if (problem.detail && problem.detail !== problem.title) parts.push(problem.detail);
  const fieldErrors = Array.isArray(problem.errors) ? problem.errors : [];
  for (const item of fieldErrors.slice(0, 5)) {
    if (item && item.message) parts.push(item.field ? `${item.field}: ${item.message}` : item.message);
  }
  return parts.join(' — ');
}

// afterResponse: 401 marks the connection as needing a new key (revoked, expired or wrong),
// 429/503 ask Zapier to retry later, every other error carries the problem's stable type.
function raiseProblems(response, z) {
  if (response.skipThrowForStatus || response.status < 400) return response;
  const problem = problemOf(response);
  const message = problemMessage(problem, response.status);
  if (response.status === 401) {
    throw new z.errors.ExpiredAuthError(`aiclone refused the API key (${message}). Create a new key and reconnect.`);
  }
  if (response.status === 429 || response.status === 503) {
    const retryAfter = Number.parseInt(response.headers.get('retry-after') || '', 10);
    throw new z.errors.ThrottledError(message, Number.isFinite(retryAfter) ? retryAfter : 60);
  }
  throw new z.errors.Error(message, problem.type || `http_${response.status}`, response.status);
}

// Optional fields left empty in the Zap editor arrive as "" or undefined; the API wants them
// absent.
function compact(fields) {
  const out = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

module.exports = { apiUrl, baseUrl, addApiKey, raiseProblems, compact, problemMessage };
