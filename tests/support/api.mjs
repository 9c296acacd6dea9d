// Helpers of the end-to-end tests of the session API (tests/api*.test.mjs):
// requests with admin or session credentials, problem+json checks, and a
// bounded-concurrency runner. Built on startWorker() of ./worker.mjs.
import assert from 'node:assert/strict';
import { COOKIE } from './common.mjs';

export {
  CODES, CODE_STATUS, COOKIE, checkProblemShape, createSession, expectProblem, listAllKeys, setCookies,
} from './common.mjs';

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
