// The self-service calls of SessionClient against the built Worker: cookie
// (browser-like, credentials 'include') and bearer authentication.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SessionClient } from '../dist/index.js';
import { startWorker } from './support/worker.mjs';
import { adminOf, bearerClient, browserFetch, rejectsWith } from './support/helpers.mjs';

let w;
let admin;
before(async () => {
  w = await startWorker();
  admin = adminOf(w);
});
after(() => w?.dispose());

describe('SessionClient in a browser-like page (cookie, credentials include)', () => {
  test('getSession, updateSession, refresh, listSessions, signOut', async () => {
    const { token, session } = await admin.createSession({ userId: 'cookie-user', meta: { roles: ['reader'] } });
    const page = browserFetch(w, { cookie: token });
    const client = new SessionClient({ baseUrl: w.base, fetch: page.fetch });

    const got = await client.getSession();
    assert.equal(got.id, session.id);
    assert.equal(got.userId, 'cookie-user');
    assert.deepEqual(got.meta, { roles: ['reader'] });
    assert.equal(page.seen.at(-1).credentials, 'include');
    assert.equal(page.seen.at(-1).headers.authorization, undefined, 'no bearer: the cookie authenticates');

    const patched = await client.updateSession({ label: 'my laptop' });
    assert.equal(patched.label, 'my laptop');
    const req = page.seen.at(-1);
    assert.equal(req.method, 'PATCH');
    assert.equal(req.headers['content-type'], 'application/merge-patch+json');
    assert.deepEqual(patched.meta, { roles: ['reader'] }, 'meta untouched');
    assert.equal((await client.updateSession({ label: null })).label, null, 'null clears the label (merge patch)');

    const refreshed = await client.refresh();
    assert.equal(refreshed.id, session.id);
    assert.ok(page.seen.at(-1).setCookies.some((c) => c.startsWith('__Host-session=es1.')), 'cookie re-issued');

    const list = await client.listSessions();
    assert.deepEqual(list.map((s) => [s.id, s.current]), [[session.id, true]]);
    assert.ok(!('meta' in list[0]), 'summaries carry no meta');

    await client.signOut();
    assert.ok(page.seen.at(-1).setCookies.some((c) => /^__Host-session=;.*Max-Age=0/i.test(c)), 'cookie cleared');
    assert.equal(page.jar.value, undefined);
    await rejectsWith(client.getSession(), { code: 'unauthorized', status: 401 }, 'after sign-out, no cookie');
    await rejectsWith(bearerClient(w, token).getSession(), { code: 'invalid_token', status: 401 }, 'the token is revoked');
  });

  test('revokeSession, revokeOtherSessions, revokeAllSessions', async () => {
    const user = `devices-${Date.now()}`;
    const mk = async (label) => (await admin.createSession({ userId: user, label }));
    const a = await mk('a');
    const b = await mk('b');
    const c = await mk('c');
    const d = await mk('d');
    const page = browserFetch(w, { cookie: a.token });
    const client = new SessionClient({ baseUrl: w.base, fetch: page.fetch });

    const listed = await client.listSessions();
    assert.deepEqual(listed.map((s) => s.id).sort(), [a, b, c, d].map((x) => x.session.id).sort());
    assert.deepEqual(listed.filter((s) => s.current).map((s) => s.id), [a.session.id]);

    await client.revokeSession(b.session.id);
    assert.equal(page.seen.at(-1).method, 'DELETE');
    await rejectsWith(bearerClient(w, b.token).getSession(), { code: 'invalid_token' }, 'b revoked');
    await rejectsWith(client.revokeSession(b.session.id), { code: 'not_found', status: 404 }, 'b again');

    assert.equal(await client.revokeOtherSessions(), 2, 'c and d');
    assert.match(page.seen.at(-1).url, /\/auth\/sessions\?others=true$/);
    assert.deepEqual((await client.listSessions()).map((s) => s.id), [a.session.id]);
    assert.equal((await client.getSession()).id, a.session.id, 'the current one is kept');

    const e = await mk('e');
    assert.equal(await client.revokeAllSessions(), 2, 'a and e');
    assert.match(page.seen.at(-1).url, /\/auth\/sessions$/);
    assert.equal(page.jar.value, undefined, 'the current session is revoked too: its cookie is cleared');
    await rejectsWith(bearerClient(w, a.token).getSession(), { code: 'invalid_token' }, 'a revoked too');
    await rejectsWith(bearerClient(w, e.token).getSession(), { code: 'invalid_token' }, 'e revoked');
  });

  test('revokeSession of an id no path can carry: invalid_argument, nothing sent', async () => {
    const { token } = await adminOf(w).createSession({ userId: 'dots' });
    const seen = [];
    const client = bearerClient(w, token, { fetch: (url, init) => (seen.push(url), w.fetch(url, init)) });
    for (const bad of ['..', '.', '']) {
      await rejectsWith(client.revokeSession(bad), { code: 'invalid_argument', status: 0, field: 'id' }, JSON.stringify(bad));
    }
    assert.deepEqual(seen, []);
    assert.equal((await client.listSessions()).length, 1, 'still signed in');
  });

  test('revokeSession of another user\'s session: not_found', async () => {
    const mine = await admin.createSession({ userId: 'owner-1' });
    const theirs = await admin.createSession({ userId: 'owner-2' });
    await rejectsWith(bearerClient(w, mine.token).revokeSession(theirs.session.id), { code: 'not_found', status: 404 });
    assert.equal((await bearerClient(w, theirs.token).getSession()).id, theirs.session.id, 'still alive');
  });
});

describe('SessionClient with a bearer token (non-browser)', () => {
  test('every call sends Authorization: Bearer; a token function is called per request', async () => {
    const { token, session } = await admin.createSession({ userId: 'bearer-user' });
    const seen = [];
    const fetch = (url, init) => {
      seen.push(new Headers(init.headers).get('authorization'));
      return w.fetch(url, init);
    };
    let calls = 0;
    const client = new SessionClient({ baseUrl: w.base, fetch, token: async () => (calls++, token) });
    assert.equal((await client.getSession()).id, session.id);
    assert.equal((await client.updateSession({ label: 'cli' })).label, 'cli');
    assert.equal((await client.refresh()).id, session.id);
    assert.equal((await client.listSessions()).length, 1);
    assert.equal(await client.revokeOtherSessions(), 0);
    await client.signOut();
    assert.equal(calls, 6);
    assert.ok(seen.every((h) => h === `Bearer ${token}`));
  });

  test('baseUrl with a path and a custom API prefix', async () => {
    const w2 = await startWorker({ bindings: { API_PREFIX: '/api/session-service' } });
    try {
      const a2 = adminOf(w2, { apiPrefix: 'api/session-service/' });
      const { token } = await a2.createSession({ userId: 'prefixed' });
      const client = new SessionClient({ baseUrl: `${w2.base}/`, apiPrefix: '/api/session-service', token, fetch: w2.fetch });
      assert.equal((await client.getSession()).userId, 'prefixed');
      assert.equal(client.transport.url('/session'), `${w2.base}/api/session-service/session`);
    } finally {
      await w2.dispose();
    }
  });
});
