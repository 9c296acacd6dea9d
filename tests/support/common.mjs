// What every Miniflare suite shares: the session cookie's name, creating a
// session through the admin API, problem+json checks, Set-Cookie values and
// walking the KV namespace. tests/support/api.mjs and guard.mjs build on it.
import assert from 'node:assert/strict';

export const COOKIE = '__Host-session';

/** Every `code` of contract §7. */
export const CODES = [
  'invalid_request', 'payload_too_large', 'unsupported_media_type', 'method_not_allowed',
  'not_found', 'unauthorized', 'invalid_token', 'session_expired', 'reauthentication_required',
  'forbidden', 'csrf', 'rate_limited', 'admin_disabled', 'misconfigured', 'store_unavailable',
  'origin_unavailable',
];

/** Status of each code (contract §4, §5, §7). */
export const CODE_STATUS = {
  invalid_request: 400, payload_too_large: 413, unsupported_media_type: 415,
  method_not_allowed: 405, not_found: 404, unauthorized: 401, invalid_token: 401,
  session_expired: 401, reauthentication_required: 401, forbidden: 403, csrf: 403,
  rate_limited: 429, admin_disabled: 503,
  misconfigured: 503, store_unavailable: 503, origin_unavailable: 502,
};

/** Creates a session through the admin API; answers `{token, session}`. */
export async function createSession(w, fields = {}) {
  const res = await w.fetch('/auth/admin/sessions', {
    method: 'POST',
    headers: { authorization: `Bearer ${w.env.ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'alice', ...fields }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, `create session: ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text);
  assert.match(body.token, /^es1\./);
  return body;
}

/** The members every problem has (contract §7). */
export function checkProblemShape(p, status, where = '') {
  assert.equal(typeof p, 'object', where);
  for (const k of ['type', 'title', 'detail', 'code']) assert.equal(typeof p[k], 'string', `${k} in ${where}`);
  assert.equal(p.status, status, `status member in ${where}`);
  assert.ok(CODES.includes(p.code), `unknown code ${p.code} in ${where}`);
  assert.equal(CODE_STATUS[p.code], status, `code ${p.code} with status ${status} in ${where}`);
}

/**
 * Checks a problem+json answer and returns the problem. Either
 * `expectProblem(res, {status, code, field, detail}, context)` (detail: a
 * substring or RegExp) or `expectProblem(res, status, code, context)`.
 */
export async function expectProblem(res, expect, ...rest) {
  let context = rest[0] ?? '';
  if (typeof expect === 'number') {
    expect = { status: expect, code: rest[0] };
    context = rest[1] ?? '';
  }
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

/**
 * Checks the small HTML page a refused browser navigation gets (contract §6)
 * and returns its text: `status`, the `code` shown, self-contained.
 */
export async function expectPage(res, status, code, context = '') {
  const text = await res.text();
  const where = `${context} → ${res.status} ${text.slice(0, 200)}`;
  assert.equal(res.status, status, where);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8', where);
  assert.equal(res.headers.get('cache-control'), 'no-store', where);
  assert.match(res.headers.get('content-security-policy') || '', /^default-src 'none'/, where);
  assert.match(text, /^<!doctype html>/, where);
  assert.ok(text.includes(`<code id="code">${code}</code>`), where);
  assert.doesNotMatch(text, /<script/i, where);
  return text;
}

/** The `Set-Cookie` values of a response. */
export function setCookies(res) {
  return res.headers.getSetCookie();
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

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
