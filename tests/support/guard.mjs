// Helpers of the end-to-end guard tests (tests/guard.test.mjs): a Worker in
// Miniflare in front of a local origin, requests with session credentials,
// problem+json checks and a look at KV. Built on ./worker.mjs.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { startOrigin, startWorker } from './worker.mjs';
import { COOKIE, listAllKeys, setCookies } from './common.mjs';

export { COOKIE, createSession, expectPage, expectProblem, setCookies, sleep } from './common.mjs';


/** Rules used by most guard tests. */
export const RULES = [
  { path: '/public/**', access: 'public' },
  { path: '/login', methods: ['POST'], access: 'public' },
  { path: '/logout', access: 'public' },
  { path: '/assets/*.js', access: 'public' },
  { path: '/articles/*', methods: ['GET'], access: 'public' },
  { path: '/admin/**', access: 'role:admin' },
  { path: '/app/**', access: 'session' },
];

/**
 * Starts an origin answering with `respond(seen)` and a Worker forwarding to
 * it (`ORIGIN_URL`, `GUARD_RULES` = `rules`, plus `bindings`; `spyKv`,
 * `strong`, `ratelimits` and `throwingLimiters` as startWorker takes them),
 * runs `fn({w, origin})`, and disposes
 * of both whatever happens.
 */
export async function withGuard({
  respond, rules = RULES, bindings = {}, kvNamespaces, originUrl, spyKv, strong, ratelimits, throwingLimiters,
} = {}, fn) {
  const origin = await startOrigin(respond);
  let w;
  try {
    w = await startWorker({
      bindings: { ORIGIN_URL: originUrl ?? origin.url, GUARD_RULES: JSON.stringify(rules), ...bindings },
      kvNamespaces, spyKv, strong, ratelimits, throwingLimiters,
    });
    return await fn({ w, origin });
  } finally {
    if (w) await w.dispose();
    await origin.close();
  }
}

/**
 * One request to the Worker, redirects not followed. `opts`: `method`,
 * `headers`, `body`, `cookie` (session token sent as the cookie), `bearer`
 * (session token as `Authorization: Bearer`), `origin` (true: the Worker's
 * own origin; or a string).
 */
export function send(w, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.cookie !== undefined) {
    const ours = `${COOKIE}=${opts.cookie}`;
    headers.cookie = headers.cookie ? `${headers.cookie}; ${ours}` : ours;
  }
  if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.origin === true) headers.origin = selfOrigin(w);
  else if (typeof opts.origin === 'string') headers.origin = opts.origin;
  const init = { method: opts.method || 'GET', headers, redirect: 'manual' };
  if (opts.body !== undefined) init.body = opts.body;
  return w.fetch(path, init);
}

/** The Worker's own origin as Miniflare serves it. */
export function selfOrigin(w) {
  return new URL(w.base).origin;
}

/** Sends and reads the body as text; answers `{res, text, json}` (json null when not JSON). */
export async function sendText(w, path, opts = {}) {
  const res = await send(w, path, opts);
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { res, text, json };
}

/** `GET /auth/session` with `token` as bearer: answers `{status, session}`. */
export async function currentSession(w, token, via = 'bearer') {
  const opts = via === 'cookie' ? { cookie: token } : { bearer: token };
  const { res, json, text } = await sendText(w, '/auth/session', opts);
  return { status: res.status, session: res.status === 200 ? json : null, body: json ?? text };
}

/** The session cookie among `Set-Cookie` values, parsed: `{value, attrs, raw}` or undefined. */
export function sessionCookie(res) {
  const raw = setCookies(res).find((c) => c.startsWith(`${COOKIE}=`));
  if (!raw) return undefined;
  const [pair, ...rest] = raw.split(';').map((s) => s.trim());
  const value = pair.slice(COOKIE.length + 1);
  const attrs = {};
  for (const a of rest) {
    const eq = a.indexOf('=');
    if (eq < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, eq).toLowerCase()] = a.slice(eq + 1);
  }
  return { value, attrs, raw };
}

/** Asserts the session cookie attributes of the contract (§2). */
export function assertCookieAttrs(c) {
  assert.ok(c, 'a session Set-Cookie');
  assert.equal(c.attrs.httponly, true, `HttpOnly in ${c.raw}`);
  assert.equal(c.attrs.secure, true, `Secure in ${c.raw}`);
  assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', `SameSite=Lax in ${c.raw}`);
  assert.equal(c.attrs.path, '/', `Path=/ in ${c.raw}`);
  assert.match(String(c.attrs['max-age']), /^\d+$/, `Max-Age in ${c.raw}`);
}

/** Every KV key with its value and metadata, sorted by key. */
export async function kvSnapshot(w) {
  const kv = await w.kv();
  const out = [];
  for (const k of await listAllKeys(w)) {
    const { value, metadata } = await kv.getWithMetadata(k.name, 'text');
    out.push({ name: k.name, expiration: k.expiration, value, metadata });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A port on 127.0.0.1 nothing listens on (bound, then released). */
export async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The `x-session-*` headers a recorded origin request carried. */
export function sessionHeaders(seen) {
  return Object.fromEntries(Object.entries(seen.headers).filter(([k]) => k.startsWith('x-session-')));
}


/**
 * `token` with one character in the middle of its tag changed: well formed,
 * but the tag no longer verifies.
 */
export function forge(token) {
  const i = token.length - 10;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

/** A well-formed token for `token`'s session id with another secret and a made-up tag. */
export function forgeSecret(token) {
  const [version, kid, id] = token.split('.');
  const b64 = (n) => randomBytes(n).toString('base64url');
  return [version, kid, id, b64(32), b64(32)].join('.');
}
