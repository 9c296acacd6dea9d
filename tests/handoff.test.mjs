// The origin's handoff (contract §6) against the real runtime, in both
// consistency modes, with a spy on every KV and owner call (issue 18):
// - cross-site sign-ins and sign-outs are refused with nothing written,
//   same-site ones and a cross-site GET callback work;
// - workerd joins repeated header lines with ", " (no API tells them
//   apart): a joined X-Session-Issue signs no one in, a joined
//   X-Session-Revoke acts on its strongest part or, unreadable, never
//   passes as done;
// - a response given the session cookie is never left publicly cacheable.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COOKIE, createSession, currentSession, expectProblem, send, sendText, sessionCookie, setCookies, withGuard,
} from './support/guard.mjs';

const EVIL = 'https://evil.example';

/**
 * The origin: `/login` (any method) and `GET /callback` answer
 * `X-Session-Issue`, `/logout` answers `X-Session-Revoke`; the test picks
 * the lines with `x-test-issue` / `x-test-revoke` (JSON arrays: one header
 * line each) and a `Cache-Control` with `x-test-cache`. Anything else is
 * echoed.
 */
function handoffOrigin() {
  return (seen) => {
    const lines = (name, fallback) => (seen.headers[name] ? JSON.parse(seen.headers[name]) : fallback);
    const headers = {};
    if (seen.headers['x-test-cache']) {
      headers['cache-control'] = seen.headers['x-test-cache'];
      headers['cdn-cache-control'] = 'max-age=600';
    }
    const path = seen.url.split('?')[0];
    if (path === '/login' || path === '/callback') headers['x-session-issue'] = lines('x-test-issue', ['{"userId":"mallory"}']);
    else if (path === '/logout') headers['x-session-revoke'] = lines('x-test-revoke', ['all']);
    return { headers, body: JSON.stringify({ page: path }) };
  };
}

const RULES = [
  { path: '/login', access: 'public' },
  { path: '/logout', access: 'public' },
  { path: '/callback', methods: ['GET'], access: 'public' },
  { path: '/**', access: 'session' },
];

const ADMIN = (w) => ({ authorization: `Bearer ${w.env.ADMIN_KEY}` });

async function sessionsOf(w, userId) {
  const res = await w.fetch(`/auth/admin/users/${userId}/sessions`, { headers: ADMIN(w) });
  assert.equal(res.status, 200);
  return (await res.json()).sessions;
}

/** Neither handoff header reached the client. */
function assertStripped(res, where) {
  assert.equal(res.headers.get('x-session-issue'), null, `${where}: X-Session-Issue stripped`);
  assert.equal(res.headers.get('x-session-revoke'), null, `${where}: X-Session-Revoke stripped`);
}

for (const mode of ['eventual', 'strong']) {
  describe(`handoff (issue 18), ${mode} mode`, { concurrency: 2 }, () => {
    const stack = (fn) => withGuard({ respond: handoffOrigin(), rules: RULES, spyKv: true, strong: mode === 'strong' }, fn);

    test('cross-site POST sign-ins and sign-outs are refused with nothing written', async () => {
      await stack(async ({ w, origin }) => {
        const victim = await createSession(w, { userId: 'victim' });
        const other = await createSession(w, { userId: 'victim' });
        const refused = [
          // The red team's forced sign-out: the cookie as a non-browser sends it.
          ['/logout', { cookie: victim.token }],
          ['/logout', { cookie: victim.token, origin: EVIL }],
          ['/logout', { cookie: victim.token, origin: 'null', headers: { 'sec-fetch-site': 'cross-site' } }],
          // Login CSRF: no cookie, but a foreign Origin or Sec-Fetch-Site.
          ['/login', { origin: EVIL }],
          ['/login', { headers: { 'sec-fetch-site': 'cross-site' } }],
          ['/login', { cookie: victim.token, origin: EVIL, headers: { 'x-test-revoke': '["all"]' } }],
        ];
        for (const [path, opts] of refused) {
          const where = `${path} ${JSON.stringify(opts)}`;
          w.resetKvOps();
          const res = await send(w, path, { method: 'POST', body: 'user=mallory', ...opts });
          assertStripped(res, where);
          assert.deepEqual(setCookies(res), [], `${where}: no cookie set nor cleared`);
          await expectProblem(res, 403, 'csrf', where);
          assert.deepEqual(w.kvOps(), {}, `${where}: no KV or owner call at all`);
        }
        assert.equal(origin.received.length, refused.length, 'the origin saw each request (its answer was replaced)');
        for (const s of [victim, other]) assert.equal((await currentSession(w, s.token)).status, 200, 'still signed in');
        assert.deepEqual(await sessionsOf(w, 'mallory'), [], 'no session for the attacker');
      });
    });

    test('same-origin sign-in and sign-out, a native client and a cross-site GET callback work', async () => {
      await stack(async ({ w }) => {
        // The demo's form from the Worker's own page.
        w.resetKvOps();
        const login = await send(w, '/login', {
          method: 'POST', origin: true, headers: { 'sec-fetch-site': 'same-origin', 'x-test-issue': '["{\\"userId\\":\\"alice\\"}"]' },
        });
        assert.equal(login.status, 200, await login.clone().text());
        assertStripped(login, 'same-origin login');
        const issued = sessionCookie(login);
        assert.match(issued.value, /^es1\./);
        const writes = w.kvOps();
        assert.ok((writes.put ?? 0) + (writes['do:fetch'] ?? 0) > 0, `written: ${JSON.stringify(writes)}`);
        assert.equal((await currentSession(w, issued.value)).session.userId, 'alice');

        const logout = await send(w, '/logout', {
          method: 'POST', cookie: issued.value, origin: true, headers: { 'x-test-revoke': '["current"]' },
        });
        assert.equal(logout.status, 200);
        assert.equal(sessionCookie(logout).attrs['max-age'], '0');
        assert.equal((await currentSession(w, issued.value)).status, 401, 'signed out');

        // A native client: neither Origin nor Sec-Fetch-Site.
        const native = await send(w, '/login', { method: 'POST', body: 'x', headers: { 'x-test-issue': '["{\\"userId\\":\\"cli\\"}"]' } });
        assert.equal(native.status, 200);
        assert.equal((await currentSession(w, sessionCookie(native).value)).session.userId, 'cli');

        // An OAuth callback: a cross-site top-level GET.
        const callback = await send(w, '/callback?code=x', {
          headers: { 'sec-fetch-site': 'cross-site', accept: 'text/html', 'x-test-issue': '["{\\"userId\\":\\"oauth\\"}"]' },
        });
        assert.equal(callback.status, 200);
        assertStripped(callback, 'callback');
        assert.equal((await currentSession(w, sessionCookie(callback).value)).session.userId, 'oauth');
      });
    });

    test('two X-Session-Issue lines, joined by the runtime, sign no one in', async () => {
      await stack(async ({ w }) => {
        for (const lines of [
          // The attack pass: "a, b" would have been the label.
          ['{"userId":"mallory","label":"a', 'b"}'],
          // Joined, valid JSON: {"userId":"mallory", "label":"b"}.
          ['{"userId":"mallory"', '"label":"b"}'],
          ['{"userId":"mallory"}', '{"userId":"mallory"}'],
          ['{"userId":"mallory"}', ''],
        ]) {
          w.resetKvOps();
          const { res, json } = await sendText(w, '/login', { method: 'POST', body: '', headers: { 'x-test-issue': JSON.stringify(lines) } });
          assert.equal(res.status, 200, JSON.stringify(lines));
          assert.deepEqual(json, { page: '/login' }, 'the origin\'s page, as a malformed issue is ignored');
          assertStripped(res, JSON.stringify(lines));
          assert.deepEqual(setCookies(res), [], JSON.stringify(lines));
          assert.equal(w.kvOps().put ?? 0, 0, JSON.stringify(lines));
        }
        assert.deepEqual(await sessionsOf(w, 'mallory'), []);
        // One line whose comma-space is written as \u002c: one value.
        const escaped = await send(w, '/login', { method: 'POST', body: '', headers: { 'x-test-issue': JSON.stringify(['{"userId":"mallory","label":"a\\u002c b"}']) } });
        const me = await currentSession(w, sessionCookie(escaped).value);
        assert.equal(me.session.label, 'a, b');
      });
    });

    test('two X-Session-Revoke lines: the strongest acts; an unreadable one never passes as done', async () => {
      await stack(async ({ w }) => {
        const pair = async (userId) => [await createSession(w, { userId }), await createSession(w, { userId })];
        const logout = (token, lines) => send(w, '/logout', { method: 'POST', bearer: token, headers: { 'x-test-revoke': JSON.stringify(lines) } });
        // `current, current`: the session goes once, the user's other stays.
        let [a, b] = await pair('carol');
        let res = await logout(a.token, ['current', 'current']);
        assert.equal(res.status, 200);
        assertStripped(res, 'current, current');
        assert.equal(sessionCookie(res).attrs['max-age'], '0');
        assert.equal((await currentSession(w, a.token)).status, 401, 'current, current: revoked');
        assert.equal((await currentSession(w, b.token)).status, 200, 'current, current: only the current one');
        // `current, all` and `all, current`: everything.
        for (const lines of [['current', 'all'], ['all', 'current']]) {
          [a, b] = await pair(`dave-${lines[0]}`);
          res = await logout(a.token, lines);
          assert.equal(res.status, 200);
          for (const s of [a, b]) assert.equal((await currentSession(w, s.token)).status, 401, `${lines}: all gone`);
        }
        // Unreadable: 502 instead of the "signed out" page, nothing revoked.
        for (const lines of [['current', 'bogus'], ['current', ''], ['bogus'], ['current', 'current', 'maybe']]) {
          [a, b] = await pair('erin');
          w.resetKvOps();
          res = await logout(a.token, lines);
          assertStripped(res, JSON.stringify(lines));
          assert.deepEqual(setCookies(res), [], `${JSON.stringify(lines)}: the cookie is kept`);
          await expectProblem(res, { status: 502, code: 'origin_unavailable', detail: 'nothing was revoked' }, JSON.stringify(lines));
          const ops = w.kvOps();
          assert.equal((ops.delete ?? 0) + (ops['do:fetch'] ?? 0), 0, `${JSON.stringify(lines)}: ${JSON.stringify(ops)}`);
          for (const s of [a, b]) assert.equal((await currentSession(w, s.token)).status, 200, `${JSON.stringify(lines)}: still signed in`);
        }
      });
    });

    test('a response given the session cookie is private; one without keeps the origin\'s caching', async () => {
      await stack(async ({ w }) => {
        const PUBLIC = 'public, max-age=86400';
        const login = await send(w, '/login', { method: 'POST', headers: { 'x-test-cache': PUBLIC } });
        assert.ok(sessionCookie(login));
        assert.equal(login.headers.get('cache-control'), 'private, max-age=86400');
        assert.equal(login.headers.get('cdn-cache-control'), null);
        const token = sessionCookie(login).value;
        const page = await send(w, '/app/page', { bearer: token, headers: { 'x-test-cache': PUBLIC } });
        assert.deepEqual(setCookies(page), []);
        assert.equal(page.headers.get('cache-control'), PUBLIC, 'no cookie added: untouched');
        assert.equal(page.headers.get('cdn-cache-control'), 'max-age=600');
        for (const [cache, expected] of [['public, s-maxage=3600, max-age=60', 'private, max-age=60'], ['no-store', 'no-store'], [undefined, 'private']]) {
          const out = await send(w, '/logout', {
            method: 'POST', bearer: token, headers: { 'x-test-revoke': '["current"]', ...(cache ? { 'x-test-cache': cache } : {}) },
          });
          assert.equal(sessionCookie(out).attrs['max-age'], '0');
          assert.equal(out.headers.get('cache-control'), expected, `clearing, origin ${cache}`);
        }
        // A refused handoff is the Worker's own problem: never stored.
        const refused = await send(w, '/login', { method: 'POST', origin: EVIL, headers: { 'x-test-cache': PUBLIC } });
        assert.equal(refused.headers.get('cache-control'), 'no-store');
        await refused.arrayBuffer();
        assert.equal(setCookies(refused).filter((c) => c.startsWith(COOKIE)).length, 0);
      });
    });
  });
}
