// Shared by the client's tests: clients wired to a Worker in Miniflare, a
// cookie jar that plays the browser, and KV record edits.
import assert from 'node:assert/strict';
import { AdminClient, SessionApiError, SessionClient } from '../../dist/index.js';

export const COOKIE = '__Host-session';

/** An admin client of `w` (fetch through Miniflare). */
export function adminOf(w, opts = {}) {
  return new AdminClient({ baseUrl: w.base, adminKey: w.env.ADMIN_KEY, fetch: w.fetch, ...opts });
}

/** A self-service client authenticated by a bearer token. */
export function bearerClient(w, token, opts = {}) {
  return new SessionClient({ baseUrl: w.base, token, fetch: w.fetch, ...opts });
}

/**
 * A fetch that behaves like a browser page on `origin`: it keeps the session
 * cookie from Set-Cookie (and drops it on Max-Age=0), sends it back as a
 * Cookie header, and sends `Origin` on unsafe methods. `seen` records each
 * request's method, URL and headers, and each response's Set-Cookie.
 */
export function browserFetch(w, { origin = w.base, cookie } = {}) {
  const jar = { value: cookie };
  const seen = [];
  const f = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.value !== undefined) headers.set('cookie', `${COOKIE}=${jar.value}`);
    const method = (init.method || 'GET').toUpperCase();
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && origin) headers.set('origin', origin);
    const res = await w.fetch(url, { ...init, headers });
    const setCookies = res.headers.getSetCookie();
    seen.push({ method, url, headers: Object.fromEntries(headers), credentials: init.credentials, setCookies });
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (pair.slice(0, eq) !== COOKIE) continue;
      const cleared = attrs.some((a) => /^max-age=0$/i.test(a));
      jar.value = cleared ? undefined : pair.slice(eq + 1);
    }
    return res;
  };
  return { fetch: f, jar, seen };
}

/** Asserts that `promise` rejects with a SessionApiError of `code` (and `status`, `field`). */
export async function rejectsWith(promise, { code, status, field }, context = '') {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `${context}: expected ${code}, but the call succeeded`);
  assert.ok(error instanceof SessionApiError, `${context}: not a SessionApiError: ${error}`);
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'SessionApiError');
  assert.equal(error.code, code, `${context}: ${error.message}`);
  if (status !== undefined) assert.equal(error.status, status, `${context}: status`);
  if (field !== undefined) assert.equal(error.field, field, `${context}: field`);
  for (const k of ['title', 'detail', 'type']) assert.equal(typeof error[k], 'string', `${context}: ${k}`);
  if (error.status > 0 && error.code !== 'unexpected_response') {
    assert.equal(error.type, `https://edge-session.dev/problems/${code}`, `${context}: type`);
    assert.equal(error.problem?.code, code);
    assert.equal(error.problem?.status, error.status);
  }
  return error;
}

/** Rewrites a session's KV record (`s:{id}`): `edit(record)` changes it in place. */
export async function editRecord(w, id, edit) {
  const kv = await w.kv();
  const key = `s:${id}`;
  const value = await kv.get(key, 'text');
  assert.ok(value, `record ${key} present`);
  const record = JSON.parse(value);
  edit(record);
  await kv.put(key, JSON.stringify(record), { expirationTtl: 86_400 });
  return record;
}

/** Counts the calls of a fetch. */
export function countingFetch(inner) {
  const calls = [];
  const f = (url, init = {}) => {
    calls.push({ url, method: init.method || 'GET' });
    return inner(url, init);
  };
  return { fetch: f, calls };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
