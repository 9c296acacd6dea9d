// End-to-end tests of the session API (contract §2-5, §7, §8) against the
// built Worker (build/index.js) in Miniflare with local KV. Every test starts
// its own Worker and disposes it; the suite runs its tests concurrently so
// the one real-time expiry test (60 s) overlaps with the rest.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startWorker } from './support/worker.mjs';
import {
  COOKIE, call, callJson, createSession, expectProblem, listAllKeys, parseSetCookie,
  sendOversize, setCookies, tokenParts,
} from './support/api.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OPENAPI = JSON.parse(readFileSync(path.join(root, 'openapi.json'), 'utf8'));

/** Routes and methods of the API (crates/http/src/api.rs ROUTES, contract §4-5). */
const ROUTES = [
  ['/auth/session', ['GET', 'PATCH', 'DELETE']],
  ['/auth/session/refresh', ['POST']],
  ['/auth/sessions', ['GET', 'DELETE']],
  ['/auth/sessions/{id}', ['DELETE']],
  ['/auth/admin/sessions', ['GET', 'POST']],
  ['/auth/admin/verify', ['POST']],
  ['/auth/admin/sessions/{id}', ['GET', 'PATCH', 'DELETE']],
  ['/auth/admin/users/{userId}/sessions', ['GET', 'DELETE']],
  ['/auth/openapi.json', ['GET']],
  ['/auth/.well-known/jwks.json', ['GET']],
];

const TOKEN_RE = /^es1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43,}\.[A-Za-z0-9_-]{43,}$/;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const key32 = () => randomBytes(32).toString('base64');

async function withWorker(opts, fn) {
  const w = await startWorker(opts);
  try {
    return await fn(w);
  } finally {
    await w.dispose();
  }
}

/** A token whose shape is right but whose tag does not verify. */
function forge(token) {
  const p = tokenParts(token);
  const flip = (s) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  return [p.version, p.kid, p.id, p.secret, flip(p.tag)].join('.');
}

function withSecret(token, secret) {
  const p = tokenParts(token);
  return [p.version, p.kid, p.id, secret, p.tag].join('.');
}

/** Every page of the admin listing. */
async function adminListAll(w, limit = 1000) {
  const all = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const { body } = await callJson(w, `/auth/admin/sessions${q}`, { admin: true }, 200);
    assert.ok(Array.isArray(body.sessions));
    assert.ok(body.cursor === null || typeof body.cursor === 'string');
    all.push(...body.sessions);
    cursor = body.cursor;
    pages++;
    assert.ok(pages < 1000, 'listing does not end');
  } while (cursor);
  return { sessions: all, pages };
}

const SUMMARY_KEYS = ['absoluteExpiresAt', 'authenticatedAt', 'client', 'createdAt', 'expiresAt', 'id', 'label', 'lastSeenAt', 'userId'];
const SESSION_KEYS = [...SUMMARY_KEYS, 'meta'].sort();

function assertSession(s, expected = {}) {
  assert.deepEqual(Object.keys(s).sort(), SESSION_KEYS);
  for (const k of ['createdAt', 'authenticatedAt', 'lastSeenAt', 'expiresAt', 'absoluteExpiresAt']) {
    assert.ok(!Number.isNaN(Date.parse(s[k])), `${k} is RFC 3339: ${s[k]}`);
    assert.match(s[k], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  }
  assert.equal(typeof s.meta, 'object');
  assert.ok(!Array.isArray(s.meta));
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(s[k], v, k);
}

function assertSummary(s, { current } = {}) {
  const keys = current === undefined ? SUMMARY_KEYS : [...SUMMARY_KEYS, 'current'];
  assert.deepEqual(Object.keys(s).sort(), [...keys].sort(), `summary keys ${Object.keys(s)}`);
  if (current !== undefined) assert.equal(s.current, current);
}

describe('session API end to end', { concurrency: 4 }, () => {
  test('expired sessions never appear in listings and answer session_expired (real time, ~62 s)', async () => {
    await withWorker({}, async (w) => {
      const user = 'expiring';
      const short = await createSession(w, { userId: user, idleTtl: 60, absoluteTtl: 60, label: 'abs' });
      const idle = await createSession(w, { userId: user, idleTtl: 60, absoluteTtl: 3600, label: 'idle' });
      const live = await createSession(w, { userId: user, label: 'live' });
      const before = await callJson(w, `/auth/admin/users/${user}/sessions`, { admin: true }, 200);
      assert.equal(before.body.sessions.length, 3);
      const deadline = Math.max(Date.parse(short.session.expiresAt), Date.parse(idle.session.expiresAt)) + 1500;
      await sleep(Math.max(0, deadline - Date.now()));

      for (const t of [short.token, idle.token]) {
        await expectProblem(await call(w, '/auth/session', { bearer: t }), { status: 401, code: 'session_expired' }, 'GET session');
        await expectProblem(await call(w, '/auth/session/refresh', { method: 'POST', bearer: t }), { status: 401, code: 'session_expired' }, 'refresh');
        await expectProblem(await call(w, '/auth/sessions', { bearer: t }), { status: 401, code: 'session_expired' }, 'list');
        await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token: t } }), { status: 401, code: 'session_expired' }, 'verify');
      }
      for (const s of [short, idle]) {
        await expectProblem(await call(w, `/auth/admin/sessions/${s.session.id}`, { admin: true }), { status: 404, code: 'not_found' }, 'admin GET expired');
      }
      const expiredIds = new Set([short.session.id, idle.session.id]);
      const self = await callJson(w, '/auth/sessions', { bearer: live.token }, 200);
      assert.deepEqual(self.body.sessions.map((s) => s.id), [live.session.id]);
      const byUser = await callJson(w, `/auth/admin/users/${user}/sessions`, { admin: true }, 200);
      assert.deepEqual(byUser.body.sessions.map((s) => s.id), [live.session.id]);
      const all = await adminListAll(w, 1);
      assert.ok(all.sessions.every((s) => !expiredIds.has(s.id)), 'no expired session in the admin listing');
      assert.deepEqual(all.sessions.map((s) => s.id), [live.session.id]);
      // revoked counts only sessions that were still live.
      const revoked = await callJson(w, `/auth/admin/users/${user}/sessions`, { method: 'DELETE', admin: true }, 200);
      assert.deepEqual(revoked.body, { revoked: 1 });
    });
  });

  test('GET session: bearer or cookie, 401 unauthorized / invalid_token, bearer wins', async () => {
    await withWorker({}, async (w) => {
      const { token, session } = await createSession(w, { userId: 'alice', label: 'laptop', meta: { a: 1 } });
      assert.match(token, TOKEN_RE);
      const { secret } = tokenParts(token);

      const viaBearer = await callJson(w, '/auth/session', { bearer: token }, 200);
      assert.match(viaBearer.res.headers.get('content-type'), /^application\/json/);
      assert.equal(viaBearer.res.headers.get('cache-control'), 'no-store');
      assertSession(viaBearer.body, { id: session.id, userId: 'alice', label: 'laptop', meta: { a: 1 } });
      assert.ok(!viaBearer.text.includes(secret), 'the body never holds the secret');

      const viaCookie = await callJson(w, '/auth/session', { cookie: token }, 200);
      assert.equal(viaCookie.body.id, session.id);
      const quoted = await callJson(w, '/auth/session', { headers: { cookie: `a=1; ${COOKIE}="${token}"; b=2` } }, 200);
      assert.equal(quoted.body.id, session.id);

      const none = await call(w, '/auth/session');
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      await expectProblem(none, { status: 401, code: 'unauthorized' }, 'no token');
      await expectProblem(await call(w, '/auth/session', { headers: { cookie: `other=${token}` } }),
        { status: 401, code: 'unauthorized' }, 'another cookie');
      await expectProblem(await call(w, '/auth/session', { cookie: '' }), { status: 401, code: 'unauthorized' }, 'empty cookie');
      await expectProblem(await call(w, '/auth/session', { headers: { authorization: 'Bearer ' } }),
        { status: 401, code: 'unauthorized' }, 'empty bearer');

      const bad = [
        ['junk', 'abc'],
        ['forged tag', forge(token)],
        ['other secret', withSecret(token, randomBytes(32).toString('base64url'))],
        ['unknown kid', token.replace(/^es1\.k1\./, 'es1.k9.')],
        ['truncated', token.slice(0, -3)],
        ['other version', token.replace(/^es1\./, 'es2.')],
        ['extra part', `${token}.x`],
      ];
      for (const [what, t] of bad) {
        const res = await call(w, '/auth/session', { bearer: t });
        assert.match(res.headers.get('www-authenticate') || '', /error="invalid_token"/, what);
        const p = await expectProblem(res, { status: 401, code: 'invalid_token' }, what);
        assert.ok(!JSON.stringify(p).includes(t), `${what}: the problem never echoes the token`);
        await expectProblem(await call(w, '/auth/session', { cookie: t }), { status: 401, code: 'invalid_token' }, `${what} cookie`);
      }

      // Both present: the bearer token is the one used.
      const both = await callJson(w, '/auth/session', { bearer: token, cookie: 'junk' }, 200);
      assert.equal(both.body.id, session.id);
      await expectProblem(await call(w, '/auth/session', { bearer: forge(token), cookie: token }),
        { status: 401, code: 'invalid_token' }, 'bad bearer, good cookie');
      // A non-bearer Authorization (meant for the origin) leaves the cookie in use.
      const basic = await callJson(w, '/auth/session', { cookie: token, headers: { authorization: 'Basic dXNlcjpwYXNz' } }, 200);
      assert.equal(basic.body.id, session.id);
      // The admin key is not a session token.
      await expectProblem(await call(w, '/auth/session', { admin: true }), { status: 401, code: 'invalid_token' }, 'admin key');
    });
  });

  test('PATCH session: JSON merge patch (RFC 7396) and 400/415 naming the field', async () => {
    await withWorker({}, async (w) => {
      const { token, session } = await createSession(w, {
        userId: 'patcher', label: 'L', meta: { a: 1, nested: { x: 1, y: 2 }, roles: ['r'], keep: 'k' },
      });
      // meta is the admin's (and the origin's) to write: its merge patch semantics, on the admin route.
      const patch = (json, extra = {}) => callJson(w, `/auth/admin/sessions/${session.id}`, { method: 'PATCH', admin: true, json, ...extra });
      // The label is also the holder's.
      const patchOwn = (json, extra = {}) => callJson(w, '/auth/session', { method: 'PATCH', bearer: token, json, ...extra });

      let r = await patch({ meta: { a: null, nested: { y: null, z: 3 }, b: true } });
      assert.equal(r.res.status, 200, r.text);
      assertSession(r.body, { id: session.id, label: 'L', meta: { nested: { x: 1, z: 3 }, roles: ['r'], keep: 'k', b: true } });
      const read = await callJson(w, '/auth/session', { bearer: token }, 200);
      assert.deepEqual(read.body.meta, { nested: { x: 1, z: 3 }, roles: ['r'], keep: 'k', b: true });

      r = await patch({ meta: { roles: ['x', 'y'] } });
      assert.deepEqual(r.body.meta.roles, ['x', 'y'], 'arrays are replaced, not merged');
      r = await patch({ meta: { nested: 'flat' } });
      assert.equal(r.body.meta.nested, 'flat', 'a non-object replaces an object');
      r = await patchOwn({ label: null });
      assert.equal(r.res.status, 200);
      assert.equal(r.body.label, null);
      assert.equal(r.body.meta.keep, 'k', 'meta untouched by a label patch');
      r = await patchOwn({ label: 'new' }, { headers: { 'content-type': 'application/merge-patch+json' } });
      assert.equal(r.res.status, 200, r.text);
      assert.equal(r.body.label, 'new');
      r = await patchOwn({});
      assert.equal(r.res.status, 200);
      assert.equal(r.body.label, 'new');
      r = await patchOwn({ label: 'é'.repeat(128) }, { headers: { 'content-type': 'application/json; charset=utf-8' } });
      assert.equal(r.res.status, 200, r.text);
      r = await patch({ meta: null });
      assert.equal(r.res.status, 200);
      assert.deepEqual(r.body.meta, {});
      const before = (await callJson(w, '/auth/session', { bearer: token }, 200)).body;

      const cases = [
        [{ json: { label: 'x'.repeat(129) } }, 'label'],
        [{ json: { label: 5 } }, 'label'],
        [{ json: { id: 'x' } }, 'body'],
        [{ json: { userId: 'mallory' } }, 'body'],
        [{ json: [] }, 'body'],
        [{ json: null }, 'body'],
        [{ body: '{', headers: { 'content-type': 'application/json' } }, 'body'],
        [{ body: '', headers: { 'content-type': 'application/json' } }, 'body'],
      ];
      for (const [opts, field] of cases) {
        const res = await call(w, '/auth/session', { method: 'PATCH', bearer: token, ...opts });
        await expectProblem(res, { status: 400, code: 'invalid_request', field }, `PATCH ${JSON.stringify(opts).slice(0, 80)}`);
      }
      for (const [opts, field] of [
        [{ json: { meta: 'str' } }, 'meta'],
        [{ json: { meta: [1] } }, 'meta'],
        [{ json: { meta: { big: 'x'.repeat(4100) } } }, 'meta'],
      ]) {
        const res = await call(w, `/auth/admin/sessions/${session.id}`, { method: 'PATCH', admin: true, ...opts });
        await expectProblem(res, { status: 400, code: 'invalid_request', field }, `admin PATCH ${JSON.stringify(opts).slice(0, 80)}`);
      }
      // A holder's patch naming meta, whatever its value, is refused (403 naming meta).
      for (const json of [{ meta: { roles: ['admin'] } }, { meta: null }, { meta: 'str' }, { label: 'x', meta: {} }]) {
        const res = await call(w, '/auth/session', { method: 'PATCH', bearer: token, json });
        await expectProblem(res, { status: 403, code: 'forbidden', field: 'meta' }, `holder PATCH ${JSON.stringify(json)}`);
      }
      for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
        const headers = ct ? { 'content-type': ct } : {};
        const res = await call(w, '/auth/session', { method: 'PATCH', bearer: token, body: '{"label":"x"}', headers });
        await expectProblem(res, { status: 415, code: 'unsupported_media_type' }, `content type ${ct}`);
      }
      const after = (await callJson(w, '/auth/session', { bearer: token }, 200)).body;
      assert.deepEqual(after, before, 'refused patches change nothing');
      await expectProblem(await call(w, '/auth/session', { method: 'PATCH', json: { label: 'x' } }),
        { status: 401, code: 'unauthorized' }, 'PATCH without token');
    });
  });

  test('CSRF: cookie-authenticated unsafe requests need an allowed Origin; bearer is exempt; CORS', async () => {
    const allowed = 'https://app.example.com';
    await withWorker({ bindings: { ALLOWED_ORIGINS: `${allowed}, http://localhost:3000` } }, async (w) => {
      const { token, session } = await createSession(w, { userId: 'csrf-user' });
      const other = await createSession(w, { userId: 'csrf-user' });
      const unsafe = [
        ['PATCH', '/auth/session', { label: 'x' }],
        ['POST', '/auth/session/refresh'],
        ['DELETE', '/auth/session'],
        ['DELETE', '/auth/sessions'],
        ['DELETE', '/auth/sessions?others=true'],
        [`DELETE`, `/auth/sessions/${other.session.id}`],
      ];
      const badOrigins = [undefined, 'https://evil.example', 'null', '', `${w.base}/path`,
        w.base.replace('127.0.0.1', 'localhost'), 'https://app.example.com.evil.example'];
      for (const [method, p, json] of unsafe) {
        for (const origin of badOrigins) {
          const headers = origin === undefined ? {} : { origin };
          const res = await call(w, p, { method, cookie: token, json, headers });
          await expectProblem(res, { status: 403, code: 'csrf' }, `${method} ${p} origin=${origin}`);
        }
      }
      // Nothing above took effect.
      const still = await callJson(w, '/auth/sessions', { bearer: token }, 200);
      assert.equal(still.body.sessions.length, 2);

      // Same origin, an allowed origin, or a bearer token: accepted.
      let r = await callJson(w, '/auth/session', { method: 'PATCH', cookie: token, origin: true, json: { label: 'own' } }, 200);
      assert.equal(r.body.label, 'own');
      r = await callJson(w, '/auth/session', { method: 'PATCH', cookie: token, origin: allowed, json: { label: 'allowed' } }, 200);
      assert.equal(r.res.headers.get('access-control-allow-origin'), allowed);
      assert.equal(r.res.headers.get('access-control-allow-credentials'), 'true');
      assert.match(r.res.headers.get('vary') || '', /Origin/i);
      r = await callJson(w, '/auth/session', { method: 'PATCH', cookie: token, origin: 'HTTP://LOCALHOST:3000', json: { label: 'case' } }, 200);
      r = await callJson(w, '/auth/session', { method: 'PATCH', bearer: token, origin: 'https://evil.example', json: { label: 'bearer' } }, 200);
      assert.equal(r.res.headers.get('access-control-allow-origin'), null, 'no CORS for a foreign origin');
      r = await callJson(w, '/auth/session', { method: 'PATCH', bearer: token, json: { label: 'bearer2' } }, 200);
      // Safe methods need no Origin even with a foreign one.
      r = await callJson(w, '/auth/session', { cookie: token, origin: 'https://evil.example' }, 200);
      assert.equal(r.body.label, 'bearer2');
      r = await callJson(w, `/auth/sessions/${other.session.id}`, { method: 'DELETE', cookie: token, origin: true }, 204);
      assert.equal(r.res.status, 204);

      // Preflights.
      const pre = await call(w, '/auth/session', {
        method: 'OPTIONS', headers: { origin: allowed, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), allowed);
      assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
      assert.match(pre.headers.get('access-control-allow-methods') || '', /PATCH/);
      assert.match(pre.headers.get('access-control-allow-headers') || '', /content-type/i);
      const preEvil = await call(w, '/auth/session', {
        method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'PATCH' },
      });
      assert.ok(preEvil.status < 500);
      assert.equal(preEvil.headers.get('access-control-allow-origin'), null);
      assert.equal(session.id, tokenParts(token).id);
    });
  });

  test('refresh: expiresAt = now + idle TTL, capped by absoluteExpiresAt; cookie re-issued with its attributes', async () => {
    await withWorker({}, async (w) => {
      const { token, session } = await createSession(w, { userId: 'refresher', idleTtl: 120, absoluteTtl: 3600 });
      assert.equal(Date.parse(session.expiresAt) - Date.parse(session.createdAt), 120_000);
      assert.equal(Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt), 3_600_000);
      await sleep(1100);

      const viaBearer = await callJson(w, '/auth/session/refresh', { method: 'POST', bearer: token }, 200);
      assertSession(viaBearer.body, { id: session.id, createdAt: session.createdAt, absoluteExpiresAt: session.absoluteExpiresAt });
      assert.ok(Date.parse(viaBearer.body.lastSeenAt) >= Date.parse(session.lastSeenAt) + 1000);
      assert.equal(Date.parse(viaBearer.body.expiresAt) - Date.parse(viaBearer.body.lastSeenAt), 120_000);
      assert.deepEqual(setCookies(viaBearer.res), [], 'no cookie for a bearer-authenticated refresh');
      const stored = await callJson(w, `/auth/admin/sessions/${session.id}`, { admin: true }, 200);
      assert.equal(stored.body.expiresAt, viaBearer.body.expiresAt, 'the refresh is stored');

      const before = Date.now();
      const viaCookie = await callJson(w, '/auth/session/refresh', { method: 'POST', cookie: token, origin: true }, 200);
      const cookies = setCookies(viaCookie.res);
      assert.equal(cookies.length, 1, `one Set-Cookie: ${cookies}`);
      const c = parseSetCookie(cookies[0]);
      assert.equal(c.name, COOKIE);
      assert.equal(c.value, token);
      assert.equal(c.attrs.httponly, true);
      assert.equal(c.attrs.secure, true);
      assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax');
      assert.equal(c.attrs.path, '/');
      assert.equal(c.attrs.domain, undefined, '__Host- cookies carry no Domain');
      const maxAge = Number(c.attrs['max-age']);
      const toExpiry = (Date.parse(viaCookie.body.expiresAt) - before) / 1000;
      assert.ok(Number.isInteger(maxAge) && maxAge >= 118 && maxAge <= 120, `Max-Age ${maxAge}`);
      assert.ok(Math.abs(maxAge - toExpiry) <= 5, `Max-Age ${maxAge} ≈ seconds to expiresAt ${toExpiry}`);

      // Never past absoluteExpiresAt.
      const capped = await createSession(w, { userId: 'refresher', idleTtl: 120, absoluteTtl: 120 });
      await sleep(1100);
      const r = await callJson(w, '/auth/session/refresh', { method: 'POST', cookie: capped.token, origin: true }, 200);
      assert.equal(r.body.expiresAt, capped.session.absoluteExpiresAt);
      assert.ok(Date.parse(r.body.expiresAt) <= Date.parse(r.body.absoluteExpiresAt));
      const cappedAge = Number(parseSetCookie(setCookies(r.res)[0]).attrs['max-age']);
      assert.ok(cappedAge <= 119, `Max-Age ${cappedAge} counts to absoluteExpiresAt`);

      await expectProblem(await call(w, '/auth/session/refresh', { method: 'POST' }), { status: 401, code: 'unauthorized' });
      await expectProblem(await call(w, '/auth/session/refresh', { method: 'POST', bearer: forge(token) }), { status: 401, code: 'invalid_token' });
      const get = await call(w, '/auth/session/refresh', { bearer: token });
      assert.equal(get.headers.get('allow'), 'POST');
      await expectProblem(get, { status: 405, code: 'method_not_allowed' });
    });
  });

  test('logout: DELETE session answers 204, clears the cookie (Max-Age=0), the token stops working', async () => {
    await withWorker({}, async (w) => {
      const { token, session } = await createSession(w, { userId: 'leaver' });
      const keep = await createSession(w, { userId: 'leaver' });
      const res = await call(w, '/auth/session', { method: 'DELETE', cookie: token, origin: true });
      assert.equal(res.status, 204);
      assert.equal(await res.text(), '');
      const cookies = setCookies(res);
      assert.equal(cookies.length, 1);
      const c = parseSetCookie(cookies[0]);
      assert.equal(c.name, COOKIE);
      assert.equal(c.value, '');
      assert.equal(c.attrs['max-age'], '0');
      assert.equal(c.attrs.path, '/');
      assert.equal(c.attrs.secure, true);
      assert.equal(c.attrs.httponly, true);
      assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax');

      await expectProblem(await call(w, '/auth/session', { bearer: token }), { status: 401, code: 'invalid_token' }, 'after logout');
      await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token } }), { status: 401, code: 'invalid_token' });
      await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`, { admin: true }), { status: 404, code: 'not_found' });
      await expectProblem(await call(w, '/auth/session', { method: 'DELETE', bearer: token }), { status: 401, code: 'invalid_token' }, 'second logout');
      const keys = await listAllKeys(w);
      assert.ok(!keys.some((k) => k.name.includes(session.id)), 'both keys of the session are gone');
      const left = await callJson(w, '/auth/sessions', { bearer: keep.token }, 200);
      assert.deepEqual(left.body.sessions.map((s) => s.id), [keep.session.id]);

      const viaBearer = await call(w, '/auth/session', { method: 'DELETE', bearer: keep.token });
      assert.equal(viaBearer.status, 204);
      await expectProblem(await call(w, '/auth/session', { bearer: keep.token }), { status: 401, code: 'invalid_token' });
      await expectProblem(await call(w, '/auth/session', { method: 'DELETE' }), { status: 401, code: 'unauthorized' });
    });
  });

  test('self-service listing and revocation: GET/DELETE sessions, DELETE sessions/{id}', async () => {
    await withWorker({}, async (w) => {
      const a1 = await createSession(w, { userId: 'alice', label: 'one', meta: { secret: 'm' } });
      const a2 = await createSession(w, { userId: 'alice', label: 'two' });
      const a3 = await createSession(w, { userId: 'alice', label: 'three' });
      const b1 = await createSession(w, { userId: 'bob' });
      const alice = new Set([a1, a2, a3].map((s) => s.session.id));

      const list = await callJson(w, '/auth/sessions', { bearer: a1.token }, 200);
      assert.deepEqual(Object.keys(list.body), ['sessions']);
      assert.deepEqual(new Set(list.body.sessions.map((s) => s.id)), alice);
      for (const s of list.body.sessions) {
        assertSummary(s, { current: s.id === a1.session.id });
        assert.equal(s.userId, 'alice');
      }
      for (const { token } of [a1, a2, a3]) assert.ok(!list.text.includes(tokenParts(token).secret));
      const viaCookie = await callJson(w, '/auth/sessions', { cookie: a2.token }, 200);
      assert.equal(viaCookie.body.sessions.filter((s) => s.current).map((s) => s.id).join(), a2.session.id);

      // Another user's session, an unknown id, a junk id: 404, nothing deleted.
      for (const id of [b1.session.id, randomBytes(32).toString('base64url'), 'x', 'A'.repeat(300)]) {
        await expectProblem(await call(w, `/auth/sessions/${id}`, { method: 'DELETE', bearer: a1.token }),
          { status: 404, code: 'not_found' }, `DELETE sessions/${id.slice(0, 30)}`);
      }
      await callJson(w, '/auth/session', { bearer: b1.token }, 200);

      const del = await call(w, `/auth/sessions/${a2.session.id}`, { method: 'DELETE', cookie: a1.token, origin: true });
      assert.equal(del.status, 204);
      assert.ok(!setCookies(del).some((c) => /Max-Age=0/i.test(c)), 'revoking another session keeps the cookie');
      await expectProblem(await call(w, '/auth/session', { bearer: a2.token }), { status: 401, code: 'invalid_token' });
      await expectProblem(await call(w, `/auth/sessions/${a2.session.id}`, { method: 'DELETE', bearer: a1.token }),
        { status: 404, code: 'not_found' }, 'already revoked');

      for (const q of ['maybe', 'TRUE', '1', '']) {
        await expectProblem(await call(w, `/auth/sessions?others=${q}`, { method: 'DELETE', bearer: a1.token }),
          { status: 400, code: 'invalid_request', field: 'others' }, `others=${q}`);
      }
      const others = await callJson(w, '/auth/sessions?others=true', { method: 'DELETE', cookie: a1.token, origin: true }, 200);
      assert.deepEqual(others.body, { revoked: 1 });
      assert.ok(!setCookies(others.res).some((c) => /Max-Age=0/i.test(c)), 'others=true keeps the cookie');
      await callJson(w, '/auth/session', { bearer: a1.token }, 200);
      await expectProblem(await call(w, '/auth/session', { bearer: a3.token }), { status: 401, code: 'invalid_token' });

      const a4 = await createSession(w, { userId: 'alice' });
      const all = await callJson(w, '/auth/sessions?others=false', { method: 'DELETE', cookie: a1.token, origin: true }, 200);
      assert.deepEqual(all.body, { revoked: 2 });
      const cleared = setCookies(all.res).map(parseSetCookie);
      assert.ok(cleared.some((c) => c.name === COOKIE && c.value === '' && c.attrs['max-age'] === '0'), 'cookie cleared');
      for (const t of [a1.token, a4.token]) {
        await expectProblem(await call(w, '/auth/session', { bearer: t }), { status: 401, code: 'invalid_token' });
      }
      await callJson(w, '/auth/session', { bearer: b1.token }, 200);

      // Revoking one's own session by id clears the cookie.
      const a5 = await createSession(w, { userId: 'alice' });
      const self = await call(w, `/auth/sessions/${a5.session.id}`, { method: 'DELETE', cookie: a5.token, origin: true });
      assert.equal(self.status, 204);
      assert.ok(setCookies(self).some((c) => /Max-Age=0/i.test(c)));
      await expectProblem(await call(w, '/auth/session', { bearer: a5.token }), { status: 401, code: 'invalid_token' });
      await expectProblem(await call(w, '/auth/sessions'), { status: 401, code: 'unauthorized' });
      await expectProblem(await call(w, '/auth/sessions', { method: 'DELETE' }), { status: 401, code: 'unauthorized' });
      await expectProblem(await call(w, `/auth/sessions/${b1.session.id}`, { method: 'DELETE', bearer: forge(b1.token) }),
        { status: 401, code: 'invalid_token' });
    });
  });

  test('admin create: 201 {token, session}, TTLs, admin auth, 400 naming each field, 413, 415', async (t) => {
    await withWorker({}, async (w) => {
      const created = await callJson(w, '/auth/admin/sessions', { method: 'POST', admin: true, json: { userId: 'carol' } }, 201);
      assert.deepEqual(Object.keys(created.body).sort(), ['session', 'token']);
      const { token, session } = created.body;
      assert.match(token, TOKEN_RE);
      const parts = tokenParts(token);
      assert.equal(parts.kid, 'k1');
      assert.equal(parts.id, session.id);
      assert.ok(Buffer.from(parts.secret, 'base64url').length >= 32, 'at least 256 bits of secret');
      assertSession(session, { userId: 'carol', label: null, meta: {} });
      assert.notEqual(session.id, token);
      assert.equal(session.createdAt, session.lastSeenAt);
      assert.equal(session.authenticatedAt, session.createdAt, 'a new session is authenticated when it is created');
      assert.equal(Date.parse(session.expiresAt) - Date.parse(session.createdAt), 604_800_000);
      assert.equal(Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt), 2_592_000_000);

      const ttl = await createSession(w, { userId: 'carol', idleTtl: 60, absoluteTtl: 120, label: 'L', meta: { m: [1, { n: null }] } });
      assert.equal(Date.parse(ttl.session.expiresAt) - Date.parse(ttl.session.createdAt), 60_000);
      assert.equal(Date.parse(ttl.session.absoluteExpiresAt) - Date.parse(ttl.session.createdAt), 120_000);
      assert.deepEqual(ttl.session.meta, { m: [1, { n: null }] });
      const longIdle = await createSession(w, { userId: 'carol', idleTtl: 3_000_000 });
      assert.ok(Date.parse(longIdle.session.absoluteExpiresAt) >= Date.parse(longIdle.session.expiresAt));
      const max = await createSession(w, { userId: 'carol', idleTtl: 31_536_000, absoluteTtl: 31_536_000 });
      assert.equal(Date.parse(max.session.absoluteExpiresAt) - Date.parse(max.session.createdAt), 31_536_000_000);
      await createSession(w, { userId: 'é'.repeat(128) }); // 256 bytes
      await createSession(w, { userId: 'u', label: '😀'.repeat(128) });
      await createSession(w, { userId: 'u', meta: { k: 'x'.repeat(4088) } }); // exactly 4096 bytes
      await createSession(w, { userId: 'u', label: null, meta: null, idleTtl: null, absoluteTtl: null });

      // Admin authentication.
      const body = JSON.stringify({ userId: 'x' });
      const ct = { 'content-type': 'application/json' };
      for (const [what, headers] of [
        ['none', ct],
        ['wrong key', { ...ct, authorization: 'Bearer wrong-key-of-some-length' }],
        ['key + suffix', { ...ct, authorization: `Bearer ${w.env.ADMIN_KEY}x` }],
        ['key prefix', { ...ct, authorization: `Bearer ${w.env.ADMIN_KEY.slice(0, -1)}` }],
        ['basic', { ...ct, authorization: `Basic ${Buffer.from(`admin:${w.env.ADMIN_KEY}`).toString('base64')}` }],
        ['as cookie', { ...ct, cookie: `${COOKIE}=${w.env.ADMIN_KEY}` }],
        ['session token', { ...ct, authorization: `Bearer ${token}` }],
        ['empty bearer', { ...ct, authorization: 'Bearer ' }],
      ]) {
        await expectProblem(await w.fetch('/auth/admin/sessions', { method: 'POST', headers, body }),
          { status: 401, code: 'unauthorized' }, `admin auth ${what}`);
      }
      const lower = await w.fetch('/auth/admin/sessions', { method: 'POST', headers: { ...ct, authorization: `bearer ${w.env.ADMIN_KEY}` }, body });
      assert.equal(lower.status, 201, 'the scheme is case-insensitive');
      await lower.arrayBuffer();

      const bad = [
        [{}, 'userId'],
        [{ userId: 5 }, 'userId'],
        [{ userId: null }, 'userId'],
        [{ userId: '' }, 'userId'],
        [{ userId: 'x'.repeat(257) }, 'userId'],
        [{ userId: `${'é'.repeat(128)}a` }, 'userId'],
        [{ userId: 'a', label: 'x'.repeat(129) }, 'label'],
        [{ userId: 'a', label: 7 }, 'label'],
        [{ userId: 'a', label: ['x'] }, 'label'],
        [{ userId: 'a', meta: [] }, 'meta'],
        [{ userId: 'a', meta: 'x' }, 'meta'],
        [{ userId: 'a', meta: { k: 'x'.repeat(4089) } }, 'meta'],
        [{ userId: 'a', idleTtl: 59 }, 'idleTtl'],
        [{ userId: 'a', idleTtl: 0 }, 'idleTtl'],
        [{ userId: 'a', idleTtl: -60 }, 'idleTtl'],
        [{ userId: 'a', idleTtl: 60.5 }, 'idleTtl'],
        [{ userId: 'a', idleTtl: '60' }, 'idleTtl'],
        [{ userId: 'a', idleTtl: 1e30 }, 'idleTtl'],
        [{ userId: 'a', absoluteTtl: 31_536_001 }, 'absoluteTtl'],
        [{ userId: 'a', absoluteTtl: 59 }, 'absoluteTtl'],
        [{ userId: 'a', absoluteTtl: true }, 'absoluteTtl'],
        [{ userId: 'a', extra: 1 }, 'extra'],
        [{ userId: 'a', token: 'x' }, 'token'],
      ];
      for (const [json, field] of bad) {
        await expectProblem(await call(w, '/auth/admin/sessions', { method: 'POST', admin: true, json }),
          { status: 400, code: 'invalid_request', field }, `create ${JSON.stringify(json).slice(0, 80)}`);
      }
      const order = await call(w, '/auth/admin/sessions', { method: 'POST', admin: true, json: { userId: 'a', idleTtl: 120, absoluteTtl: 60 } });
      const p = await expectProblem(order, { status: 400, code: 'invalid_request' }, 'idleTtl > absoluteTtl');
      assert.ok(['idleTtl', 'absoluteTtl'].includes(p.field), `field ${p.field}`);
      for (const raw of ['{', '[]', 'null', '"x"', '', '{"userId":"a",}', '{"userId":"a"} x']) {
        await expectProblem(await call(w, '/auth/admin/sessions', { method: 'POST', admin: true, body: raw, headers: ct }),
          { status: 400, code: 'invalid_request', field: 'body' }, `raw ${raw}`);
      }
      for (const type of [undefined, 'text/plain', 'application/jsonx', 'multipart/form-data']) {
        const headers = type ? { 'content-type': type } : {};
        await expectProblem(await call(w, '/auth/admin/sessions', { method: 'POST', admin: true, body, headers }),
          { status: 415, code: 'unsupported_media_type' }, `type ${type}`);
      }
      for (const type of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/merge-patch+json']) {
        await callJson(w, '/auth/admin/sessions', { method: 'POST', admin: true, body, headers: { 'content-type': type } }, 201);
      }

      // 64 KiB is the limit, with or without Content-Length.
      const padded = (n) => {
        const json = JSON.stringify({ userId: 'big' });
        return json + ' '.repeat(n - json.length);
      };
      await callJson(w, '/auth/admin/sessions', { method: 'POST', admin: true, body: padded(65536), headers: ct }, 201);
      const oversize = async (what, send) => {
        const { res, resets } = await sendOversize(send);
        if (resets) t.diagnostic(`${what}: ${resets} connection reset(s) by the local runtime before the 413 arrived`);
        await expectProblem(res, { status: 413, code: 'payload_too_large' }, what);
      };
      await oversize('64 KiB + 1', () => call(w, '/auth/admin/sessions', { method: 'POST', admin: true, body: padded(65537), headers: ct }));
      await oversize('1 MiB', () => call(w, '/auth/admin/sessions', { method: 'POST', admin: true, body: 'x'.repeat(1 << 20), headers: ct }));
      // Without Content-Length: a chunked body, pulled 8 KiB at a time.
      const chunked = (size) => {
        let sent = 0;
        return new ReadableStream({
          pull(c) {
            if (sent >= size) return c.close();
            const n = Math.min(8192, size - sent);
            sent += n;
            c.enqueue(new Uint8Array(n).fill(32));
          },
        });
      };
      await oversize('chunked, no Content-Length', () => call(w, '/auth/admin/sessions', { method: 'POST', admin: true, body: chunked(200_000), headers: ct }));
      const small = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(body)); c.close(); } });
      await callJson(w, '/auth/admin/sessions', { method: 'POST', admin: true, body: small, headers: ct }, 201);
      await oversize('self-service PATCH', () => call(w, '/auth/session', { method: 'PATCH', bearer: token, body: padded(70000), headers: ct }));
      await oversize('unknown route', () => call(w, '/auth/nope', { method: 'POST', body: padded(70000), headers: ct }));
    });
  });

  test('admin verify: 200 session, 401 invalid_token, 400 naming token', async () => {
    await withWorker({}, async (w) => {
      const { token, session } = await createSession(w, { userId: 'dave', label: 'v', meta: { r: 1 } });
      const ok = await callJson(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token } }, 200);
      assertSession(ok.body, { id: session.id, userId: 'dave', label: 'v', meta: { r: 1 } });
      assert.ok(!ok.text.includes(tokenParts(token).secret));
      for (const t of ['junk', '', forge(token), withSecret(token, randomBytes(32).toString('base64url')), `${token} `]) {
        const res = await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token: t } });
        const p = await expectProblem(res, { status: 401, code: 'invalid_token' }, `verify ${t.slice(0, 20)}`);
        if (t) assert.ok(!JSON.stringify(p).includes(t));
      }
      for (const json of [{}, { token: 5 }, { token: null }, { token: [token] }]) {
        await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json }),
          { status: 400, code: 'invalid_request', field: 'token' }, `verify ${JSON.stringify(json).slice(0, 40)}`);
      }
      const extra = await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token, x: 1 } }),
        { status: 400, code: 'invalid_request' });
      assert.equal(extra.field, 'x');
      await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: [] }),
        { status: 400, code: 'invalid_request', field: 'body' });
      await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, body: JSON.stringify({ token }) }),
        { status: 415, code: 'unsupported_media_type' });
      await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', bearer: token, json: { token } }),
        { status: 401, code: 'unauthorized' }, 'verify with the session token as admin key');
      const get = await call(w, '/auth/admin/verify', { admin: true });
      assert.equal(get.headers.get('allow'), 'POST');
      await expectProblem(get, { status: 405, code: 'method_not_allowed' });
      await callJson(w, `/auth/admin/sessions/${session.id}`, { method: 'DELETE', admin: true }, 204);
      await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token } }),
        { status: 401, code: 'invalid_token' }, 'verify after revocation');
    });
  });

  test('admin sessions/{id}: GET / PATCH / DELETE, 404, 405 with Allow', async () => {
    await withWorker({}, async (w) => {
      const { token, session } = await createSession(w, { userId: 'erin', label: 'a', meta: { x: { y: 1, z: 2 }, w: 1 } });
      const got = await callJson(w, `/auth/admin/sessions/${session.id}`, { admin: true }, 200);
      assertSession(got.body, { id: session.id, userId: 'erin', label: 'a', meta: { x: { y: 1, z: 2 }, w: 1 } });

      const patched = await callJson(w, `/auth/admin/sessions/${session.id}`,
        { method: 'PATCH', admin: true, json: { label: null, meta: { x: { y: null, q: [1] }, w: null, n: 'new' } } }, 200);
      assertSession(patched.body, { label: null, meta: { x: { z: 2, q: [1] }, n: 'new' } });
      const seen = await callJson(w, '/auth/session', { bearer: token }, 200);
      assert.deepEqual(seen.body.meta, { x: { z: 2, q: [1] }, n: 'new' });
      assert.equal(seen.body.label, null);
      assert.equal(seen.body.expiresAt, session.expiresAt, 'a patch does not move expiresAt');

      await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`, { method: 'PATCH', admin: true, json: { label: 1 } }),
        { status: 400, code: 'invalid_request', field: 'label' });
      await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`, { method: 'PATCH', admin: true, json: { userId: 'x' } }),
        { status: 400, code: 'invalid_request', field: 'body' });
      await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`, { method: 'PATCH', admin: true, body: '{"label":"x"}' }),
        { status: 415, code: 'unsupported_media_type' });
      await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`), { status: 401, code: 'unauthorized' });
      await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`, { bearer: token }), { status: 401, code: 'unauthorized' });

      for (const m of ['PUT', 'POST']) {
        const res = await call(w, `/auth/admin/sessions/${session.id}`, { method: m, admin: true, json: {} });
        assert.equal(res.headers.get('allow'), 'GET, PATCH, DELETE');
        await expectProblem(res, { status: 405, code: 'method_not_allowed' }, m);
      }

      const del = await call(w, `/auth/admin/sessions/${session.id}`, { method: 'DELETE', admin: true });
      assert.equal(del.status, 204);
      assert.equal(await del.text(), '');
      await expectProblem(await call(w, '/auth/session', { bearer: token }), { status: 401, code: 'invalid_token' });
      for (const [method, json] of [['GET'], ['PATCH', { label: 'x' }], ['DELETE']]) {
        await expectProblem(await call(w, `/auth/admin/sessions/${session.id}`, { method, admin: true, json }),
          { status: 404, code: 'not_found' }, `${method} after delete`);
      }
      for (const id of [randomBytes(32).toString('base64url'), 'nope', 'A'.repeat(23), '%00', encodeURIComponent('é')]) {
        await expectProblem(await call(w, `/auth/admin/sessions/${id}`, { admin: true }), { status: 404, code: 'not_found' }, `GET ${id}`);
        await expectProblem(await call(w, `/auth/admin/sessions/${id}`, { method: 'DELETE', admin: true }), { status: 404, code: 'not_found' }, `DELETE ${id}`);
      }
    });
  });

  test('admin listing: limit and cursor validation, summaries without meta', async () => {
    await withWorker({}, async (w) => {
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await createSession(w, { userId: `lister${i}`, meta: { i } }));
      const { body } = await callJson(w, '/auth/admin/sessions', { admin: true }, 200);
      assert.deepEqual(Object.keys(body).sort(), ['cursor', 'sessions']);
      assert.equal(body.cursor, null);
      assert.deepEqual(new Set(body.sessions.map((s) => s.id)), new Set(made.map((m) => m.session.id)));
      for (const s of body.sessions) {
        assertSummary(s);
        const m = made.find((x) => x.session.id === s.id);
        assert.equal(s.userId, m.session.userId);
        assert.equal(s.expiresAt, m.session.expiresAt);
      }
      for (const limit of ['0', '1001', 'abc', '-1', '1.5', '', '1e2', '%20']) {
        await expectProblem(await call(w, `/auth/admin/sessions?limit=${limit}`, { admin: true }),
          { status: 400, code: 'invalid_request', field: 'limit' }, `limit=${limit}`);
      }
      await callJson(w, '/auth/admin/sessions?limit=1000', { admin: true }, 200);
      const one = await callJson(w, '/auth/admin/sessions?limit=1', { admin: true }, 200);
      assert.equal(one.body.sessions.length, 1);
      assert.equal(typeof one.body.cursor, 'string');
      for (const cursor of ['', 'x'.repeat(1025)]) {
        await expectProblem(await call(w, `/auth/admin/sessions?cursor=${cursor}`, { admin: true }),
          { status: 400, code: 'invalid_request', field: 'cursor' }, `cursor length ${cursor.length}`);
      }
      await expectProblem(await call(w, '/auth/admin/sessions'), { status: 401, code: 'unauthorized' });
      const put = await call(w, '/auth/admin/sessions', { method: 'PUT', admin: true });
      assert.equal(put.headers.get('allow'), 'GET, POST');
      await expectProblem(put, { status: 405, code: 'method_not_allowed' });
    });
  });

  test('admin pagination over 25 sessions with limit=10: three pages, no duplicates, null cursor at the end', async () => {
    await withWorker({}, async (w) => {
      const ids = new Set();
      for (let i = 0; i < 25; i++) ids.add((await createSession(w, { userId: `pager${i % 4}` })).session.id);
      const seen = [];
      const sizes = [];
      let cursor = null;
      let pages = 0;
      do {
        const q = cursor ? `?limit=10&cursor=${encodeURIComponent(cursor)}` : '?limit=10';
        const { body } = await callJson(w, `/auth/admin/sessions${q}`, { admin: true }, 200);
        assert.ok(body.sessions.length <= 10);
        sizes.push(body.sessions.length);
        seen.push(...body.sessions.map((s) => s.id));
        cursor = body.cursor;
        pages++;
        assert.ok(pages <= 10, 'pagination ends');
      } while (cursor !== null);
      assert.equal(seen.length, new Set(seen).size, `no duplicates (${sizes})`);
      assert.deepEqual(new Set(seen), ids);
      assert.ok(pages >= 3, `more than one page: ${sizes}`);
      assert.deepEqual(sizes.slice(0, 2), [10, 10]);
    });
  });

  test('405 with Allow on every route, 404 on unknown routes (before authentication)', async () => {
    await withWorker({}, async (w) => {
      const all = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
      const concrete = (p) => p.replace('{id}', randomBytes(32).toString('base64url')).replace('{userId}', 'someone');
      for (const [template, methods] of ROUTES) {
        for (const m of all.filter((x) => !methods.includes(x))) {
          const res = await call(w, concrete(template), { method: m });
          assert.equal(res.status, 405, `${m} ${template}`);
          assert.equal(res.headers.get('allow'), methods.join(', '), `Allow of ${template}`);
          if (m === 'HEAD') {
            assert.match(res.headers.get('content-type') || '', /^application\/problem\+json/);
            await res.arrayBuffer();
          } else {
            await expectProblem(res, { status: 405, code: 'method_not_allowed' }, `${m} ${template}`);
          }
        }
      }
      for (const p of ['/auth/', '/auth/nope', '/auth/session/x', '/auth/sessions/a/b', '/auth/admin', '/auth/admin/',
        '/auth/admin/users', '/auth/admin/users/x', '/auth/admin/users//sessions', '/auth/admin/sessions/', '/auth/sessions/',
        '/auth//session', '/auth/Session', '/auth/session/', '/auth/openapi.yaml', `/auth/${'a'.repeat(5000)}`]) {
        for (const m of ['GET', 'POST', 'DELETE']) {
          await expectProblem(await call(w, p, { method: m, admin: true }), { status: 404, code: 'not_found' }, `${m} ${p.slice(0, 40)}`);
        }
      }
    });
  });

  test('503: admin_disabled without ADMIN_KEY; misconfigured without or with a bad TOKEN_KEYS or a bad var; store_unavailable without KV', async () => {
    const adminRoutes = [
      ['GET', '/auth/admin/sessions'], ['POST', '/auth/admin/sessions', { userId: 'x' }], ['POST', '/auth/admin/verify', { token: 'x' }],
      ['GET', '/auth/admin/sessions/abc'], ['PATCH', '/auth/admin/sessions/abc', {}], ['DELETE', '/auth/admin/sessions/abc'],
      ['GET', '/auth/admin/users/x/sessions'], ['DELETE', '/auth/admin/users/x/sessions'],
    ];
    for (const ADMIN_KEY of [undefined, '', '   ']) {
      await withWorker({ bindings: { ADMIN_KEY } }, async (w) => {
        for (const [method, p, json] of adminRoutes) {
          for (const headers of [{}, { authorization: 'Bearer whatever-key-0123456789' }, { authorization: 'Bearer ' }]) {
            await expectProblem(await call(w, p, { method, json, headers }),
              { status: 503, code: 'admin_disabled' }, `${method} ${p} ADMIN_KEY=${JSON.stringify(ADMIN_KEY)}`);
          }
        }
        // The rest of the API still answers.
        await expectProblem(await call(w, '/auth/session'), { status: 401, code: 'unauthorized' });
        await callJson(w, '/auth/openapi.json', {}, 200);
      });
    }

    const selfRoutes = [['GET', '/auth/session'], ['PATCH', '/auth/session', { label: 'x' }], ['DELETE', '/auth/session'],
      ['POST', '/auth/session/refresh'], ['GET', '/auth/sessions'], ['DELETE', '/auth/sessions'], ['DELETE', '/auth/sessions/abc']];
    const fakeToken = `es1.k1.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    const shortKey = randomBytes(16).toString('base64');
    for (const [what, TOKEN_KEYS, secretText] of [
      ['unset', undefined], ['empty', ''], ['short key', `k1:${shortKey}`, shortKey], ['no colon', 'justtext'],
      ['bad base64', 'k1:!!!not-base64!!!'], ['bad kid', `bad kid:${key32()}`], ['duplicate kid', `k1:${key32()},k1:${key32()}`],
    ]) {
      await withWorker({ bindings: { TOKEN_KEYS } }, async (w) => {
        for (const [method, p, json] of [...selfRoutes, ...adminRoutes]) {
          const admin = p.startsWith('/auth/admin');
          const res = await call(w, p, { method, json, ...(admin ? { admin: true } : { bearer: fakeToken }) });
          const prob = await expectProblem(res, { status: 503, code: 'misconfigured' }, `${method} ${p} TOKEN_KEYS ${what}`);
          if (TOKEN_KEYS !== undefined && TOKEN_KEYS !== '') assert.match(prob.detail, /TOKEN_KEYS/, prob.detail);
          if (secretText) assert.ok(!prob.detail.includes(secretText), 'the detail never shows the key');
        }
        await callJson(w, '/auth/openapi.json', {}, 200);
      });
    }

    for (const [name, value] of [
      ['SESSION_IDLE_TTL', 'abc'], ['SESSION_IDLE_TTL', '59'], ['SESSION_IDLE_TTL', '-60'], ['SESSION_IDLE_TTL', '1h'],
      ['SESSION_ABSOLUTE_TTL', '31536001'], ['COOKIE_NAME', 'bad name'], ['ALLOWED_ORIGINS', '*'],
      ['API_PREFIX', 'auth'], ['GUARD_RULES', '[{'], ['KEY_PREFIX', 'é'],
    ]) {
      await withWorker({ bindings: { [name]: value } }, async (w) => {
        for (const [method, p, json] of [['GET', '/auth/session'], ['POST', '/auth/admin/sessions', { userId: 'x' }], ['GET', '/auth/openapi.json']]) {
          const prob = await expectProblem(await call(w, p, { method, json, admin: true }),
            { status: 503, code: 'misconfigured' }, `${name}=${value} ${method} ${p}`);
          assert.ok(prob.detail.includes(name), `detail names ${name}: ${prob.detail}`);
        }
      });
    }
    // The admin key is a secret: a bad one is named, never shown.
    await withWorker({ bindings: { ADMIN_KEY: 'abc123' } }, async (w) => {
      const prob = await expectProblem(await call(w, '/auth/session'), { status: 503, code: 'misconfigured' });
      assert.match(prob.detail, /ADMIN_KEY/);
      assert.ok(!prob.detail.includes('abc123'));
    });
    // SESSION_ABSOLUTE_TTL below SESSION_IDLE_TTL.
    await withWorker({ bindings: { SESSION_IDLE_TTL: '600', SESSION_ABSOLUTE_TTL: '300' } }, async (w) => {
      const prob = await expectProblem(await call(w, '/auth/session'), { status: 503, code: 'misconfigured' });
      assert.match(prob.detail, /SESSION_ABSOLUTE_TTL|SESSION_IDLE_TTL/);
    });

    await withWorker({ kvNamespaces: [] }, async (w) => {
      await expectProblem(await call(w, '/auth/admin/sessions', { method: 'POST', admin: true, json: { userId: 'x' } }),
        { status: 503, code: 'store_unavailable' }, 'create without KV');
      await expectProblem(await call(w, '/auth/admin/sessions', { admin: true }), { status: 503, code: 'store_unavailable' }, 'list without KV');
    });
  });

  test('vars: SESSION_IDLE_TTL/ABSOLUTE_TTL defaults, COOKIE_NAME, API_PREFIX and KEY_PREFIX', async () => {
    await withWorker({ bindings: { SESSION_IDLE_TTL: '300', SESSION_ABSOLUTE_TTL: '900', COOKIE_NAME: 'sid', API_PREFIX: '/api/auth', KEY_PREFIX: 'app1/' } }, async (w) => {
      const { body } = await callJson(w, '/api/auth/admin/sessions', { method: 'POST', admin: true, json: { userId: 'vars' } }, 201);
      const { token, session } = body;
      assert.equal(Date.parse(session.expiresAt) - Date.parse(session.createdAt), 300_000);
      assert.equal(Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt), 900_000);
      await callJson(w, '/api/auth/session', { cookie: token, cookieName: 'sid' }, 200);
      const r = await callJson(w, '/api/auth/session/refresh', { method: 'POST', cookie: token, cookieName: 'sid', origin: true }, 200);
      const c = parseSetCookie(setCookies(r.res)[0]);
      assert.equal(c.name, 'sid');
      assert.equal(c.value, token);
      // The default cookie name and prefix no longer reach the API.
      const old = await call(w, '/api/auth/session', { cookie: token });
      await expectProblem(old, { status: 401, code: 'unauthorized' });
      const doc = await callJson(w, '/api/auth/openapi.json', {}, 200);
      assert.ok(Object.keys(doc.body.paths).every((p) => p.startsWith('/api/auth/')), Object.keys(doc.body.paths).join());
      const keys = await listAllKeys(w);
      assert.ok(keys.length >= 2);
      assert.ok(keys.every((k) => k.name.startsWith('app1/')), keys.map((k) => k.name).join());
      const list = await callJson(w, `/api/auth/admin/users/vars/sessions`, { admin: true }, 200);
      assert.deepEqual(list.body.sessions.map((s) => s.id), [session.id]);
    });
  });

  test('50 concurrent creates for one user: all listed, then DELETE sessions revokes 50 and none verifies', async () => {
    await withWorker({}, async (w) => {
      const user = 'concurrent@example.com';
      const made = await Promise.all(Array.from({ length: 50 }, (_, i) => createSession(w, { userId: user, label: `c${i}` })));
      const ids = new Set(made.map((m) => m.session.id));
      assert.equal(ids.size, 50);
      const other = await createSession(w, { userId: 'concurrent@example.co' });

      const admin = await callJson(w, `/auth/admin/users/${encodeURIComponent(user)}/sessions`, { admin: true }, 200);
      assert.deepEqual(new Set(admin.body.sessions.map((s) => s.id)), ids);
      admin.body.sessions.forEach((s) => assertSummary(s));
      const mine = await callJson(w, '/auth/sessions', { bearer: made[7].token }, 200);
      assert.equal(mine.body.sessions.length, 50);
      assert.deepEqual(new Set(mine.body.sessions.map((s) => s.id)), ids);
      assert.deepEqual(mine.body.sessions.filter((s) => s.current).map((s) => s.id), [made[7].session.id]);

      const revoked = await callJson(w, '/auth/sessions', { method: 'DELETE', bearer: made[0].token }, 200);
      assert.deepEqual(revoked.body, { revoked: 50 });
      const verdicts = await Promise.all(made.map(async ({ token }) => {
        const { res, body } = await callJson(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token } });
        return [res.status, body && body.code];
      }));
      assert.ok(verdicts.every(([s, c]) => s === 401 && c === 'invalid_token'), JSON.stringify(verdicts.filter(([s]) => s !== 401)));
      const after = await callJson(w, `/auth/admin/users/${encodeURIComponent(user)}/sessions`, { admin: true }, 200);
      assert.deepEqual(after.body.sessions, []);
      await callJson(w, '/auth/session', { bearer: other.token }, 200);
      const keys = await listAllKeys(w);
      assert.ok(keys.every((k) => [...ids].every((id) => !k.name.includes(id))), 'no key of a revoked session is left');
    });
  });

  test('userIds with ":", "/", "%", non-ASCII and emoji: create, list via the admin user route, revoke; no prefix collisions', async () => {
    await withWorker({}, async (w) => {
      const weird = 'tenant:42/user%20name é 日本 😀';
      const prefix = 'tenant:42/user';
      const tiny = 'tenant';
      const w1 = await createSession(w, { userId: weird, label: 'w1' });
      const w2 = await createSession(w, { userId: weird, label: 'w2' });
      const p1 = await createSession(w, { userId: prefix });
      const t1 = await createSession(w, { userId: tiny });
      assert.equal(w1.session.userId, weird);
      assert.equal((await callJson(w, '/auth/session', { bearer: w1.token }, 200)).body.userId, weird);

      const route = (u) => `/auth/admin/users/${encodeURIComponent(u)}/sessions`;
      const listed = await callJson(w, route(weird), { admin: true }, 200);
      assert.deepEqual(new Set(listed.body.sessions.map((s) => s.id)), new Set([w1.session.id, w2.session.id]));
      assert.ok(listed.body.sessions.every((s) => s.userId === weird));
      assert.deepEqual((await callJson(w, route(prefix), { admin: true }, 200)).body.sessions.map((s) => s.id), [p1.session.id]);
      assert.deepEqual((await callJson(w, route(tiny), { admin: true }, 200)).body.sessions.map((s) => s.id), [t1.session.id]);
      assert.deepEqual((await callJson(w, route('tenant:42'), { admin: true }, 200)).body.sessions, []);
      const self = await callJson(w, '/auth/sessions', { bearer: w2.token }, 200);
      assert.deepEqual(new Set(self.body.sessions.map((s) => s.id)), new Set([w1.session.id, w2.session.id]));
      // The admin listing of every user decodes the userId too.
      const all = await adminListAll(w);
      assert.equal(all.sessions.find((s) => s.id === w1.session.id).userId, weird);
      // Non-ASCII percent-encoded in lower case reads the same.
      const lower = `/auth/admin/users/${encodeURIComponent(weird).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}/sessions`;
      assert.equal((await callJson(w, lower, { admin: true }, 200)).body.sessions.length, 2);
      await expectProblem(await call(w, '/auth/admin/users/%FF%FE/sessions', { admin: true }),
        { status: 400, code: 'invalid_request', field: 'userId' }, 'not UTF-8');

      const revoked = await callJson(w, route(weird), { method: 'DELETE', admin: true }, 200);
      assert.deepEqual(revoked.body, { revoked: 2 });
      for (const t of [w1.token, w2.token]) {
        await expectProblem(await call(w, '/auth/session', { bearer: t }), { status: 401, code: 'invalid_token' });
      }
      for (const t of [p1.token, t1.token]) await callJson(w, '/auth/session', { bearer: t }, 200);
      assert.deepEqual((await callJson(w, route(weird), { admin: true }, 200)).body.sessions, []);
      assert.deepEqual((await callJson(w, route(weird), { method: 'DELETE', admin: true }, 200)).body, { revoked: 0 });
      assert.deepEqual((await callJson(w, route(prefix), { method: 'DELETE', admin: true }, 200)).body, { revoked: 1 });
      await callJson(w, '/auth/session', { bearer: t1.token }, 200);
      await expectProblem(await call(w, route(weird)), { status: 401, code: 'unauthorized' });
      await expectProblem(await call(w, route('x'.repeat(257)), { admin: true }), { status: 400, code: 'invalid_request', field: 'userId' });
    });
  });

  test('KV holds no token or secret; every key has an expiration', async () => {
    await withWorker({}, async (w) => {
      const made = [];
      for (const userId of ['kv-a', 'kv-a', 'kv b/ü', '😀']) {
        made.push(await createSession(w, { userId, label: 'lbl', meta: { roles: ['admin'], n: 1 } }));
      }
      await callJson(w, '/auth/session/refresh', { method: 'POST', bearer: made[0].token }, 200);
      await callJson(w, '/auth/session', { method: 'PATCH', bearer: made[1].token, json: { label: 'x' } }, 200);
      await callJson(w, `/auth/admin/sessions/${made[1].session.id}`, { method: 'PATCH', admin: true, json: { meta: { x: 1 } } }, 200);
      await callJson(w, '/auth/session/refresh', { method: 'POST', cookie: made[2].token, origin: true }, 200);

      const kv = await w.kv();
      const keys = await listAllKeys(w);
      const now = Math.floor(Date.now() / 1000);
      assert.equal(keys.length, 2 * made.length, keys.map((k) => k.name).join());
      const needles = made.flatMap(({ token }) => {
        const p = tokenParts(token);
        return [token, p.secret, p.tag, Buffer.from(p.secret, 'base64url').toString('hex'), Buffer.from(p.secret, 'base64url').toString('base64')];
      });
      for (const k of keys) {
        assert.equal(typeof k.expiration, 'number', `${k.name} has an expiration`);
        assert.ok(k.expiration > now, `${k.name} expires in the future`);
        assert.match(k.name, /^(s:[A-Za-z0-9_-]{43}|u:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{43})$/);
        const value = await kv.get(k.name);
        const text = `${k.name}\n${value}\n${JSON.stringify(k.metadata ?? null)}`;
        for (const n of needles) assert.ok(!text.includes(n), `KV entry ${k.name} holds token material`);
      }
      for (const { session } of made) {
        const rec = keys.find((k) => k.name === `s:${session.id}`);
        assert.ok(rec, `record of ${session.id}`);
        const value = JSON.parse(await kv.get(rec.name));
        assert.equal(value.userId ?? value.user_id, session.userId);
        const idx = keys.filter((k) => k.name.startsWith('u:') && k.name.endsWith(`:${session.id}`));
        assert.equal(idx.length, 1, `one index key of ${session.id}`);
        const userPart = idx[0].name.split(':')[1];
        assert.equal(Buffer.from(userPart, 'base64url').toString('utf8'), session.userId);
        assert.ok(idx[0].metadata && typeof idx[0].metadata === 'object', 'the index key carries the summary');
        assert.ok(!JSON.stringify(idx[0].metadata).includes('admin'), 'meta stays out of the index');
        // KV TTLs let every key of the session vanish on their own, after it expires.
        const exp = Math.floor(Date.parse(session.expiresAt) / 1000);
        for (const k of [rec, idx[0]]) {
          assert.ok(k.expiration >= exp - 1, `${k.name} outlives expiresAt`);
          assert.ok(k.expiration <= Math.floor(Date.parse(session.absoluteExpiresAt) / 1000) + 2 * 86400, `${k.name} expiration is bounded`);
        }
      }
    });
  });

  test('token-key rotation across restarts with the same KV: k1 → k2,k1 → k2', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'edge-session-kv-'));
    const A = key32();
    const B = key32();
    const ADMIN_KEY = randomBytes(24).toString('base64url');
    try {
      const old = await withWorker({ kvPersist: dir, bindings: { ADMIN_KEY, TOKEN_KEYS: `k1:${A}` } }, async (w) => {
        const s = await createSession(w, { userId: 'rotor' });
        assert.equal(tokenParts(s.token).kid, 'k1');
        return s;
      });
      const fresh = await withWorker({ kvPersist: dir, bindings: { ADMIN_KEY, TOKEN_KEYS: `k2:${B},k1:${A}` } }, async (w) => {
        const got = await callJson(w, '/auth/session', { bearer: old.token }, 200);
        assert.equal(got.body.id, old.session.id);
        await callJson(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token: old.token } }, 200);
        const s = await createSession(w, { userId: 'rotor' });
        assert.equal(tokenParts(s.token).kid, 'k2');
        await callJson(w, '/auth/session', { bearer: s.token }, 200);
        const list = await callJson(w, '/auth/sessions', { bearer: s.token }, 200);
        assert.deepEqual(new Set(list.body.sessions.map((x) => x.id)), new Set([old.session.id, s.session.id]));
        // A k1-tagged token cannot be relabelled k2.
        await expectProblem(await call(w, '/auth/session', { bearer: old.token.replace('.k1.', '.k2.') }), { status: 401, code: 'invalid_token' });
        return s;
      });
      await withWorker({ kvPersist: dir, bindings: { ADMIN_KEY, TOKEN_KEYS: `k2:${B}` } }, async (w) => {
        await expectProblem(await call(w, '/auth/session', { bearer: old.token }), { status: 401, code: 'invalid_token' }, 'k1 token after k1 is retired');
        await expectProblem(await call(w, '/auth/admin/verify', { method: 'POST', admin: true, json: { token: old.token } }), { status: 401, code: 'invalid_token' });
        const got = await callJson(w, '/auth/session', { bearer: fresh.token }, 200);
        assert.equal(got.body.id, fresh.session.id);
      });
      // A Worker with another key of the same kid does not accept either.
      await withWorker({ kvPersist: dir, bindings: { ADMIN_KEY, TOKEN_KEYS: `k2:${key32()}` } }, async (w) => {
        await expectProblem(await call(w, '/auth/session', { bearer: fresh.token }), { status: 401, code: 'invalid_token' });
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('GET openapi.json answers the document; every path and method of it answers (not 404/405)', async () => {
    await withWorker({}, async (w) => {
      const { res, body: doc } = await callJson(w, '/auth/openapi.json', {}, 200);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      assert.match(doc.openapi, /^3\.1\./);
      assert.deepEqual(doc, OPENAPI, 'the served document is the repo\'s openapi.json');
      const documented = Object.entries(doc.paths).flatMap(([p, item]) =>
        Object.keys(item).filter((m) => ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(m)).map((m) => [p, m.toUpperCase()]));
      const expected = ROUTES.flatMap(([p, ms]) => ms.map((m) => [p, m]));
      assert.deepEqual(new Set(documented.map((x) => x.join(' '))), new Set(expected.map((x) => x.join(' '))));

      for (const [template, method] of documented) {
        const user = `openapi-${method}-${template.length}`;
        const mine = await createSession(w, { userId: user });
        const victim = await createSession(w, { userId: user });
        const p = template.replace('{id}', victim.session.id).replace('{userId}', encodeURIComponent(user));
        const admin = template.startsWith('/auth/admin/');
        let json;
        if (template === '/auth/admin/sessions' && method === 'POST') json = { userId: user };
        else if (template === '/auth/admin/verify') json = { token: mine.token };
        else if (method === 'PATCH') json = { label: 'patched' };
        const open = template.endsWith('openapi.json') || template.endsWith('jwks.json');
        const opts = { method, json, ...(admin ? { admin: true } : open ? {} : { bearer: mine.token }) };
        const r = await callJson(w, p, opts);
        assert.ok(r.res.status >= 200 && r.res.status < 300, `${method} ${template} → ${r.res.status} ${r.text.slice(0, 200)}`);
        const op = doc.paths[template][method.toLowerCase()];
        const documentedStatuses = Object.keys(op.responses || {});
        assert.ok(documentedStatuses.includes(String(r.res.status)), `${method} ${template}: ${r.res.status} is documented (${documentedStatuses})`);
      }
    });
  });

});
