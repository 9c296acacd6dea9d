// Guard policy end to end (contract §6 "Recent login", "Rate limits",
// refused browser navigations): the built Worker in Miniflare with its
// `ratelimits` bindings, in front of a local origin.
//
// Miniflare's rate limiter counts in fixed windows of its period (60 s
// here), cleared when the window turns: each test that counts to a limit
// first waits out a window about to turn (atWindowStart).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession, expectProblem, send, sendText, sessionCookie, setCookies, sleep, withGuard } from './support/guard.mjs';

const PERIOD_MS = 60_000;

/** Waits, when less than `needMs` is left of the current window, for the next one. */
async function atWindowStart(needMs = 20_000) {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < needMs) await sleep(left + 100);
}

const limit = (n) => ({ simple: { limit: n, period: 60 } });
/** The bindings RULES name, with limits the tests never reach. */
const BOUND = { RL_API: limit(1000), RL_SEARCH: limit(1000) };

const RULES = [
  { path: '/', access: 'public' },
  { path: '/login', methods: ['POST'], access: 'public' },
  { path: '/search', access: 'public', limit: 'RL_SEARCH' },
  { path: '/account/email', access: 'session', fresh: 1 },
  { path: '/admin/**', access: 'role:admin' },
  { path: '/api/**', access: 'session', limit: 'RL_API' },
  { path: '/app/**', access: 'session' },
];

const ADMIN_PATH = '/auth/admin/sessions';

function admin(w, { key = w.env.ADMIN_KEY, ip, method = 'GET', body } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (ip) headers['cf-connecting-ip'] = ip;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return w.fetch(ADMIN_PATH, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

describe('guard policy (contract §6), end to end', { concurrency: 4 }, () => {
  test('admin-key guessing is cut off at the limit, before the comparison; the real key still works for another IP', async () => {
    await atWindowStart();
    await withGuard({ rules: RULES, ratelimits: { ...BOUND, RL_ADMIN: limit(3) } }, async ({ w }) => {
      const wrong = 'not-the-admin-key-at-all-0123';
      // Good requests never count.
      for (let i = 0; i < 5; i++) assert.equal((await admin(w, { ip: '198.51.100.7' })).status, 200);
      for (let i = 0; i < 3; i++) {
        await expectProblem(await admin(w, { key: wrong, ip: '198.51.100.7' }), 401, 'unauthorized', `guess ${i}`);
      }
      const cut = await admin(w, { key: wrong, ip: '198.51.100.7' });
      assert.equal(cut.headers.get('retry-after'), '60');
      await expectProblem(cut, 429, 'rate_limited', 'the fourth guess');
      // The right key from the guessing client: refused before it is compared.
      const right = await admin(w, { ip: '198.51.100.7' });
      assert.match(right.headers.get('retry-after'), /^\d+$/);
      await expectProblem(right, 429, 'rate_limited', 'the real key from the guessing IP');
      // The real key from another client works.
      const other = await admin(w, { ip: '198.51.100.8' });
      assert.equal(other.status, 200);
      assert.ok(Array.isArray((await other.json()).sessions));
      // IPv6: the whole /64 is one client (three guesses counted, the fourth refused).
      for (let i = 1; i <= 4; i++) await admin(w, { key: wrong, ip: `2001:db8:7:7::${i}` });
      await expectProblem(await admin(w, { ip: '2001:db8:7:7:ffff::1' }), 429, 'rate_limited', 'same /64');
      assert.equal((await admin(w, { ip: '2001:db8:7:8::1' })).status, 200, 'the next /64');
    });
  });

  test('creations per user are cut off (admin API and handoff), and another user is unaffected', async () => {
    await atWindowStart();
    const respond = (req) => (req.url === '/login' ? { status: 303, headers: { location: '/', 'x-session-issue': '{"userId":"alice"}' } } : {});
    await withGuard({ rules: RULES, respond, ratelimits: { ...BOUND, RL_CREATE: limit(2) } }, async ({ w, origin }) => {
      await createSession(w, { userId: 'alice' });
      await createSession(w, { userId: 'alice' });
      const res = await admin(w, { method: 'POST', body: { userId: 'alice' } });
      assert.equal(res.headers.get('retry-after'), '60');
      await expectProblem(res, 429, 'rate_limited', 'third session of alice');
      await createSession(w, { userId: 'bob' });
      // The origin signs alice in again: refused, no cookie, nothing created.
      const login = await send(w, '/login', { method: 'POST', origin: true, headers: { accept: 'text/html' } });
      assert.equal(login.status, 429);
      assert.match(login.headers.get('content-type'), /^text\/html/);
      assert.match(await login.text(), />rate_limited</);
      assert.deepEqual(setCookies(login), []);
      assert.equal(origin.received.length, 1, 'the origin had the request; its answer was replaced');
      const list = await w.fetch('/auth/admin/users/alice/sessions', { headers: { authorization: `Bearer ${w.env.ADMIN_KEY}` } });
      assert.equal((await list.json()).sessions.length, 2);
    });
  });

  test('a per-user rule limits a signed-in user and not their neighbour; nothing over it is forwarded', async () => {
    await atWindowStart();
    await withGuard({ rules: RULES, ratelimits: { RL_API: limit(3), RL_SEARCH: limit(2) } }, async ({ w, origin }) => {
      const alice = await createSession(w, { userId: 'alice' });
      const alice2 = await createSession(w, { userId: 'alice' });
      const bob = await createSession(w, { userId: 'bob' });
      for (let i = 0; i < 3; i++) assert.equal((await sendText(w, '/api/x', { bearer: alice.token })).res.status, 200);
      const res = await send(w, '/api/x', { cookie: alice2.token });
      assert.equal(res.headers.get('retry-after'), '60');
      await expectProblem(res, 429, 'rate_limited', 'alice, another device');
      assert.equal(origin.received.filter((r) => r.url === '/api/x').length, 3, 'nothing forwarded over the limit');
      assert.equal((await sendText(w, '/api/x', { bearer: bob.token })).res.status, 200, 'bob is not alice');
      // Other paths of alice's are not limited.
      assert.equal((await sendText(w, '/app/x', { bearer: alice.token })).res.status, 200);
      // A public rule counts per client IP, IPv6 by /64.
      const search = (ip) => send(w, '/search', { headers: { 'cf-connecting-ip': ip } });
      assert.equal((await search('2001:db8:1:2::1')).status, 200);
      assert.equal((await search('2001:db8:1:2:abcd::2')).status, 200);
      await expectProblem(await search('2001:db8:1:2::3'), 429, 'rate_limited', 'same /64');
      assert.equal((await search('2001:db8:1:3::1')).status, 200, 'the next /64');
      assert.equal((await search('203.0.113.9')).status, 200);
    });
  });

  test('a throwing binding fails open for the guard and closed for the admin API', async () => {
    await withGuard({
      rules: RULES, throwingLimiters: ['RL_API', 'RL_SEARCH', 'RL_ADMIN', 'RL_CREATE'],
    }, async ({ w, origin }) => {
      const alice = await createSession(w, { userId: 'alice' }).catch((e) => e);
      // RL_CREATE throwing: the admin API creates nothing.
      assert.ok(alice instanceof Error && /create session: 503/.test(alice.message), String(alice));
      for (let i = 0; i < 5; i++) assert.equal((await send(w, '/search')).status, 200);
      assert.equal(origin.received.length, 5, 'let through');
      // RL_ADMIN throwing: a failed key is refused 503, and so is that client's next request.
      await expectProblem(await admin(w, { key: 'not-the-admin-key-at-all-0123', ip: '192.0.2.1' }), 503, 'store_unavailable', 'uncountable failure');
      await expectProblem(await admin(w, { ip: '192.0.2.1' }), 503, 'store_unavailable', 'same client, right key');
      // A backend with the right key never needs the binding.
      assert.equal((await admin(w, { ip: '192.0.2.2' })).status, 200);
    });
    // A guarded rule whose binding throws: the session's request goes on.
    await withGuard({ rules: RULES, throwingLimiters: ['RL_API'], ratelimits: { RL_SEARCH: limit(1000) } }, async ({ w, origin }) => {
      const { token } = await createSession(w, { userId: 'alice' });
      for (let i = 0; i < 5; i++) assert.equal((await sendText(w, '/api/x', { bearer: token })).res.status, 200);
      assert.equal(origin.received.length, 5);
    });
  });

  for (const strong of [false, true]) {
    test(`exact KV and owner call counts are unchanged when no limit is hit (${strong ? 'strong' : 'eventual'})`, async () => {
      // The same requests with the limits (bound, never reached) and
      // without them (the rules' `limit` left out, nothing bound).
      const run = async (rules, ratelimits) => withGuard({
        rules, spyKv: true, strong, ratelimits,
        respond: (req) => (req.url === '/login' ? { headers: { 'x-session-issue': '{"userId":"carol"}' } } : {}),
      }, async ({ w }) => {
        const counts = {};
        const step = async (name, fn) => {
          w.resetKvOps();
          await fn();
          await sleep(300); // waitUntil work and owner drains
          counts[name] = w.kvOps();
        };
        let token;
        await step('admin create', async () => { token = (await createSession(w, { userId: 'alice' })).token; });
        await step('guarded, limited rule', async () => assert.equal((await sendText(w, '/api/x', { bearer: token })).res.status, 200));
        await step('public, limited rule', async () => assert.equal((await sendText(w, '/search')).res.status, 200));
        await step('handoff sign-in', async () => {
          const res = await send(w, '/login', { method: 'POST', origin: true });
          await res.arrayBuffer();
          assert.ok(sessionCookie(res));
        });
        await step('admin list', async () => assert.equal((await admin(w)).status, 200));
        return counts;
      });
      const plain = RULES.map(({ limit: _, ...rule }) => rule);
      const without = await run(plain, {});
      const withLimits = await run(RULES, { ...BOUND, RL_ADMIN: limit(100), RL_CREATE: limit(100) });
      assert.deepEqual(withLimits, without);
      // And what they are: a guarded request is one read or one owner call.
      assert.deepEqual(without['guarded, limited rule'], strong ? { 'do:fetch': 1 } : { getWithMetadata: 1 });
      assert.deepEqual(without['public, limited rule'], {});
    });
  }

  test('a rule naming a binding that is not bound: 503 misconfigured naming the rule, everywhere', async () => {
    await withGuard({ rules: RULES, ratelimits: { RL_API: limit(5) } }, async ({ w }) => {
      for (const path of ['/', '/app/x', '/auth/session']) {
        const p = await expectProblem(await send(w, path), 503, 'misconfigured', path);
        assert.match(p.detail, /^GUARD_RULES\[2\]\.limit: /);
      }
    });
  });

  test('fresh: a stale session is sent to sign in again (reauth=1), keeps its cookie; the origin gets X-Session-Auth-Time', async () => {
    await withGuard({ rules: RULES, bindings: { LOGIN_URL: '/login' }, ratelimits: BOUND }, async ({ w, origin }) => {
      const { token, session } = await createSession(w, { userId: 'alice' });
      const { res } = await sendText(w, '/account/email', { cookie: token });
      assert.equal(res.status, 200, 'fresh enough at once');
      const authTime = Math.floor(Date.parse(session.authenticatedAt) / 1000);
      assert.equal(origin.received.at(-1).headers['x-session-auth-time'], String(authTime));
      await sleep(2100);
      const nav = await send(w, '/account/email?tab=1', { cookie: token, headers: { accept: 'text/html' } });
      assert.equal(nav.status, 302);
      assert.equal(nav.headers.get('location'), '/login?next=%2Faccount%2Femail%3Ftab%3D1&reauth=1');
      assert.deepEqual(setCookies(nav), [], 'the cookie is kept');
      const api = await send(w, '/account/email', { cookie: token });
      assert.equal(api.headers.get('www-authenticate'), null);
      const p = await expectProblem(api, 401, 'reauthentication_required', 'by cookie');
      assert.equal(p.maxAge, 1);
      assert.equal(p.authenticatedAt, session.authenticatedAt);
      const bearer = await send(w, '/account/email', { bearer: token });
      assert.equal(bearer.headers.get('www-authenticate'), 'Bearer error="insufficient_user_authentication", max_age="1"');
      await expectProblem(bearer, 401, 'reauthentication_required', 'by bearer');
      // Still a valid session elsewhere.
      assert.equal((await sendText(w, '/app/x', { cookie: token })).res.status, 200);
    });
  });

  test('a refused browser navigation gets a small HTML page; other clients keep problem+json', async () => {
    await withGuard({ rules: RULES, ratelimits: BOUND }, async ({ w }) => {
      const { token } = await createSession(w, { userId: 'bob' });
      const res = await send(w, '/admin/<script>', { cookie: token, headers: { accept: 'text/html,*/*;q=0.8' } });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(res.headers.get('content-security-policy'), /^default-src 'none'/);
      const html = await res.text();
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /<code id="code">forbidden<\/code>/);
      assert.doesNotMatch(html, /<script/i);
      await expectProblem(await send(w, '/admin/x', { cookie: token }), 403, 'forbidden', 'a script');
      // No session and no LOGIN_URL: 401 as a page.
      const anon = await send(w, '/app/x', { headers: { accept: 'text/html' } });
      assert.equal(anon.status, 401);
      assert.match(await anon.text(), /<code id="code">unauthorized<\/code>/);
    });
  });
});
