// The admin calls of AdminClient against the built Worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AdminClient } from '../dist/index.js';
import { startWorker } from './support/worker.mjs';
import { adminOf, bearerClient, rejectsWith } from './support/helpers.mjs';

let w;
let admin;
before(async () => {
  w = await startWorker();
  admin = adminOf(w);
});
after(() => w?.dispose());

describe('AdminClient', () => {
  test('needs an adminKey', () => {
    assert.throws(() => new AdminClient({ baseUrl: w.base }), TypeError);
  });

  test('createSession, verify, getSessionById, patchSessionById (merge patch incl. meta), deleteSessionById', async () => {
    const seen = [];
    const a = new AdminClient({
      baseUrl: w.base, adminKey: w.env.ADMIN_KEY,
      fetch: (url, init) => (seen.push({ url, ...init, headers: new Headers(init.headers) }), w.fetch(url, init)),
    });
    const { token, session } = await a.createSession({
      userId: 'admin-made', label: 'api', meta: { roles: ['admin', 'editor'], org: { id: 7, plan: 'pro' } },
      idleTtl: 120, absoluteTtl: 3600,
    });
    assert.match(token, /^es1\./);
    assert.equal(seen[0].headers.get('authorization'), `Bearer ${w.env.ADMIN_KEY}`);
    assert.equal(seen[0].headers.get('content-type'), 'application/json');
    assert.equal(seen[0].credentials, 'omit', 'the admin client never sends cookies');
    assert.equal(session.label, 'api');
    const ttl = Date.parse(session.absoluteExpiresAt) - Date.parse(session.createdAt);
    assert.equal(ttl, 3_600_000);

    const verified = await a.verify(token);
    assert.equal(verified.id, session.id);
    assert.deepEqual(verified.meta, session.meta);

    assert.equal((await a.getSessionById(session.id)).userId, 'admin-made');

    const patched = await a.patchSessionById(session.id, { meta: { roles: ['admin'], org: { plan: null } } });
    assert.equal(seen.at(-1).headers.get('content-type'), 'application/merge-patch+json');
    assert.deepEqual(patched.meta, { roles: ['admin'], org: { id: 7 } }, 'RFC 7396: null removes, objects merge');
    assert.equal(patched.label, 'api', 'label untouched');
    const cleared = await a.patchSessionById(session.id, { label: null, meta: null });
    assert.equal(cleared.label, null);
    assert.deepEqual(cleared.meta, {}, 'meta: null empties it');

    await a.deleteSessionById(session.id);
    await rejectsWith(a.getSessionById(session.id), { code: 'not_found', status: 404 });
    await rejectsWith(a.deleteSessionById(session.id), { code: 'not_found', status: 404 });
    await rejectsWith(a.patchSessionById(session.id, { label: 'x' }), { code: 'not_found', status: 404 });
    await rejectsWith(a.verify(token), { code: 'invalid_token', status: 401 });
  });

  test('listUserSessions and revokeUserSessions percent-encode the userId', async () => {
    const userId = 'ünï/cødé ?#&%+ user@example.com';
    const other = 'ünï';
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await admin.createSession({ userId }));
    const kept = await admin.createSession({ userId: other });
    const listed = await admin.listUserSessions(userId);
    assert.deepEqual(listed.map((s) => s.id).sort(), made.map((m) => m.session.id).sort());
    assert.ok(listed.every((s) => s.userId === userId && !('meta' in s) && !('current' in s)));
    assert.equal(await admin.revokeUserSessions(userId), 3);
    assert.deepEqual(await admin.listUserSessions(userId), []);
    assert.equal(await admin.revokeUserSessions(userId), 0);
    assert.equal((await bearerClient(w, kept.token).getSession()).userId, other, 'another user untouched');
    await rejectsWith(admin.listUserSessions('x'.repeat(257)), { code: 'invalid_request', status: 400, field: 'userId' });
  });

  test('an id no path can carry (., .., empty, a lone surrogate, not a string) is refused before any request', async () => {
    // `encodeURIComponent('..')` is `..`: the URL resolved it, and
    // listUserSessions('..') became GET /admin/sessions, every user's sessions.
    const seen = [];
    const a = adminOf(w, { fetch: (url, init) => (seen.push(url), w.fetch(url, init)) });
    await a.createSession({ userId: 'dot-victim' });
    const calls = {
      listUserSessions: ['userId', (v) => a.listUserSessions(v)],
      revokeUserSessions: ['userId', (v) => a.revokeUserSessions(v)],
      getSessionById: ['id', (v) => a.getSessionById(v)],
      patchSessionById: ['id', (v) => a.patchSessionById(v, { label: 'x' })],
      deleteSessionById: ['id', (v) => a.deleteSessionById(v)],
    };
    for (const [name, [field, call]] of Object.entries(calls)) {
      for (const bad of ['..', '.', '', '\ud800', undefined, 7]) {
        const e = await rejectsWith(call(bad), { code: 'invalid_argument', status: 0, field }, `${name}(${JSON.stringify(bad)})`);
        assert.equal(e.type, 'about:blank#edge-session-client/invalid_argument');
        assert.equal(e.title, 'Invalid argument');
        assert.match(e.detail, new RegExp(`^${field} `));
      }
    }
    assert.deepEqual(seen.slice(1), [], 'nothing was sent');
    // Dots that are not a whole segment are ids like any other.
    for (const userId of ['...', '.hidden', 'a..b', '%2e%2e']) {
      const made = await a.createSession({ userId });
      assert.deepEqual((await a.listUserSessions(userId)).map((s) => s.id), [made.session.id], userId);
      assert.equal((await a.getSessionById(made.session.id)).userId, userId);
      assert.equal(await a.revokeUserSessions(userId), 1, userId);
    }
    assert.equal((await a.listUserSessions('dot-victim')).length, 1, 'untouched');
  });

  test('listAll follows the cursor over several pages of `limit`', async () => {
    const w2 = await startWorker();
    try {
      const seen = [];
      const a = adminOf(w2, { fetch: (url, init) => (seen.push(url), w2.fetch(url, init)) });
      const ids = [];
      for (let i = 0; i < 7; i++) ids.push((await a.createSession({ userId: `pager-${i % 3}` })).session.id);
      seen.length = 0;

      const all = [];
      for await (const s of a.listAll({ limit: 3 })) all.push(s.id);
      assert.deepEqual(all.sort(), [...ids].sort(), 'every session once');
      assert.equal(seen.length, 3, '7 sessions in pages of 3: 3 requests');
      assert.ok(seen.every((u) => /[?&]limit=3(&|$)/.test(u)));
      assert.ok(!seen[0].includes('cursor='), 'the first page has no cursor');
      assert.ok(seen.slice(1).every((u) => u.includes('cursor=')), 'the next ones follow it');

      const pages = [];
      for await (const p of a.listPages({ limit: 3 })) pages.push(p);
      assert.deepEqual(pages.map((p) => p.sessions.length), [3, 3, 1]);
      assert.equal(pages.at(-1).cursor, null);
      assert.equal(typeof pages[0].cursor, 'string');

      const resumed = [];
      for await (const s of a.listAll({ limit: 3, cursor: pages[0].cursor })) resumed.push(s.id);
      assert.equal(resumed.length, 4, 'resuming after the first page');

      const one = await a.listSessions();
      assert.equal(one.sessions.length, 7);
      assert.equal(one.cursor, null);

      // Stopping early makes no further request.
      seen.length = 0;
      for await (const s of a.listAll({ limit: 2 })) {
        void s;
        break;
      }
      assert.equal(seen.length, 1);

      await rejectsWith(a.listSessions({ limit: 0 }), { code: 'invalid_request', field: 'limit' });
      await rejectsWith(a.listSessions({ limit: 1001 }), { code: 'invalid_request', field: 'limit' });
      await rejectsWith(a.listSessions({ cursor: '' }), { code: 'invalid_request', field: 'cursor' });
    } finally {
      await w2.dispose();
    }
  });
});
