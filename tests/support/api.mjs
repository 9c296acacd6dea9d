// Helpers of the end-to-end tests of the session API (tests/api*.test.mjs):
// requests with admin or session credentials, problem+json checks, and a
// bounded-concurrency runner. Built on startWorker() of ./worker.mjs.
import assert from 'node:assert/strict';

/** Every `code` of contract §7. */
export const CODES = [
  'invalid_request', 'payload_too_large', 'unsupported_media_type', 'method_not_allowed',
  'not_found', 'unauthorized', 'invalid_token', 'session_expired', 'forbidden', 'csrf',
  'admin_disabled', 'misconfigured', 'store_unavailable', 'origin_unavailable',
];

/** Status of each code (contract §4, §5, §7). */
export const CODE_STATUS = {
  invalid_request: 400, payload_too_large: 413, unsupported_media_type: 415,
  method_not_allowed: 405, not_found: 404, unauthorized: 401, invalid_token: 401,
  session_expired: 401, forbidden: 403, csrf: 403, admin_disabled: 503,
  misconfigured: 503, store_unavailable: 503, origin_unavailable: 502,
};

export const COOKIE = '__Host-session';
export const JSON_CT = 'application/json';

/** The parts of a token `es1.{kid}.{id}.{secret}.{tag}`. */
export function tokenParts(token) {
  const [version, kid, id, secret, tag] = token.split('.');
  return { version, kid, id, secret, tag };
}

/** Headers of an admin request. */
export function adminHeaders(w, extra = {}) {
  return { authorization: `Bearer ${w.env.ADMIN_KEY}`, ...extra };
}

/**
 * One request. `opts`: `method`, `json` (serialized with Content-Type
 * application/json), `body` (raw), `headers`, `bearer` (token), `cookie`
 * (token sent as the session cookie), `admin` (true: admin bearer),
 * `origin` (true: the Worker's own origin, or a string).
 */
export function call(w, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.admin) headers.authorization = `Bearer ${w.env.ADMIN_KEY}`;
  if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.cookie !== undefined) headers.cookie = `${opts.cookieName || COOKIE}=${opts.cookie}`;
  if (opts.origin === true) headers.origin = w.base;
  else if (typeof opts.origin === 'string') headers.origin = opts.origin;
  let body = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = JSON_CT;
  }
  const init = { method: opts.method || 'GET', headers };
  if (body !== undefined) init.body = body;
  if (body instanceof ReadableStream) init.duplex = 'half';
  return w.fetch(path, init);
}

/** `call` and the parsed JSON body (null when empty); asserts the status when given. */
export async function callJson(w, path, opts = {}, status) {
  const res = await call(w, path, opts);
  const text = await res.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (status !== undefined) {
    assert.equal(res.status, status, `${opts.method || 'GET'} ${path}: ${res.status} ${text.slice(0, 300)}`);
  }
  return { res, body, text };
}

/** Creates a session through the admin API; answers `{token, session}`. */
export async function createSession(w, fields = {}) {
  const { body } = await callJson(w, '/auth/admin/sessions', {
    method: 'POST', admin: true, json: { userId: 'alice', ...fields },
  }, 201);
  return body;
}

/**
 * Checks a problem+json answer (status, content type, members, code) and
 * returns the problem. `expect`: `{status, code, field, detail}` (detail: a
 * substring or RegExp).
 */
export async function expectProblem(res, expect, context = '') {
  const text = await res.text();
  const where = `${context} → ${res.status} ${text.slice(0, 300)}`;
  if (expect.status !== undefined) assert.equal(res.status, expect.status, where);
  assert.match(res.headers.get('content-type') || '', /^application\/problem\+json/, where);
  const p = JSON.parse(text);
  checkProblemShape(p, res.status, where);
  if (expect.code !== undefined) assert.equal(p.code, expect.code, where);
  if (expect.field !== undefined) assert.equal(p.field, expect.field, where);
  if (typeof expect.detail === 'string') assert.ok(p.detail.includes(expect.detail), where);
  if (expect.detail instanceof RegExp) assert.match(p.detail, expect.detail, where);
  return p;
}

/** The members every problem has (contract §7). */
export function checkProblemShape(p, status, where = '') {
  assert.equal(typeof p, 'object', where);
  for (const k of ['type', 'title', 'detail', 'code']) assert.equal(typeof p[k], 'string', `${k} in ${where}`);
  assert.equal(p.status, status, `status member in ${where}`);
  assert.ok(CODES.includes(p.code), `unknown code ${p.code} in ${where}`);
  assert.equal(CODE_STATUS[p.code], status, `code ${p.code} with status ${status} in ${where}`);
}

/** Runs `tasks` (functions returning promises) at most `limit` at a time. */
export async function pool(tasks, limit = 8) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Every key of the KV namespace, with metadata and expiration (all pages). */
export async function listAllKeys(w) {
  const kv = await w.kv();
  const keys = [];
  let cursor;
  do {
    const page = await kv.list({ cursor });
    keys.push(...page.keys);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return keys;
}

/** The `Set-Cookie` values of a response. */
export function setCookies(res) {
  return typeof res.headers.getSetCookie === 'function'
    ? res.headers.getSetCookie()
    : (res.headers.get('set-cookie') || '').split(/,(?=\s*[^;=]+=)/).filter(Boolean);
}

/** Parses a `Set-Cookie` value into `{name, value, attrs}` (attribute names lower-cased). */
export function parseSetCookie(value) {
  const [pair, ...rest] = value.split(';');
  const eq = pair.indexOf('=');
  const attrs = {};
  for (const a of rest) {
    const [k, ...v] = a.trim().split('=');
    attrs[k.toLowerCase()] = v.length ? v.join('=') : true;
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

/**
 * Sends a request whose body is over the 64 KiB limit. The Worker drains a
 * refused body (up to 1 MiB) before it answers 413, so the client reads the
 * answer instead of a connection reset from the local runtime: a reset here
 * fails the test. Answers `{res, resets}` (resets is always 0).
 */
export async function sendOversize(send) {
  return { res: await send(), resets: 0 };
}
