// Session events end to end (contract §8): the built Worker with EVENTS
// bound to a real Miniflare queue, consumed by the example consumer
// (examples/events-consumer), which writes NDJSON to a local R2 bucket. Each
// route and handoff produces its events with the right type, reason and
// actor, in both modes; a revoke-all of 1,100 sessions yields 1,100
// revocations; no message holds a token, a secret, a meta value or a full IP.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, startWorker } from './support/worker.mjs';
import { call, callJson, pool } from './support/api.mjs';
import { COOKIE, createSession, sleep } from './support/common.mjs';

const RULES = [
  { path: '/login', access: 'public' },
  { path: '/logout', access: 'public' },
];
const IP = '198.51.100.77';

/** A Worker with events on, in front of an origin answering with `handoff(req)` headers. */
async function withEvents(strong, vars, fn) {
  let handoff = () => ({});
  const origin = await startOrigin((req) => ({ headers: handoff(req) }));
  const w = await startWorker({
    strong, events: true,
    bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES), ...vars },
  });
  try {
    await fn({ w, setHandoff: (f) => (handoff = f) });
  } finally {
    await w.dispose();
    await origin.close();
  }
}

/** Until the consumer has written `n` distinct events (by id) or 30 s passed; answers them. */
async function delivered(w, n, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    const all = await w.deliveredEvents();
    const byId = new Map(all.map((d) => [d.event.id, d]));
    if (byId.size >= n || Date.now() > end) return { all, events: [...byId.values()].map((d) => d.event) };
    await sleep(250);
  }
}

const pick = (e) => `${e.type}:${e.reason ?? '-'}:${e.actor}`;

for (const strong of [false, true]) {
  const mode = strong ? 'strong' : 'eventual';
  describe(`session events, ${mode} mode`, { concurrency: 1 }, () => {
    test('each route and handoff sends its events, with who and why', { timeout: 120_000 }, async () => {
      await withEvents(strong, { MAX_SESSIONS_PER_USER: '3' }, async ({ w, setHandoff }) => {
        const headers = { 'cf-connecting-ip': IP };
        const expected = [];
        const a = await createSession(w, { userId: 'ann', meta: { roles: ['admin'], email: 'ann-meta@example.com' } });
        expected.push(['session.created:admin:admin', a.session.id]);
        const b = await createSession(w, { userId: 'ann' });
        expected.push(['session.created:admin:admin', b.session.id]);
        // Self-service: a label, a refresh, revoke one by id, revoke the others.
        await callJson(w, '/auth/session', { method: 'PATCH', bearer: a.token, json: { label: 'laptop' }, headers }, 200);
        expected.push(['session.updated:-:user', a.session.id]);
        await callJson(w, '/auth/session/refresh', { method: 'POST', bearer: a.token, headers }, 200);
        expected.push(['session.updated:-:user', a.session.id]);
        // The admin: a meta patch, a revocation by id.
        await callJson(w, `/auth/admin/sessions/${b.session.id}`, {
          method: 'PATCH', admin: true, json: { meta: { roles: [] } }, headers: { 'content-type': 'application/merge-patch+json' },
        }, 200);
        expected.push(['session.updated:-:admin', b.session.id]);
        await call(w, `/auth/admin/sessions/${b.session.id}`, { method: 'DELETE', admin: true });
        expected.push(['session.revoked:admin:admin', b.session.id]);
        const c = await createSession(w, { userId: 'ann' });
        expected.push(['session.created:admin:admin', c.session.id]);
        await call(w, `/auth/sessions/${c.session.id}`, { method: 'DELETE', bearer: a.token });
        expected.push(['session.revoked:logout:user', c.session.id]);
        const d = await createSession(w, { userId: 'ann' });
        expected.push(['session.created:admin:admin', d.session.id]);
        await callJson(w, '/auth/sessions?others=true', { method: 'DELETE', bearer: a.token }, 200);
        expected.push(['session.revoked:others:user', d.session.id]);
        await call(w, '/auth/session', { method: 'DELETE', bearer: a.token });
        expected.push(['session.revoked:logout:user', a.session.id]);

        // The cap (3): a fourth session of bob revokes the least recently seen.
        const bobs = [];
        for (let i = 0; i < 4; i++) {
          bobs.push(await createSession(w, { userId: 'bob' }));
          await sleep(5);
        }
        for (const s of bobs) expected.push(['session.created:admin:admin', s.session.id]);
        expected.push(['session.revoked:cap:system', bobs[0].session.id]);
        // Revoke all, by the admin.
        await callJson(w, '/auth/admin/users/bob/sessions', { method: 'DELETE', admin: true }, 200);
        for (const s of bobs.slice(1)) expected.push(['session.revoked:all:admin', s.session.id]);

        // The handoff: a sign-in, a sign-in replacing it, a sign-out.
        setHandoff((req) => (req.url === '/login' ? { 'x-session-issue': JSON.stringify({ userId: 'cy' }) } : {}));
        const first = await w.fetch('/login', { method: 'POST', headers: { ...headers, origin: w.base } });
        assert.equal(first.status, 200);
        const cookie1 = first.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`)).split(';')[0];
        const replaced = await w.fetch('/login', { method: 'POST', headers: { ...headers, origin: w.base, cookie: cookie1 } });
        const cookie2 = replaced.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`)).split(';')[0];
        setHandoff((req) => (req.url === '/logout' ? { 'x-session-revoke': 'current' } : {}));
        await w.fetch('/logout', { method: 'POST', headers: { ...headers, origin: w.base, cookie: cookie2 } });
        // A wrong admin key.
        await call(w, '/auth/admin/sessions', { headers: { authorization: 'Bearer wrong', ...headers } });

        const total = expected.length + 4 + 1;
        const { all, events } = await delivered(w, total);
        assert.equal(events.length, total, `${mode}: ${events.map(pick).join(' ')}`);
        const ids = new Set(expected.map(([, sid]) => sid));
        assert.deepEqual(
          events.filter((e) => ids.has(e.sessionId)).map((e) => `${pick(e)} ${e.sessionId}`).sort(),
          expected.map(([kind, sid]) => `${kind} ${sid}`).sort(),
          mode,
        );
        const cy = events.filter((e) => e.userId === 'cy').map(pick).sort();
        assert.deepEqual(cy, [
          'session.created:handoff:origin', 'session.created:handoff:origin',
          'session.revoked:logout:origin', 'session.revoked:replaced:origin',
        ], mode);
        const failed = events.filter((e) => e.type === 'admin.auth_failed');
        assert.equal(failed.length, 1, mode);
        assert.equal(failed[0].userId, null);
        // The requests that sent no CF-Connecting-IP get Miniflare's own
        // (127.0.0.1): each address is cut to its /24.
        const ips = new Set(events.map((e) => e.ip));
        assert.deepEqual([...ips].sort(), ['127.0.0.0/24', '198.51.100.0/24']);
        assert.equal(failed[0].ip, '198.51.100.0/24');
        for (const e of events) {
          assert.match(e.id, /^[0-9a-f]{32}$/);
          assert.ok(!Number.isNaN(Date.parse(e.time)));
        }
        // Every byte written: no token, no secret, no meta value, no full address.
        const bytes = all.map((d) => d.raw).join('\n');
        const secrets = [a.token, b.token, c.token, d.token, ...bobs.map((s) => s.token), cookie1, cookie2];
        for (const t of secrets) {
          assert.ok(!bytes.includes(t), 'a token in an event');
          assert.ok(!bytes.includes(t.split('.')[3]), 'a token secret in an event');
        }
        for (const needle of ['ann-meta', 'roles', IP, '127.0.0.1', w.env.ADMIN_KEY, 'wrong']) {
          assert.ok(!bytes.includes(needle), `${needle} in an event`);
        }
      });
    });

    test('revoke-all of 1,100 sessions sends 1,100 revocations', { timeout: 300_000 }, async () => {
      await withEvents(strong, {}, async ({ w }) => {
        const made = await pool(Array.from({ length: 1100 }, () => () => createSession(w, { userId: 'dan' }).catch((e) => { console.log('CAUSE', e, e.cause); throw e; })), 16);
        await delivered(w, 1100);
        const { body } = await callJson(w, '/auth/admin/users/dan/sessions', { method: 'DELETE', admin: true }, 200);
        assert.equal(body.revoked, 1100);
        const { events } = await delivered(w, 2200, 240_000);
        const revoked = events.filter((e) => e.type === 'session.revoked' && e.reason === 'all');
        assert.equal(revoked.length, 1100, mode);
        assert.equal(new Set(revoked.map((e) => e.sessionId)).size, 1100);
        assert.deepEqual(new Set(made.map((m) => m.session.id)), new Set(revoked.map((e) => e.sessionId)));
      });
    });
  });
}
