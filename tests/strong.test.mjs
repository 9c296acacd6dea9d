// End-to-end tests of `strong` mode (SESSION_CONSISTENCY=strong): the built
// Worker and its own UserSessions Durable Object class (SQLite-backed) in
// Miniflare, in front of a local origin. Owner calls and KV calls are
// counted through wrapped bindings (tests/support/kv-spy.js, do-spy.js).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startOrigin, startWorker, randomSecrets } from './support/worker.mjs';
import { call, callJson, pool } from './support/api.mjs';
import { COOKIE, createSession, expectProblem, sleep } from './support/common.mjs';

const RULES = [
  { path: '/public/**', access: 'public' },
  { path: '/admin/**', access: 'role:admin' },
];

/** A strong-mode Worker in front of a fresh origin; disposes of both. */
async function withStrong(options, fn) {
  const origin = await startOrigin();
  let w;
  try {
    w = await startWorker({
      strong: true,
      spyKv: true,
      ...options,
      bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES), ...(options.bindings || {}) },
    });
    return await fn({ w, origin });
  } finally {
    if (w) await w.dispose();
    await origin.close();
  }
}

const guarded = (w, token, p = '/app/page') => w.fetch(p, { headers: { authorization: `Bearer ${token}` } });
const withCookie = (w, token, p = '/app/page') => w.fetch(p, { headers: { cookie: `${COOKIE}=${token}` } });
const ops = (w) => w.kvOps();

/** Sessions of `userId` in the global listing (KV's index), every page. */
async function globallyListed(w, userId) {
  let mine = 0;
  let cursor = null;
  do {
    const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const { body } = await callJson(w, `/auth/admin/sessions?limit=1000${q}`, { admin: true }, 200);
    mine += body.sessions.filter((s) => s.userId === userId).length;
    cursor = body.cursor;
  } while (cursor);
  return mine;
}

/** Until the global listing shows `n` sessions of `userId`; answers the last count. */
async function untilListed(w, userId, n, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const mine = await globallyListed(w, userId);
    if (mine === n || Date.now() > end) return mine;
    await sleep(200);
  }
}

describe('strong mode, end to end', { concurrency: 3 }, () => {
  test('misconfigured: strong without USER_SESSIONS, or any other value, is 503 misconfigured naming the var', async () => {
    const origin = await startOrigin();
    try {
      const w = await startWorker({
        strong: true, ownerBinding: false, bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES) },
      });
      try {
        const p = await expectProblem(await w.fetch('/app/x', { headers: { authorization: 'Bearer es1.k1.a.b.c' } }), 503, 'misconfigured');
        assert.match(p.detail, /SESSION_CONSISTENCY/);
        assert.match(p.detail, /USER_SESSIONS/);
        await expectProblem(await call(w, '/auth/admin/sessions', { admin: true, method: 'POST', json: { userId: 'a' } }), 503, 'misconfigured');
        const pub = await w.fetch('/public/hello');
        assert.equal(pub.status, 200, 'public paths still work');
        assert.equal(origin.received.length, 1, 'only the public request reached the origin');
      } finally {
        await w.dispose();
      }
      const w2 = await startWorker({ bindings: { SESSION_CONSISTENCY: 'Strong', ORIGIN_URL: origin.url } });
      try {
        const p = await expectProblem(await w2.fetch('/app/x'), 503, 'misconfigured');
        assert.match(p.detail, /^SESSION_CONSISTENCY: must be "eventual" or "strong"/);
        assert.ok(!p.detail.includes('Strong'), 'the value is not echoed');
      } finally {
        await w2.dispose();
      }
    } finally {
      await origin.close();
    }
  });

  test('a guarded request is one owner call and no KV read; a forged token costs nothing', async () => {
    await withStrong({}, async ({ w, origin }) => {
      const { token, session } = await createSession(w, { userId: 'alice', meta: { roles: ['admin'] } });
      assert.equal(session.id.length, 43, 'the id carries the owner');
      w.resetKvOps();
      const res = await guarded(w, token);
      assert.equal(res.status, 200);
      const seen = origin.received.at(-1);
      assert.equal(seen.headers['x-session-id'], session.id);
      assert.equal(seen.headers['x-session-user'], 'alice');
      assert.deepEqual(ops(w), { 'do:fetch': 1 });
      assert.equal((await guarded(w, token, '/admin/panel')).status, 200, 'roles come from the owner');

      w.resetKvOps();
      const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BA' : 'AA');
      await expectProblem(await guarded(w, forged), 401, 'invalid_token');
      await expectProblem(await guarded(w, 'es1.k1.nope'), 401, 'invalid_token');
      assert.deepEqual(ops(w), {}, 'no owner call, no KV call');
    });
  });

  test('exact costs per request kind: owner calls and KV calls', async () => {
    await withStrong({}, async ({ w }) => {
      const measure = async (fn) => {
        w.resetKvOps();
        await fn();
        return ops(w);
      };
      const first = await measure(() => createSession(w, { userId: 'lee' }));
      assert.deepEqual(first, { 'do:fetch': 1, list: 1, put: 1 }, "a user's first login: index put + one KV list to move in older sessions");
      let second;
      assert.deepEqual(await measure(async () => { second = await createSession(w, { userId: 'lee' }); }), { 'do:fetch': 1, put: 1 });
      assert.deepEqual(await measure(() => guarded(w, second.token)), { 'do:fetch': 1 }, 'guarded request');
      assert.deepEqual(await measure(() => callJson(w, '/auth/session', { bearer: second.token }, 200)), { 'do:fetch': 1 });
      assert.deepEqual(await measure(() => callJson(w, '/auth/sessions', { bearer: second.token }, 200)), { 'do:fetch': 2 }, 'authenticate + list');
      assert.deepEqual(await measure(() => callJson(w, '/auth/session', { method: 'PATCH', bearer: second.token, json: { label: 'x' } }, 200)), { 'do:fetch': 2, put: 1 }, 'label: the index entry follows');
      assert.deepEqual(await measure(() => callJson(w, '/auth/admin/users/lee/sessions', { admin: true }, 200)), { 'do:fetch': 1 });
      assert.deepEqual(await measure(() => callJson(w, '/auth/admin/sessions', { admin: true }, 200)), { list: 1 }, 'global listing: KV only');
      assert.deepEqual(await measure(() => callJson(w, '/auth/session', { method: 'DELETE', bearer: second.token }, 204)), { 'do:fetch': 2, delete: 1 });
      assert.deepEqual(await measure(() => callJson(w, '/auth/admin/users/lee/sessions', { admin: true, method: 'DELETE' }, 200)), { 'do:fetch': 1, delete: 1 });
    });
  });

  test('a revocation is refused by the very next request, from any client, and by the API', async () => {
    await withStrong({}, async ({ w, origin }) => {
      const { token } = await createSession(w, { userId: 'bob' });
      assert.equal((await withCookie(w, token)).status, 200, 'browser');
      assert.equal((await guarded(w, token)).status, 200, 'API client');
      await callJson(w, '/auth/session', { method: 'DELETE', bearer: token }, 204);
      const before = origin.received.length;
      await expectProblem(await withCookie(w, token), 401, 'invalid_token');
      await expectProblem(await guarded(w, token), 401, 'invalid_token');
      await callJson(w, '/auth/admin/verify', { admin: true, method: 'POST', json: { token } }, 401);
      assert.equal(origin.received.length, before, 'nothing forwarded');
    });
  });

  test('self-service and admin API over the owner: read, label, refresh, list, revoke others, by id', async () => {
    await withStrong({}, async ({ w }) => {
      const a = await createSession(w, { userId: 'carol', label: 'laptop' });
      const b = await createSession(w, { userId: 'carol', label: 'phone' });
      const { body: me } = await callJson(w, '/auth/session', { bearer: a.token }, 200);
      assert.equal(me.label, 'laptop');
      const { body: renamed } = await callJson(w, '/auth/session', { method: 'PATCH', bearer: a.token, json: { label: 'work' } }, 200);
      assert.equal(renamed.label, 'work');
      await callJson(w, '/auth/session', { method: 'PATCH', bearer: a.token, json: { meta: { roles: ['admin'] } } }, 403);
      const { body: refreshed } = await callJson(w, '/auth/session/refresh', { method: 'POST', bearer: a.token }, 200);
      assert.ok(Date.parse(refreshed.expiresAt) >= Date.parse(me.expiresAt));
      const { body: mine } = await callJson(w, '/auth/sessions', { bearer: a.token }, 200);
      assert.deepEqual(mine.sessions.map((s) => [s.label, s.current]).sort(), [['phone', false], ['work', true]]);
      const { body: byId } = await callJson(w, `/auth/admin/sessions/${b.session.id}`, { admin: true }, 200);
      assert.equal(byId.userId, 'carol');
      const { body: patched } = await callJson(w, `/auth/admin/sessions/${b.session.id}`, {
        admin: true, method: 'PATCH', json: { meta: { roles: ['x'] } }, headers: { 'content-type': 'application/merge-patch+json' },
      }, 200);
      assert.deepEqual(patched.meta, { roles: ['x'] });
      const { body: others } = await callJson(w, '/auth/sessions?others=true', { method: 'DELETE', bearer: a.token }, 200);
      assert.equal(others.revoked, 1);
      await expectProblem(await guarded(w, b.token), 401, 'invalid_token');
      assert.equal((await guarded(w, a.token)).status, 200);
      await callJson(w, `/auth/admin/sessions/${a.session.id}`, { admin: true, method: 'DELETE' }, 204);
      await expectProblem(await guarded(w, a.token), 401, 'invalid_token');
      await callJson(w, `/auth/admin/sessions/${a.session.id}`, { admin: true }, 404);
    });
  });

  test('50 concurrent logins of one user are all listed (owner and KV index) and all revoked by revoke-all', async () => {
    await withStrong({}, async ({ w }) => {
      const created = await pool(Array.from({ length: 50 }, () => () => createSession(w, { userId: 'dave' })), 50);
      const { body } = await callJson(w, `/auth/admin/users/dave/sessions`, { admin: true }, 200);
      assert.equal(body.sessions.length, 50);
      assert.equal(await untilListed(w, 'dave', 50), 50, 'the global listing has them too');
      const { body: revoked } = await callJson(w, `/auth/admin/users/dave/sessions`, { admin: true, method: 'DELETE' }, 200);
      assert.equal(revoked.revoked, 50);
      const statuses = await pool(created.map((c) => () => guarded(w, c.token).then((r) => r.status)), 10);
      assert.deepEqual([...new Set(statuses)], [401]);
      assert.equal(await untilListed(w, 'dave', 0), 0);
    });
  });

  test('revoke-all of 1100 sessions answers at once, leaves none working, and the owner finishes KV by alarm', { timeout: 240_000 }, async () => {
    await withStrong({ spyKv: false }, async ({ w }) => {
      const created = await pool(Array.from({ length: 1100 }, () => () => createSession(w, { userId: 'erin' })), 16);
      assert.equal(await untilListed(w, 'erin', 1100, 30_000), 1100);
      const { body } = await callJson(w, '/auth/admin/users/erin/sessions', { admin: true, method: 'DELETE' }, 200);
      assert.equal(body.revoked, 1100);
      const statuses = await pool(created.filter((_, i) => i % 37 === 0).map((c) => () => guarded(w, c.token).then((r) => r.status)), 8);
      assert.deepEqual([...new Set(statuses)], [401]);
      // More than one invocation's KV budget: the alarm carries it on.
      assert.equal(await untilListed(w, 'erin', 0, 30_000), 0);
    });
  });

  test('MAX_SESSIONS_PER_USER: a new login beyond it revokes the least recently seen', async () => {
    await withStrong({ bindings: { MAX_SESSIONS_PER_USER: '2' } }, async ({ w }) => {
      const first = await createSession(w, { userId: 'fay' });
      await sleep(5);
      const second = await createSession(w, { userId: 'fay' });
      await sleep(5);
      await callJson(w, '/auth/session/refresh', { method: 'POST', bearer: first.token }, 200);
      await sleep(5);
      const third = await createSession(w, { userId: 'fay' });
      assert.equal((await guarded(w, first.token)).status, 200);
      await expectProblem(await guarded(w, second.token), 401, 'invalid_token');
      assert.equal((await guarded(w, third.token)).status, 200);
    });
  });

  test('an owner that cannot be reached: 503 store_unavailable, nothing forwarded; public paths still work', async () => {
    await withStrong({}, async ({ w, origin }) => {
      const { token } = await createSession(w, { userId: 'gil' });
      w.failKv('do:fetch', 3);
      const before = origin.received.length;
      await expectProblem(await guarded(w, token), 503, 'store_unavailable');
      await expectProblem(await withCookie(w, token), 503, 'store_unavailable');
      await callJson(w, '/auth/session', { bearer: token }, 503);
      assert.equal(origin.received.length, before, 'fail closed');
      assert.equal((await w.fetch('/public/ok')).status, 200);
      assert.equal((await guarded(w, token)).status, 200, 'works again once reachable');
    });
  });

  test('origin handoff in strong mode: X-Session-Issue creates through the owner, X-Session-Revoke: all revokes there', async () => {
    const origin = await startOrigin((seen) => {
      if (seen.url === '/login') return { headers: { 'x-session-issue': JSON.stringify({ userId: 'hal', meta: { roles: ['admin'] } }) } };
      if (seen.url === '/logout-all') return { headers: { 'x-session-revoke': 'all' } };
      return {};
    });
    const w = await startWorker({
      strong: true,
      bindings: {
        ORIGIN_URL: origin.url,
        GUARD_RULES: JSON.stringify([{ path: '/login', access: 'public' }]),
      },
    });
    try {
      const login = await w.fetch('/login', { method: 'POST', headers: { origin: w.base } });
      assert.equal(login.status, 200);
      const cookie = login.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
      const token = cookie.slice(COOKIE.length + 1).split(';')[0];
      const other = await createSession(w, { userId: 'hal' });
      assert.equal((await withCookie(w, token, '/admin/x')).status, 200);
      const out = await withCookie(w, token, '/logout-all');
      assert.equal(out.status, 200);
      await expectProblem(await withCookie(w, token), 401, 'invalid_token');
      await expectProblem(await guarded(w, other.token), 401, 'invalid_token');
    } finally {
      await w.dispose();
      await origin.close();
    }
  });

  test('switching eventual → strong keeps sessions working; revoked after the switch stays revoked, also after switching back', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'edge-session-switch-'));
    const secrets = randomSecrets();
    const origin = await startOrigin();
    const start = (strong) => startWorker({
      strong, secrets, kvPersist: path.join(dir, 'kv'), durableObjectsPersist: path.join(dir, 'do'),
      bindings: { ORIGIN_URL: origin.url },
    });
    try {
      let w = await start(false);
      const kept = await createSession(w, { userId: 'ivy', label: 'kept' });
      const revoked = await createSession(w, { userId: 'ivy', label: 'revoked-later' });
      const untouched = await createSession(w, { userId: 'jon' });
      assert.equal((await guarded(w, kept.token)).status, 200);
      await w.dispose();

      w = await start(true);
      assert.equal((await guarded(w, kept.token)).status, 200, 'moved into its owner on first use');
      assert.equal((await guarded(w, revoked.token)).status, 200);
      const { body: listed } = await callJson(w, '/auth/admin/users/ivy/sessions', { admin: true }, 200);
      assert.deepEqual(listed.sessions.map((s) => s.label).sort(), ['kept', 'revoked-later']);
      await callJson(w, '/auth/session', { method: 'DELETE', bearer: revoked.token }, 204);
      await expectProblem(await guarded(w, revoked.token), 401, 'invalid_token');
      const { body: all } = await callJson(w, '/auth/admin/users/jon/sessions', { admin: true, method: 'DELETE' }, 200);
      assert.equal(all.revoked, 1, 'revoke-all reaches sessions never used since the switch');
      await expectProblem(await guarded(w, untouched.token), 401, 'invalid_token');
      await w.dispose();

      w = await start(false);
      await expectProblem(await guarded(w, revoked.token), 401, 'invalid_token');
      await expectProblem(await guarded(w, untouched.token), 401, 'invalid_token');
      assert.equal((await guarded(w, kept.token)).status, 200, 'a session moved in and never revoked works again');
      await w.dispose();
    } finally {
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('sliding expiry (real time, ~31 s) in strong mode: extended by the owner, cookie re-issued, at most once', async () => {
    await withStrong({}, async ({ w }) => {
      const { token, session } = await createSession(w, { userId: 'kim', idleTtl: 60 });
      await sleep(31_000);
      w.resetKvOps();
      const res = await withCookie(w, token);
      assert.equal(res.status, 200);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
      assert.ok(cookie, 'cookie re-issued');
      let now;
      for (let i = 0; i < 50; i++) {
        ({ body: now } = await callJson(w, '/auth/session', { bearer: token }, 200));
        if (now.expiresAt !== session.expiresAt) break;
        await sleep(100);
      }
      assert.ok(Date.parse(now.expiresAt) > Date.parse(session.expiresAt), 'extended');
      const res2 = await withCookie(w, token);
      assert.equal(res2.status, 200);
      assert.ok(!res2.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE}=`)), 'once per half idle TTL');
      assert.equal(ops(w).getWithMetadata, undefined, 'no KV read in strong mode');
    });
  });
});
