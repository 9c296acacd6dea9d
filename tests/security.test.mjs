// End-to-end tests of the security fixes of issue 8: the built Worker in
// Miniflare in front of a local origin that can hold its answer, so that a
// revocation or an admin change happens while a request is at the origin.
// Sliding is made due at once by moving the stored record's `expiresAt`
// (idle TTL 60 s, 20 s left) instead of waiting half the idle TTL.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import net from 'node:net';
import { startWorker } from './support/worker.mjs';
import {
  COOKIE, createSession, currentSession, expectProblem, kvSnapshot, selfOrigin, send, sendText,
  sessionCookie, setCookies, sleep, withGuard,
} from './support/guard.mjs';

const RULES = [
  { path: '/public/**', access: 'public' },
  { path: '/feed', methods: ['GET'], access: 'public' },
  { path: '/admin/**', access: 'role:admin' },
  { path: '/app/**', access: 'session' },
];

/**
 * An origin that answers at once, except requests to `/…/slow` which it holds
 * until `release()` (`arrived` resolves when such a request got there) and
 * requests to a path given to `destroyOn`, whose connection it drops.
 */
async function startHoldingOrigin() {
  const received = [];
  const drop = new Set();
  let arrive;
  let arrived = new Promise((r) => (arrive = r));
  let release;
  let gate = new Promise((r) => (release = r));
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const seen = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      received.push(seen);
      if (drop.has(req.url)) return req.socket.destroy();
      if (req.url.endsWith('/slow')) {
        arrive(seen);
        await gate;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    destroyOn: (p) => drop.add(p),
    arrived: () => arrived,
    release: () => release(),
    reset: () => {
      arrived = new Promise((r) => (arrive = r));
      gate = new Promise((r) => (release = r));
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function withHoldingGuard(bindings, fn) {
  const origin = await startHoldingOrigin();
  let w;
  try {
    w = await startWorker({ spyKv: true, bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES), ...bindings } });
    return await fn({ w, origin });
  } finally {
    if (w) await w.dispose();
    await origin.close();
  }
}

/**
 * `GET path` written on a raw socket, so that header values may hold bytes
 * a client library refuses (a control byte): the answer's status and body.
 */
function rawGet(base, path, headerLines) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      const chunked = /transfer-encoding: chunked/i.test(head);
      resolve({ status: Number(head.split(' ')[1]), body: chunked ? unchunk(body) : body });
    });
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostname}`, ...headerLines, 'Connection: close', '', ''];
    socket.write(lines.join('\r\n'), 'latin1');
  });
}

function unchunk(body) {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const n = parseInt(rest.slice(0, eol), 16);
    if (!n) return out;
    out += rest.slice(eol + 2, eol + 2 + n);
    rest = rest.slice(eol + 2 + n + 2);
  }
}

/** Moves the stored record's expiresAt to 20 s from now: with idle TTL 60 s, sliding is due. */
async function makeSlidingDue(w, id) {
  const kv = await w.kv();
  const key = `s:${id}`;
  const value = await kv.get(key, 'text');
  assert.ok(value, `record ${key} present`);
  const record = JSON.parse(value);
  record.expiresAt = Date.now() + 20_000;
  await kv.put(key, JSON.stringify(record), { expirationTtl: 86_400 });
  return record.expiresAt;
}

const admin = (w) => ({ authorization: `Bearer ${w.env.ADMIN_KEY}` });

/**
 * Starts a cookie request to `/app/slow` and waits until the origin holds it.
 * Answers `{ pending }` (a bare promise would be awaited by the caller's await).
 */
async function inFlight(w, origin, token, path = '/app/slow') {
  origin.reset();
  const pending = send(w, path, { cookie: token });
  await origin.arrived();
  return { pending };
}

/**
 * Releases the held request of session `id`, reads its answer, and waits
 * until its sliding write (waitUntil) has re-read the record and, when it
 * writes, has written both keys. Answers the response and the KV calls the
 * request made after its release.
 */
async function finish(w, origin, pending, id) {
  w.resetKvOps();
  const reread = w.kvCallDone((c) => c.op === 'getWithMetadata' && c.key === `s:${id}`);
  origin.release();
  const res = await pending;
  await res.arrayBuffer();
  // (A build without the re-read never makes that call: then wait for the write.)
  await reread.catch(() => sleep(1000));
  await sleep(300); // a put, if any, would follow the re-read at once
  const ops = w.kvOps();
  if (ops.put) await sleep(300);
  return { res, ops: w.kvOps() };
}

describe('security fixes (issue 8), end to end', { concurrency: 4 }, () => {
  test('finding 1: a holder cannot write meta (PATCH /auth/session answers 403 naming meta)', async () => {
    await withHoldingGuard({}, async ({ w }) => {
      const { token } = await createSession(w, { userId: 'mallory', meta: { roles: ['user'] } });
      for (const [how, opts] of [['bearer', { bearer: token }], ['cookie', { cookie: token, origin: true }]]) {
        const res = await send(w, '/auth/session', {
          ...opts, method: 'PATCH', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ meta: { roles: ['admin'] } }),
        });
        const p = await expectProblem(res, 403, 'forbidden', how);
        assert.equal(p.field, 'meta', how);
      }
      const denied = await send(w, '/admin/panel', { bearer: token });
      await expectProblem(denied, 403, 'forbidden', 'role path');
      const me = await currentSession(w, token);
      assert.deepEqual(me.session.meta, { roles: ['user'] });
      // The label stays the holder's to change.
      const ok = await sendText(w, '/auth/session', {
        bearer: token, method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ label: 'my phone' }),
      });
      assert.equal(ok.res.status, 200, ok.text);
      assert.equal(ok.json.label, 'my phone');
    });
  });

  test('finding 2: a revocation made while a request is at the origin is not undone by its sliding write', async () => {
    await withHoldingGuard({}, async ({ w, origin }) => {
      const revocations = [
        ['log out everywhere', (t) => send(w, '/auth/sessions', { method: 'DELETE', bearer: t })],
        ['logout', (t) => send(w, '/auth/session', { method: 'DELETE', bearer: t })],
        ['admin delete', (_t, id) => w.fetch(`/auth/admin/sessions/${id}`, { method: 'DELETE', headers: admin(w) })],
        ['admin revoke user', (_t, _id, user) => w.fetch(`/auth/admin/users/${user}/sessions`, { method: 'DELETE', headers: admin(w) })],
      ];
      for (const [how, revoke] of revocations) {
        const user = `victim-${how.replace(/ /g, '-')}`;
        const { token, session } = await createSession(w, { userId: user, idleTtl: 60 });
        await makeSlidingDue(w, session.id);
        const { pending } = await inFlight(w, origin, token);

        const r = await revoke(token, session.id, user);
        assert.ok(r.status === 200 || r.status === 204, `${how}: ${r.status}`);
        await r.arrayBuffer();
        assert.equal((await currentSession(w, token)).status, 401, `${how}: revoked at once`);

        const { res, ops } = await finish(w, origin, pending, session.id);
        assert.equal(res.status, 200, `${how}: the held request is answered`);
        assert.equal((await currentSession(w, token)).status, 401, `${how}: still revoked after the request finished`);
        assert.deepEqual(ops, { getWithMetadata: 1 }, `${how}: the sliding write re-read the record and wrote nothing`);
        const listed = await (await w.fetch(`/auth/admin/users/${user}/sessions`, { headers: admin(w) })).json();
        assert.deepEqual(listed.sessions, [], `${how}: not listed again`);
        const kv = await kvSnapshot(w);
        assert.ok(!kv.some((e) => e.name.includes(session.id)), `${how}: no KV key of the session written back`);
      }
    });
  });

  test('finding 3: an admin change made while a request is at the origin is kept; the expiry still slides', async () => {
    await withHoldingGuard({}, async ({ w, origin }) => {
      const { token, session } = await createSession(w, { userId: 'demoted', idleTtl: 60, meta: { roles: ['admin'] } });
      const dueAt = await makeSlidingDue(w, session.id);
      const { pending } = await inFlight(w, origin, token, '/admin/slow');
      const patched = await w.fetch(`/auth/admin/sessions/${session.id}`, {
        method: 'PATCH', headers: { ...admin(w), 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ label: 'demoted', meta: { roles: [] } }),
      });
      assert.equal(patched.status, 200, await patched.text());
      const { res, ops } = await finish(w, origin, pending, session.id);
      assert.equal(res.status, 200);
      assert.equal(sessionCookie(res)?.value, token, 'the sliding cookie was re-issued');

      const me = await currentSession(w, token);
      assert.equal(me.status, 200);
      assert.deepEqual(me.session.meta, { roles: [] }, 'the role stays removed');
      assert.deepEqual(ops, { getWithMetadata: 1, put: 2 }, 'one re-read, then both keys written');
      assert.equal(me.session.label, 'demoted');
      assert.ok(Date.parse(me.session.expiresAt) > dueAt + 30_000, `expiresAt slid: ${me.session.expiresAt}`);
      await expectProblem(await send(w, '/admin/panel', { cookie: token }), 403, 'forbidden', 'role removed');
    });
  });

  test('finding 4: 40 overlapping requests of one session make one sliding write', async () => {
    await withHoldingGuard({}, async ({ w }) => {
      const { token, session } = await createSession(w, { userId: 'burst', idleTtl: 60 });
      const dueAt = await makeSlidingDue(w, session.id);
      w.resetKvOps();
      const indexWritten = w.kvCallDone((c) => c.op === 'put' && c.key.startsWith('u:'));
      // Each body is read as soon as its response arrives (unread bodies of
      // many parallel dispatchFetch answers are sometimes consumed by Miniflare).
      const responses = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const r = await send(w, `/app/burst/${i}`, { cookie: token });
        await r.arrayBuffer();
        return r;
      }));
      for (const r of responses) assert.equal(r.status, 200);
      const reissued = responses.filter((r) => sessionCookie(r));
      assert.equal(reissued.length, 1, 'the cookie is re-issued once, with the one sliding write');
      await indexWritten;
      await sleep(500);
      // 40 verifications, the one sliding write's re-read, and its two keys.
      assert.deepEqual(w.kvOps(), { getWithMetadata: 41, put: 2 }, 'exactly one sliding write');
      const me = await currentSession(w, token);
      assert.ok(Date.parse(me.session.expiresAt) > dueAt + 30_000, 'the one write slid the session');
      // Right after, nothing is due any more: no second write, no cookie.
      const later = await send(w, '/app/after', { cookie: token });
      await later.arrayBuffer();
      assert.equal(sessionCookie(later), undefined);
    });
  });

  test('finding 5: identity and handoff headers spelled with underscores never reach the origin', async () => {
    await withGuard({ rules: RULES }, async ({ w, origin }) => {
      const { token, session } = await createSession(w, { userId: 'alice' });
      const spoofs = {
        'X_Session_User': 'root', 'x_session_meta': 'eyJyb2xlcyI6WyJhZG1pbiJdfQ', 'X-Session_Id': 'forged',
        'x_session-user': 'root2', 'X_Session_Issue': '{"userId":"root"}',
      };
      for (const [path, opts] of [['/public/x', {}], ['/app/x', { bearer: token }]]) {
        const { json } = await sendText(w, path, { ...opts, headers: spoofs });
        const names = Object.keys(json.headers).filter((k) => k.replace(/_/g, '-').startsWith('x-session-')).sort();
        if (opts.bearer) {
          assert.deepEqual(names, ['x-session-auth-time', 'x-session-id', 'x-session-meta', 'x-session-user'], path);
          assert.equal(json.headers['x-session-user'], 'alice');
          assert.equal(json.headers['x-session-id'], session.id);
        } else {
          assert.deepEqual(names, [], `${path}: ${names}`);
        }
      }
      assert.equal(origin.received.length, 2);
    });
  });

  test('finding 5: a spoofed header whose value holds a control byte never reaches the origin either', async () => {
    await withGuard({ rules: RULES }, async ({ w, origin }) => {
      const { token, session } = await createSession(w, { userId: 'alice' });
      // The runtime hands such values over; the HTTP layer cannot read them,
      // so the guard never sees them: they are not forwarded, ours are.
      const spoofs = ['X-Session-User: ro\x01ot', 'X_Session_Id: for\x7fged', 'X-App: a\x01b', 'X-Kept: yes'];
      for (const [path, auth] of [['/public/x', []], ['/app/x', [`Authorization: Bearer ${token}`]]]) {
        const { status, body } = await rawGet(w.base, path, [...spoofs, ...auth]);
        assert.equal(status, 200, path);
        const { headers } = JSON.parse(body);
        const names = Object.keys(headers).filter((k) => /session|x-app/i.test(k)).sort();
        if (auth.length) {
          assert.deepEqual(names, ['x-session-auth-time', 'x-session-id', 'x-session-meta', 'x-session-user'], path);
          assert.equal(headers['x-session-user'], 'alice');
          assert.equal(headers['x-session-id'], session.id);
        } else {
          assert.deepEqual(names, [], path);
        }
        assert.equal(headers['x-kept'], 'yes', path);
      }
      assert.equal(origin.received.length, 2);
    });
  });

  test('finding 5: response handoff headers in any spelling are removed; only the canonical one acts', async () => {
    const respond = (seen) => (seen.url === '/public/odd'
      ? { headers: { 'x_session_issue': '{"userId":"eve"}', 'X-Session_Revoke': 'all' } }
      : undefined);
    await withGuard({ rules: RULES, respond }, async ({ w }) => {
      const res = await send(w, '/public/odd');
      await res.arrayBuffer();
      assert.equal(res.headers.get('x_session_issue'), null);
      assert.equal(res.headers.get('x-session_revoke'), null);
      assert.deepEqual(setCookies(res), [], 'no session issued from a non-canonical spelling');
    });
  });

  test('finding 6: several Cookie lines work; a value joined with ", " is stripped and never read', async () => {
    await withGuard({ rules: RULES }, async ({ w, origin }) => {
      const { token, session } = await createSession(w, { userId: 'joined' });
      // Several Cookie lines: this runtime joins them with "; " (RFC 9113
      // §8.2.3): the session is used, and stripped before forwarding.
      const lines = [['cookie', 'a=1'], ['cookie', `${COOKIE}=${token}`], ['cookie', 'b=2']];
      const seenLines = JSON.parse(await (await w.fetch('/app/page', { headers: lines })).text());
      assert.equal(seenLines.headers['x-session-id'], session.id);
      assert.equal(seenLines.headers.cookie, 'a=1; b=2');
      // A runtime that joins them with ", " instead hands over this value: the
      // token never reaches the origin, and is not read (it is also what a
      // tossed cookie carrying a planted token looks like, see R8-1).
      const joined = { cookie: `a=1, ${COOKIE}=${token}, b=2` };
      const seenPub = JSON.parse(await (await w.fetch('/public/page', { headers: joined })).text());
      assert.ok(!JSON.stringify(seenPub.headers).includes(token), 'the token is not forwarded on public paths');
      assert.equal(seenPub.headers.cookie, 'a=1; b=2');
      await expectProblem(await w.fetch('/app/page', { headers: joined }), 401, 'unauthorized', 'joined value');
      // The runtime's own joining of two Authorization lines, Basic first.
      const auth = await w.fetch('/app/page', { headers: [['authorization', 'Basic dXNlcjpwdw=='], ['authorization', `Bearer ${token}`]] });
      assert.equal(auth.status, 200);
      const seenAuth = JSON.parse(await auth.text());
      assert.equal(seenAuth.headers.authorization, 'Basic dXNlcjpwdw==', 'the origin keeps its own credentials only');
      assert.equal(origin.received.length, 3);
    });
  });

  test('review R8-1: a token planted in another cookie\'s value never authenticates, and logout revokes the right session', async () => {
    await withGuard({ rules: RULES }, async ({ w }) => {
      const attacker = await createSession(w, { userId: 'mallory' });
      const victim = await createSession(w, { userId: 'victim' });
      // Set by a sibling subdomain with Domain=example.com; Path=/app: sent first.
      const cookie = `pref=1, ${COOKIE}=${attacker.token}; ${COOKIE}=${victim.token}`;
      const seen = JSON.parse(await (await w.fetch('/app/inbox', { headers: { cookie } })).text());
      assert.equal(seen.headers['x-session-user'], 'victim');
      assert.ok(!JSON.stringify(seen.headers).includes(attacker.token), 'the planted token is stripped too');
      const logout = await w.fetch('/auth/session', { method: 'DELETE', headers: { cookie, origin: selfOrigin(w) } });
      assert.equal(logout.status, 204);
      assert.equal((await currentSession(w, victim.token)).status, 401, 'the victim is logged out');
      assert.equal((await currentSession(w, attacker.token)).status, 200, 'the attacker\'s session was not touched');
      await expectProblem(await w.fetch('/app/inbox', { headers: { cookie: `pref=1, ${COOKIE}=${attacker.token}` } }),
        401, 'unauthorized', 'a visitor without a session is not signed in as the attacker');
    });
  });

  test('finding 7: a misconfiguration names the var, never its value', async () => {
    for (const [bindings, varName, secret] of [
      [{ ORIGIN_URL: 'http://user:Hunter2Secret@origin.example/' }, 'ORIGIN_URL', 'Hunter2Secret'],
      [{ GUARD_RULES: '[{"path":"Hunter2Secret","access":"public"}]' }, 'GUARD_RULES', 'Hunter2Secret'],
      [{ GUARD_RULES: '[{"path":"/","access":"public"} Hunter2Secret]' }, 'GUARD_RULES', 'Hunter2Secret'],
      [{ LOGIN_URL: '//Hunter2Secret' }, 'LOGIN_URL', 'Hunter2Secret'],
      [{ TOKEN_KEYS: `Hunter2Secret:${'A'.repeat(43)},Hunter2Secret:${'A'.repeat(43)}` }, 'TOKEN_KEYS', 'Hunter2Secret'],
    ]) {
      const w = await startWorker({ bindings });
      try {
        // A bad TOKEN_KEYS leaves public paths working: check a session route.
        for (const path of varName === 'TOKEN_KEYS' ? ['/auth/session'] : ['/public/x', '/auth/session']) {
          const res = await w.fetch(path);
          const text = await res.clone().text();
          const p = await expectProblem(res, 503, 'misconfigured', `${varName} ${path}`);
          assert.ok(p.detail.includes(varName), p.detail);
          assert.ok(!text.includes(secret), `${varName} echoed its value: ${text}`);
        }
      } finally {
        await w.dispose();
      }
    }
  });

  test('review R8-2: a sliding write lost with its request (origin unreachable) does not stop sliding', async () => {
    await withHoldingGuard({}, async ({ w, origin }) => {
      origin.destroyOn('/app/boom');
      const { token, session } = await createSession(w, { userId: 'alice', idleTtl: 60 });
      await makeSlidingDue(w, session.id);
      const lost = await send(w, '/app/boom', { cookie: token });
      await lost.arrayBuffer();
      assert.equal(lost.status, 502);
      const next = await send(w, '/app/page', { cookie: token });
      await next.arrayBuffer();
      assert.equal(next.status, 200);
      assert.equal(sessionCookie(next)?.value, token, 'the next request slides at once');
    });
  });

  test('review R8-3: an admin change made in this isolate during the sliding re-read is kept', async () => {
    await withHoldingGuard({}, async ({ w }) => {
      const { token, session } = await createSession(w, { userId: 'demoted', idleTtl: 60, meta: { roles: ['admin'] } });
      const dueAt = await makeSlidingDue(w, session.id);
      const key = `s:${session.id}`;
      // 1st read of the record: the guard's verify; 2nd: the sliding re-read.
      const hold = w.holdKv((c) => c.op === 'getWithMetadata' && c.key === key, 1);
      const res = await send(w, '/admin/report', { cookie: token });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      await hold.held;
      const patched = await w.fetch(`/auth/admin/sessions/${session.id}`, {
        method: 'PATCH', headers: { ...admin(w), 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ meta: { roles: [] } }),
      });
      assert.equal(patched.status, 200, await patched.text());
      const written = w.kvCallDone((c) => c.op === 'put' && c.key.startsWith('u:'));
      hold.release();
      await written;
      await sleep(300);
      const me = await currentSession(w, token);
      assert.deepEqual(me.session.meta, { roles: [] }, 'the role stays removed');
      assert.ok(Date.parse(me.session.expiresAt) > dueAt + 30_000, 'and the session slid');
    });
  });

  test('review R8-4: a holder\'s label change or refresh in flight keeps an admin\'s role removal', async () => {
    await withHoldingGuard({}, async ({ w }) => {
      for (const via of ['label', 'refresh']) {
        const { token, session } = await createSession(w, { userId: `holder-${via}`, meta: { roles: ['admin'] } });
        const key = `s:${session.id}`;
        // 1st read: authentication; 2nd: the write's own read of the record.
        const hold = w.holdKv((c) => c.op === 'getWithMetadata' && c.key === key, 1);
        const pending = via === 'label'
          ? send(w, '/auth/session', { bearer: token, method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"label":"phone"}' })
          : send(w, '/auth/session/refresh', { bearer: token, method: 'POST' });
        await hold.held;
        const patched = await w.fetch(`/auth/admin/sessions/${session.id}`, {
          method: 'PATCH', headers: { ...admin(w), 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify({ meta: { roles: [] } }),
        });
        assert.equal(patched.status, 200, await patched.text());
        hold.release();
        const r = await pending;
        assert.equal(r.status, 200, await r.text());
        const me = await currentSession(w, token);
        assert.deepEqual(me.session.meta, { roles: [] }, `${via}: the role stays removed`);
        if (via === 'label') assert.equal(me.session.label, 'phone');
      }
    });
  });

  test('method- and path-override headers are removed before forwarding', async () => {
    await withGuard({ rules: RULES }, async ({ w, origin }) => {
      const { json } = await sendText(w, '/feed', {
        headers: {
          'X-HTTP-Method-Override': 'DELETE', 'X-HTTP-Method': 'PUT', 'X-Method-Override': 'PATCH', 'X_HTTP_Method_Override': 'DELETE',
          'X-Original-URL': '/admin/panel', 'X-Rewrite-URL': '/admin/panel',
        },
      });
      assert.equal(json.method, 'GET');
      const names = Object.keys(json.headers).filter((k) => /method|original|rewrite/i.test(k));
      assert.deepEqual(names, []);
      assert.equal(origin.received.length, 1);
    });
  });
});
