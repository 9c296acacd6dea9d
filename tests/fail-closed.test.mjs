// Fail closed, end to end (issue 13): the built Worker in Miniflare with its
// storage made unavailable while the test runs. The KV binding and the
// owners' namespace are wrapped (tests/support/kv-spy.js, do-spy.js) and
// every call of theirs is told to throw, as a KV outage or an unreachable
// Durable Object would. Every guarded path and every session route with a
// token answers 503 `store_unavailable` and the origin sees nothing; public
// paths still work; once the store is back, nothing was lost or revoked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, startWorker } from './support/worker.mjs';
import { call } from './support/api.mjs';
import { COOKIE, createSession, expectPage, expectProblem, setCookies } from './support/common.mjs';

const KV_OPS = ['get', 'getWithMetadata', 'put', 'delete', 'list'];
const OWNER_OPS = ['do:fetch'];

const RULES = [
  { path: '/public/**', access: 'public' },
  { path: '/login', methods: ['POST'], access: 'public' },
  { path: '/logout', access: 'public' },
  { path: '/logout-all', access: 'public' },
  { path: '/admin/**', access: 'role:admin' },
  { path: '/app/**', access: 'session' },
];

/** An origin that logs users in and out through the handoff headers. */
function handoffOrigin(seen) {
  if (seen.url === '/login') return { headers: { 'x-session-issue': '{"userId":"newcomer"}' } };
  if (seen.url === '/logout') return { headers: { 'x-session-revoke': 'current' } };
  if (seen.url === '/logout-all') return { headers: { 'x-session-revoke': 'all' } };
  return {};
}

/** Makes every call of `ops` throw until `up()`. */
function outage(w, ops) {
  for (const op of ops) w.failKv(op, Infinity);
  return () => { for (const op of ops) w.failKv(op, 0); };
}

// What depends on which store: in `strong` mode the owners hold the sessions
// and KV only the global listing (admin list-all), which keeps working while
// only the owners are down.
const SCENARIOS = [
  { name: 'eventual, KV down', strong: false, down: KV_OPS, listAllWorks: false },
  { name: 'strong, owners down', strong: true, down: OWNER_OPS, listAllWorks: true },
  { name: 'strong, owners and KV down', strong: true, down: [...OWNER_OPS, ...KV_OPS], listAllWorks: false },
];

describe('fail closed when storage is unavailable', () => {
  for (const scenario of SCENARIOS) {
    test(scenario.name, async () => {
      const origin = await startOrigin(handoffOrigin);
      const w = await startWorker({
        spyKv: true,
        strong: scenario.strong,
        bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES), LOGIN_URL: '/signin' },
      });
      try {
        const alice = await createSession(w, { userId: 'alice', meta: { roles: ['admin'] } });
        const other = await createSession(w, { userId: 'alice' });
        const { token } = alice;
        const id = alice.session.id;
        const self = { origin: w.base };
        const up = outage(w, scenario.down);

        // Guarded paths: every way of presenting the token.
        const guarded = [
          ['GET /app/x, bearer', '/app/x', { bearer: token }],
          ['GET /app/x, cookie', '/app/x', { cookie: token }],
          ['navigation (not sent to LOGIN_URL)', '/app/x', { cookie: token, headers: { accept: 'text/html' } }],
          ['POST /app/x, cookie, same origin', '/app/x', { method: 'POST', cookie: token, headers: self, body: 'x' }],
          ['role path', '/admin/x', { bearer: token }],
        ];
        const seen = origin.received.length;
        for (const [what, path, opts] of guarded) {
          const res = await call(w, path, opts);
          assert.deepEqual(setCookies(res).filter((c) => c.startsWith(COOKIE)), [], `${what}: no cookie`);
          // A person's browser gets the page, anything else problem+json.
          if (opts.headers?.accept === 'text/html') await expectPage(res, 503, 'store_unavailable', what);
          else await expectProblem(res, 503, 'store_unavailable', what);
        }
        assert.equal(origin.received.length, seen, 'the origin saw no guarded request');

        // The session API, self-service and admin.
        const admin = { admin: true };
        const api = [
          ['GET /auth/session', '/auth/session', { bearer: token }],
          ['GET /auth/session, cookie', '/auth/session', { cookie: token }],
          ['PATCH /auth/session', '/auth/session', { method: 'PATCH', bearer: token, json: { label: 'L' } }],
          ['POST /auth/session/refresh', '/auth/session/refresh', { method: 'POST', bearer: token }],
          ['GET /auth/sessions', '/auth/sessions', { bearer: token }],
          ['DELETE /auth/sessions/{id}', `/auth/sessions/${other.session.id}`, { method: 'DELETE', bearer: token }],
          ['DELETE /auth/sessions?others=true', '/auth/sessions?others=true', { method: 'DELETE', bearer: token }],
          ['DELETE /auth/sessions', '/auth/sessions', { method: 'DELETE', bearer: token }],
          ['DELETE /auth/session', '/auth/session', { method: 'DELETE', bearer: token }],
          ['admin create', '/auth/admin/sessions', { method: 'POST', ...admin, json: { userId: 'bob' } }],
          ['admin verify', '/auth/admin/verify', { method: 'POST', ...admin, json: { token } }],
          ['admin get', `/auth/admin/sessions/${id}`, admin],
          ['admin patch', `/auth/admin/sessions/${id}`, { method: 'PATCH', ...admin, json: { label: 'x' } }],
          ['admin delete', `/auth/admin/sessions/${id}`, { method: 'DELETE', ...admin }],
          ['admin user list', '/auth/admin/users/alice/sessions', admin],
          ['admin user revoke', '/auth/admin/users/alice/sessions', { method: 'DELETE', ...admin }],
        ];
        if (!scenario.listAllWorks) api.push(['admin list all', '/auth/admin/sessions', admin]);
        for (const [what, path, opts] of api) {
          await expectProblem(await call(w, path, opts), 503, 'store_unavailable', what);
        }
        if (scenario.listAllWorks) {
          const res = await call(w, '/auth/admin/sessions', admin);
          assert.equal(res.status, 200, 'the global listing is KV alone');
          await res.arrayBuffer();
        }
        assert.equal(origin.received.length, seen, 'the origin saw no API request');

        // Handoffs the store cannot carry out: the origin has answered, but
        // the client is not told it signed in or out.
        const login = await call(w, '/login', { method: 'POST', body: 'x' });
        assert.equal(login.headers.get('x-session-issue'), null);
        assert.deepEqual(setCookies(login), [], 'no session cookie for a session never made');
        await expectProblem(login, 503, 'store_unavailable', 'login handoff');
        for (const path of ['/logout', '/logout-all']) {
          const out = await call(w, path, { cookie: token });
          assert.equal(out.headers.get('x-session-revoke'), null);
          const cleared = setCookies(out).filter((c) => c.startsWith(`${COOKIE}=`));
          assert.equal(cleared.length, 1, `${path}: the cookie is still cleared`);
          assert.match(cleared[0], /Max-Age=0/);
          await expectProblem(out, 503, 'store_unavailable', `${path} handoff`);
        }
        assert.equal(origin.received.length, seen + 3, 'only the handoff requests reached the origin');

        // Public paths need no store, with or without a token.
        for (const opts of [{}, { bearer: token }, { cookie: token }]) {
          const res = await call(w, '/public/page?q=1', opts);
          assert.equal(res.status, 200, `public ${JSON.stringify(Object.keys(opts))}`);
          const body = await res.json();
          assert.equal(body.url, '/public/page?q=1');
          assert.equal(body.headers.authorization, undefined, 'the token is not forwarded');
        }

        // The store is back: every failed call left the sessions as they were.
        up();
        const res = await call(w, '/app/x', { bearer: token });
        assert.equal(res.status, 200, 'alice still works');
        await res.arrayBuffer();
        const listed = await call(w, '/auth/sessions', { bearer: token });
        const ids = (await listed.json()).sessions.map((s) => s.id).sort();
        assert.deepEqual(ids, [id, other.session.id].sort(), 'no session lost, none revoked');
        assert.equal((await call(w, '/auth/admin/sessions/' + id, admin)).status, 200);
      } finally {
        await w.dispose();
        await origin.close();
      }
    });
  }
});
