'use strict';
// A real aiclone server on 127.0.0.1 for the app tester, and a local receiver standing in for
// Zapier's hook endpoint (the subscription's target_url points at it).
require('./loopback');
const { spawn } = require('node:child_process');
const { createServer } = require('node:http');
const { createServer: createNetServer } = require('node:net');
const { mkdtempSync, rmSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const repoRoot = resolve(__dirname, '../../..');
const python = process.env.AICLONE_PYTHON || join(repoRoot, '.venv/bin/python');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(predicate, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

class Api {
  constructor(base) {
    this.base = base;
  }

  async call(method, path, { token, json, form, headers = {} } = {}) {
    const all = { 'x-requested-with': 'aiclone', ...headers };
    let body;
    if (token) all.authorization = `Bearer ${token}`;
    if (json !== undefined) {
      all['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      all['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(this.base + path, { method, headers: all, body });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async ok(method, path, options) {
    const { status, body } = await this.call(method, path, options);
    if (status >= 400) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(body)}`);
    return body;
  }
}

// One aiclone process on a fresh SQLite data dir, workers in-process and polling fast, private
// (loopback) webhook and research targets allowed as in development.
async function startServer() {
  if (!existsSync(python)) throw new Error(`no Python interpreter at ${python}; set AICLONE_PYTHON`);
  const dataDir = mkdtempSync(join(tmpdir(), 'aiclone-zapier-'));
  const env = {
    ...process.env,
    PYTHONPATH: join(repoRoot, 'src'),
    AICLONE_ENV: 'development',
    AICLONE_DATA_DIR: dataDir,
    AICLONE_DATABASE_URL: '',
    AICLONE_RATE_LIMIT_ENABLED: 'false',
    AICLONE_LOG_LEVEL: 'WARNING',
    AICLONE_WEBHOOK_ALLOW_PRIVATE: 'true',
    AICLONE_RESEARCH_ALLOW_PRIVATE: 'true',
    AICLONE_WEBHOOK_POLL_SECONDS: '0.1',
    AICLONE_RESEARCH_POLL_SECONDS: '0.1',
  };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(python, ['-m', 'aiclone', 'serve', '--port', String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`aiclone exited ${child.exitCode}:\n${log}`);
      try {
        return (await fetch(`${base}/health`)).ok;
      } catch {
        return false;
      }
    }, 'aiclone to answer /health', 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, env, api: new Api(base), stop, log: () => log };
}

// Registers and signs in a new user, and creates an API key with the scopes the integration needs.
async function userWithKey(server, email, scopes) {
  const password = 'zapier-Pass-1234-xyz';
  await server.api.ok('POST', '/api/auth/register', { json: { email, password, full_name: 'Zapier Tester' } });
  const { access_token: token } = await server.api.ok('POST', '/api/auth/login', {
    form: { username: email, password },
  });
  const created = await server.api.ok('POST', '/api/api-keys', { token, json: { name: 'Zapier', scopes } });
  return { email, token, key: created.key, keyId: created.id };
}

// Stands in for Zapier's hook endpoint: records every POST by path and answers 200, or the
// status set for that path (410 is how Zapier says a subscription is gone).
async function startReceiver() {
  const received = new Map();
  const answers = new Map();
  const pages = new Map();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url, 'http://127.0.0.1').pathname;
      if (req.method === 'GET' && pages.has(path)) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(pages.get(path));
        return;
      }
      if (req.method !== 'POST') {
        res.writeHead(404);
        res.end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      if (!received.has(path)) received.set(path, []);
      received.get(path).push({ headers: req.headers, body });
      const status = answers.get(path) || 200;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: status === 200 ? 'success' : 'gone' }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    url: (path) => base + path,
    bodies: (path) => (received.get(path) || []).map((r) => r.body),
    answer: (path, status) => answers.set(path, status),
    page: (path, html) => pages.set(path, html),
    waitForBodies: (path, count, what, timeoutMs) =>
      waitFor(() => {
        const bodies = (received.get(path) || []).map((r) => r.body);
        return bodies.length >= count ? bodies : null;
      }, what || `${count} hook(s) at ${path}`, timeoutMs),
    close: () => new Promise((r) => server.close(r)),
  };
}

module.exports = { startServer, startReceiver, userWithKey, waitFor, sleep };
