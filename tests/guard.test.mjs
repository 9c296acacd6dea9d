// End-to-end tests of the guard (contract §6): the built Worker in Miniflare
// in front of a local HTTP origin on 127.0.0.1. Every test starts its own
// Worker and origin (withGuard disposes of both). The tests run 4 at a
// time inside one suite (`node --test-concurrency` only spreads files), so
// the two real-time sliding tests (~31 s of waiting each), defined first,
// overlap with all the others.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startOrigin, startWorker } from './support/worker.mjs';
import {
  COOKIE, assertCookieAttrs, expectPage, closedPort, createSession, currentSession, expectProblem,
  forge, forgeSecret, kvSnapshot, selfOrigin, send, sendText, sessionCookie, sessionHeaders,
  setCookies, sleep, withGuard,
} from './support/guard.mjs';

describe('guard (contract §6), end to end', { concurrency: 4 }, () => {
  // ---------------------------------------------------------------- sliding expiry (real time)

  const SLIDE_WAIT_MS = 31_000;

  /** Polls `GET /auth/session` until `expiresAt` differs from `from`; answers the session. */
  async function pollExpiry(w, token, from, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
      const { status, session } = await currentSession(w, token);
      assert.equal(status, 200);
      if (session.expiresAt !== from || Date.now() > end) return session;
      await sleep(200);
    }
  }

  test('sliding expiry (real time, ~31 s): a guarded request past half the idle TTL extends expiresAt and re-issues the cookie', async () => {
    // The origin marks every answer publicly cacheable: the one re-issuing
    // the cookie must become private (issue 18), the others stay as they are.
    const PUBLIC = 'public, max-age=86400';
    const respond = () => ({ headers: { 'cache-control': PUBLIC, 'cdn-cache-control': 'max-age=600' } });
    await withGuard({ respond }, async ({ w }) => {
      const cookieUser = await createSession(w, { userId: 'slider', idleTtl: 60 });
      const bearerUser = await createSession(w, { userId: 'slider-b', idleTtl: 60 });
      const created = Date.parse(cookieUser.session.expiresAt);
      assert.ok(Math.abs(created - Date.parse(cookieUser.session.createdAt) - 60_000) < 2000);

      // Before half the idle TTL: nothing slides, no cookie re-issued.
      const early = await send(w, '/app/early', { cookie: cookieUser.token });
      assert.equal(early.status, 200);
      await early.arrayBuffer();
      assert.equal(sessionCookie(early), undefined, 'no re-issue before half the idle TTL');
      assert.equal(early.headers.get('cache-control'), PUBLIC, 'no cookie: the origin\'s caching');
      assert.equal(early.headers.get('cdn-cache-control'), 'max-age=600');
      await sleep(500);
      assert.equal((await currentSession(w, cookieUser.token)).session.expiresAt, cookieUser.session.expiresAt);

      await sleep(SLIDE_WAIT_MS);

      const t = Date.now();
      const res = await send(w, '/app/late', { cookie: cookieUser.token });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const c = sessionCookie(res);
      assertCookieAttrs(c);
      assert.equal(c.value, cookieUser.token, 'the same token is re-issued');
      const maxAge = Number(c.attrs['max-age']);
      assert.ok(maxAge >= 55 && maxAge <= 60, `Max-Age ${maxAge} near 60`);
      assert.equal(res.headers.get('cache-control'), 'private, max-age=86400', 'a re-issued cookie is never shared');
      assert.equal(res.headers.get('cdn-cache-control'), null, 'nor stored by a CDN');

      const slid = await pollExpiry(w, cookieUser.token, cookieUser.session.expiresAt);
      const next = Date.parse(slid.expiresAt);
      assert.ok(next > created, `expiresAt moved: ${cookieUser.session.expiresAt} -> ${slid.expiresAt}`);
      assert.ok(Math.abs(next - (t + 60_000)) < 5000, `expiresAt ~ now + 60 s (${slid.expiresAt})`);
      assert.equal(slid.absoluteExpiresAt, cookieUser.session.absoluteExpiresAt, 'absolute expiry unchanged');
      assert.ok(Date.parse(slid.lastSeenAt) > Date.parse(cookieUser.session.lastSeenAt), 'lastSeenAt moved');

      // Once slid, an immediate second request does not slide again.
      const again = await send(w, '/app/again', { cookie: cookieUser.token });
      await again.arrayBuffer();
      assert.equal(sessionCookie(again), undefined, 'no second re-issue right after sliding');

      // Bearer-authenticated: the session slides, but no cookie is set.
      const b = await send(w, '/app/late', { bearer: bearerUser.token });
      assert.equal(b.status, 200);
      await b.arrayBuffer();
      assert.deepEqual(setCookies(b), [], 'no cookie for a bearer request');
      assert.equal(b.headers.get('cache-control'), PUBLIC);
      const bSlid = await pollExpiry(w, bearerUser.token, bearerUser.session.expiresAt);
      assert.ok(Date.parse(bSlid.expiresAt) > Date.parse(bearerUser.session.expiresAt), 'bearer session slid');
    });
  });

  test('sliding expiry (real time, ~31 s): a sliding write never brings back a session the same request revoked or replaced', async () => {
    await withGuard({ respond: handoffOrigin() }, async ({ w }) => {
      const revoked = await createSession(w, { userId: 'rev', idleTtl: 60 });
      const revokedAll = await createSession(w, { userId: 'rev-all', idleTtl: 60 });
      const replaced = await createSession(w, { userId: 'rep', idleTtl: 60 });
      await sleep(SLIDE_WAIT_MS);

      // Sliding is due for all three, on a session path; the origin revokes or replaces.
      const out = await send(w, '/app/logout', { method: 'POST', cookie: revoked.token, origin: true, body: '' });
      assert.equal(out.status, 200);
      await out.arrayBuffer();
      let ours = setCookies(out).filter((v) => v.startsWith(`${COOKIE}=`));
      assert.equal(ours.length, 1, `only the clearing cookie: ${ours}`);
      assert.equal(sessionCookie(out).attrs['max-age'], '0');

      const outAll = await send(w, '/app/logout', { method: 'POST', cookie: revokedAll.token, origin: true, body: '', headers: { 'x-test-revoke': 'all' } });
      await outAll.arrayBuffer();
      ours = setCookies(outAll).filter((v) => v.startsWith(`${COOKIE}=`));
      assert.equal(ours.length, 1, `only the clearing cookie: ${ours}`);
      assert.equal(sessionCookie(outAll).attrs['max-age'], '0');

      const login = await send(w, '/app/relogin', { method: 'POST', cookie: replaced.token, origin: true, body: '' });
      assert.equal(login.status, 200);
      await login.arrayBuffer();
      ours = setCookies(login).filter((v) => v.startsWith(`${COOKIE}=`));
      assert.equal(ours.length, 1, `only the new session's cookie: ${ours}`);
      const fresh = sessionCookie(login);
      assert.notEqual(fresh.value, replaced.token);
      assert.ok(Number(fresh.attrs['max-age']) > 600_000, 'cookie of the new session (default idle TTL)');

      await sleep(1500); // let any waitUntil write land
      for (const s of [revoked, revokedAll, replaced]) {
        assert.equal((await currentSession(w, s.token)).status, 401, `${s.session.userId} stays gone`);
      }
      assert.equal((await currentSession(w, fresh.value)).session.userId, 'bob');
      const kv = await kvSnapshot(w);
      for (const s of [revoked, revokedAll, replaced]) {
        assert.ok(!kv.some((e) => e.name.includes(s.session.id)), `no KV key of ${s.session.userId}'s session`);
      }
    });
  });

  const sha256 = (s) => createHash('sha256').update(s).digest('hex');

  // ---------------------------------------------------------------- forwarding

  test('forwarding keeps path, query, method and a large body; the origin answer comes back as is', async () => {
    const bigAnswer = randomBytes(1536 * 1024).toString('base64url'); // 2 MiB
    const respond = (seen) => {
      if (seen.url === '/public/big-answer') return { headers: { 'content-type': 'text/plain' }, body: bigAnswer };
      if (seen.url === '/public/empty') return { status: 204, body: '' };
      if (seen.url === '/public/broken') return { status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>origin error</h1>' };
      if (seen.url.startsWith('/public/answer')) {
        return {
          status: 201,
          headers: { 'x-origin-thing': 'yes', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/; HttpOnly'], 'content-type': 'text/plain' },
          body: 'made by the origin',
        };
      }
      return undefined; // echo
    };
    await withGuard({ respond }, async ({ w, origin }) => {
      // A POST with ~384 KB of body and an awkward query.
      const big = randomBytes(288 * 1024).toString('base64');
      const query = '?q=a%20b&x=1&x=2&e=%C3%A9&empty=';
      const { res, json } = await sendText(w, `/public/upload/f%20ile${query}`, {
        method: 'POST', body: big, headers: { 'content-type': 'text/plain', 'x-custom-req': 'kept' },
      });
      assert.equal(res.status, 200);
      assert.equal(json.method, 'POST');
      assert.equal(json.url, `/public/upload/f%20ile${query}`);
      assert.equal(json.headers['x-custom-req'], 'kept');
      const seenPost = origin.received.at(-1);
      assert.equal(seenPost.body.length, big.length, 'body length');
      assert.equal(sha256(seenPost.body), sha256(big), 'body intact');

      // The same through a session path (cookie, same-origin POST).
      const { token } = await createSession(w);
      const guarded = await sendText(w, `/app/upload${query}`, {
        method: 'POST', body: big, cookie: token, origin: true, headers: { 'content-type': 'text/plain' },
      });
      assert.equal(guarded.res.status, 200, guarded.text.slice(0, 300));
      assert.equal(guarded.json.url, `/app/upload${query}`);
      assert.equal(sha256(origin.received.at(-1).body), sha256(big), 'guarded body intact');

      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const body = `{"m":"${method}","n":${'7'.repeat(50)}}`;
        const r = await sendText(w, `/public/items/42?v=${method}`, {
          method, body, headers: { 'content-type': 'application/json' },
        });
        assert.equal(r.res.status, 200, `${method}: ${r.text}`);
        assert.equal(r.json.method, method);
        assert.equal(r.json.url, `/public/items/42?v=${method}`);
        assert.equal(r.json.body, body, `${method} body`);
      }

      // Status, headers (two Set-Cookie) and body of the origin come back.
      const a = await send(w, '/public/answer');
      assert.equal(a.status, 201);
      assert.equal(a.headers.get('x-origin-thing'), 'yes');
      assert.deepEqual(setCookies(a), ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
      assert.equal(await a.text(), 'made by the origin');

      const bigRes = await send(w, '/public/big-answer');
      assert.equal(bigRes.status, 200);
      assert.equal(sha256(await bigRes.text()), sha256(bigAnswer), '2 MiB answer intact');
      const empty = await send(w, '/public/empty', { method: 'DELETE' });
      assert.equal(empty.status, 204);
      assert.equal(await empty.text(), '');
      // An origin error is the origin's answer, not turned into a problem.
      const broken = await send(w, '/public/broken');
      assert.equal(broken.status, 500);
      assert.equal(broken.headers.get('content-type'), 'text/html');
      assert.equal(await broken.text(), '<h1>origin error</h1>');
    });
  });

  test('ORIGIN_URL with a path is a prefix; the request path is forwarded untouched', async () => {
    const origin = await startOrigin();
    try {
      await withGuard({ originUrl: `${origin.url}/base/` }, async ({ w }) => {
        for (const path of ['/public/a?b=1', '/public/a%2Fb%20c?x=%2F&y', '/public/caf%C3%A9/']) {
          const { res } = await sendText(w, path);
          assert.equal(res.status, 200, path);
          assert.equal(origin.received.at(-1).url, `/base${path}`);
        }
      });
    } finally {
      await origin.close();
    }
  });

  test('a 3xx from the origin is passed through, not followed', async () => {
    let hits = 0;
    const respond = (seen) => {
      if (seen.url === '/public/moved') {
        hits++;
        return { status: 302, headers: { location: '/public/target?from=moved' }, body: '' };
      }
      if (seen.url === '/public/perm') return { status: 308, headers: { location: 'https://elsewhere.example/x' }, body: '' };
      return undefined;
    };
    await withGuard({ respond }, async ({ w, origin }) => {
      const res = await send(w, '/public/moved');
      await res.arrayBuffer();
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/public/target?from=moved');
      assert.equal(hits, 1);
      assert.ok(!origin.received.some((s) => s.url.startsWith('/public/target')), 'redirect not followed by the Worker');

      const perm = await send(w, '/public/perm', { method: 'POST', body: 'x' });
      await perm.arrayBuffer();
      assert.equal(perm.status, 308);
      assert.equal(perm.headers.get('location'), 'https://elsewhere.example/x');
    });
  });

  // ---------------------------------------------------------------- identity headers

  test('identity headers: X-Session-Id, X-Session-User (encodeURIComponent), X-Session-Meta (base64url JSON)', async () => {
    await withGuard({}, async ({ w, origin }) => {
      const userId = 'acme:team/50% off é 😀';
      const meta = { roles: ['editor'], plan: 'pro', nested: { n: 1, s: 'é😀', list: [true, null] } };
      const { token, session } = await createSession(w, { userId, meta });
      for (const auth of [{ bearer: token }, { cookie: token }]) {
        const { res, json } = await sendText(w, '/app/profile', auth);
        assert.equal(res.status, 200, JSON.stringify(json));
        const h = json.headers;
        assert.equal(h['x-session-id'], session.id);
        assert.notEqual(h['x-session-id'], token);
        assert.equal(h['x-session-user'], encodeURIComponent(userId));
        assert.equal(decodeURIComponent(h['x-session-user']), userId);
        assert.match(h['x-session-meta'], /^[A-Za-z0-9_-]+$/, 'base64url without padding');
        assert.deepEqual(JSON.parse(Buffer.from(h['x-session-meta'], 'base64url').toString('utf8')), meta);
      }
      // A session without meta sends the empty object.
      const plain = await createSession(w, { userId: 'plain' });
      const { json } = await sendText(w, '/app/x', { bearer: plain.token });
      assert.deepEqual(JSON.parse(Buffer.from(json.headers['x-session-meta'], 'base64url').toString()), {});
      assert.equal(origin.received.length, 3);
    });
  });

  test('client-sent X-Session-* headers are removed on public paths and replaced on session paths', async () => {
    await withGuard({}, async ({ w }) => {
      const { token, session } = await createSession(w, { userId: 'real-user' });
      const spoof = {
        'X-Session-Id': 'forged-id',
        'x-session-user': 'mallory',
        'X-SESSION-META': 'e30',
        'X-Session-Whatever': 'nope',
        'x-SeSsIoN-issue': '{"userId":"mallory"}',
        'X-Session-Revoke': 'all',
        'X-Session-Auth-Time': '0',
        'X-Session-Assertion': 'e30.e30.forged',
        'x-sessionless': 'kept', // not an X-Session-* header
      };
      const pub = await sendText(w, '/public/page', { headers: spoof });
      assert.equal(pub.res.status, 200);
      assert.deepEqual(sessionHeaders(pub.json), {}, 'no X-Session-* reaches the origin on a public path');
      assert.equal(pub.json.headers['x-sessionless'], 'kept');

      // Same on a public path while carrying a valid session.
      const pubAuth = await sendText(w, '/public/page', { headers: spoof, bearer: token });
      assert.deepEqual(sessionHeaders(pubAuth.json), {});

      for (const auth of [{ bearer: token }, { cookie: token }]) {
        const priv = await sendText(w, '/app/page', { headers: spoof, ...auth });
        assert.equal(priv.res.status, 200);
        assert.deepEqual(sessionHeaders(priv.json), {
          'x-session-id': session.id,
          'x-session-user': 'real-user',
          'x-session-meta': Buffer.from('{}').toString('base64url'),
          'x-session-auth-time': String(Math.floor(Date.parse(session.authenticatedAt) / 1000)),
        });
      }
    });
  });

  test('the session cookie and a bearer es1. token are not forwarded; other cookies and credentials are', async () => {
    await withGuard({}, async ({ w }) => {
      const { token } = await createSession(w);
      // Cookie among others, on a session path and on a public path.
      for (const path of ['/app/c', '/public/c']) {
        const { res, json } = await sendText(w, path, { headers: { cookie: `a=1; ${COOKIE}=${token}; b=2` } });
        assert.equal(res.status, 200, path);
        assert.equal(json.headers.cookie, 'a=1; b=2', `${path}: other cookies kept, ours dropped`);
        assert.ok(!JSON.stringify(json).includes(token), `${path}: token nowhere in what the origin saw`);
      }
      // Only our cookie: no Cookie header at all.
      const only = await sendText(w, '/app/c', { cookie: token });
      assert.equal(only.json.headers.cookie, undefined);

      // Bearer: Authorization removed, on both kinds of paths.
      for (const path of ['/app/b', '/public/b']) {
        const { res, json } = await sendText(w, path, { bearer: token });
        assert.equal(res.status, 200, path);
        assert.equal(json.headers.authorization, undefined, path);
        assert.ok(!JSON.stringify(json).includes(token), path);
      }
      // Even a forged es1. bearer on a public path is not forwarded.
      const forged = await sendText(w, '/public/b', { bearer: forge(token) });
      assert.equal(forged.json.headers.authorization, undefined);
      // The origin's own credentials are kept.
      const basic = await sendText(w, '/public/b', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      assert.equal(basic.json.headers.authorization, 'Basic dXNlcjpwYXNz');
    });
  });

  test('FORWARD_TOKEN=true forwards the session cookie and the bearer token', async () => {
    await withGuard({ bindings: { FORWARD_TOKEN: 'true' } }, async ({ w }) => {
      const { token, session } = await createSession(w);
      const c = await sendText(w, '/app/c', { headers: { cookie: `a=1; ${COOKIE}=${token}` } });
      assert.equal(c.res.status, 200);
      assert.match(c.json.headers.cookie, new RegExp(`(^|; )${COOKIE}=${token.replace(/[.]/g, '\\.')}(;|$)`));
      assert.match(c.json.headers.cookie, /(^|; )a=1(;|$)/);
      assert.equal(c.json.headers['x-session-id'], session.id);
      const b = await sendText(w, '/app/b', { bearer: token });
      assert.equal(b.json.headers.authorization, `Bearer ${token}`);
      // X-Session-* from the client are still removed.
      const p = await sendText(w, '/public/p', { bearer: token, headers: { 'x-session-user': 'x' } });
      assert.equal(p.json.headers.authorization, `Bearer ${token}`);
      assert.deepEqual(sessionHeaders(p.json), {});
    });
  });

  // ---------------------------------------------------------------- access decisions

  test('401 without a token and with forged tokens; the origin is never called', async () => {
    await withGuard({}, async ({ w, origin }) => {
      const { token } = await createSession(w);
      await expectProblem(await send(w, '/app/x'), 401, 'unauthorized', 'no token');
      await expectProblem(await send(w, '/app/x', { bearer: forge(token) }), 401, 'invalid_token', 'forged bearer');
      await expectProblem(await send(w, '/app/x', { bearer: forgeSecret(token) }), 401, 'invalid_token', 'other secret');
      await expectProblem(await send(w, '/app/x', { bearer: 'es1.garbage' }), 401, 'invalid_token', 'garbage');
      await expectProblem(await send(w, '/app/x', { bearer: 'not-even-es1' }), 401, 'invalid_token', 'not ours');
      // A forged cookie also gets that cookie cleared.
      const res = await send(w, '/app/x', { cookie: forge(token) });
      const clear = sessionCookie(res);
      await expectProblem(res, 401, 'invalid_token', 'forged cookie');
      assert.ok(clear, 'the dead cookie is cleared');
      assert.equal(clear.attrs['max-age'], '0');
      assert.equal(clear.value, '');
      // A token revoked through the admin API.
      const other = await createSession(w, { userId: 'bob' });
      const del = await w.fetch(`/auth/admin/sessions/${other.session.id}`, {
        method: 'DELETE', headers: { authorization: `Bearer ${w.env.ADMIN_KEY}` },
      });
      assert.equal(del.status, 204);
      await expectProblem(await send(w, '/app/x', { bearer: other.token }), 401, 'invalid_token', 'revoked');
      // Unmatched paths need a session too.
      await expectProblem(await send(w, '/not/in/any/rule'), 401, 'unauthorized', 'unmatched path');
      await expectProblem(await send(w, '/'), 401, 'unauthorized', 'root');
      assert.equal(origin.received.length, 0, 'origin never called');
      // ...and are forwarded with a session.
      const ok = await sendText(w, '/not/in/any/rule?x=1', { bearer: token });
      assert.equal(ok.res.status, 200);
      assert.equal(ok.json.url, '/not/in/any/rule?x=1');
    });
  });

  test('forged tokens cause no KV-visible side effect', async () => {
    await withGuard({}, async ({ w, origin }) => {
      const { token } = await createSession(w, { userId: 'kv-user' });
      await createSession(w, { userId: 'kv-user-2' });
      const before = await kvSnapshot(w);
      assert.ok(before.length >= 2, 'sessions are in KV');
      for (const bad of [forge(token), forgeSecret(token)]) {
        for (const auth of [{ bearer: bad }, { cookie: bad }]) {
          await expectProblem(await send(w, '/app/x', auth), 401, 'invalid_token');
          await expectProblem(await send(w, '/app/x', { ...auth, method: 'POST', origin: true, body: 'x' }), 401, 'invalid_token');
        }
        // On a public path, a handoff by the origin with a forged current token.
        const r = await send(w, '/public/x', { cookie: bad });
        assert.equal(r.status, 200);
        await r.arrayBuffer();
      }
      await sleep(300); // any waitUntil work would have run by now
      assert.deepEqual(await kvSnapshot(w), before, 'KV unchanged');
      assert.equal(origin.received.length, 2, 'only the public requests reached the origin');
    });
  });

  test('browser navigations are redirected to LOGIN_URL with next; fetches and POSTs get 401', async () => {
    const bindings = { LOGIN_URL: 'https://login.example/signin?app=demo' };
    await withGuard({ bindings }, async ({ w, origin }) => {
      const nav = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
      const res = await send(w, '/app/dash/board?tab=a%20b&x=1', { headers: nav });
      await res.arrayBuffer();
      assert.equal(res.status, 302);
      const loc = new URL(res.headers.get('location'));
      assert.equal(loc.origin + loc.pathname, 'https://login.example/signin');
      assert.equal(loc.searchParams.get('app'), 'demo');
      assert.equal(loc.searchParams.get('next'), '/app/dash/board?tab=a%20b&x=1');

      // `next` is always a local path, never protocol-relative.
      const evil = await send(w, '//evil.example/x?y=1', { headers: nav });
      await evil.arrayBuffer();
      assert.equal(evil.status, 302);
      assert.equal(new URL(evil.headers.get('location')).searchParams.get('next'), '/evil.example/x?y=1');

      // Unmatched path, navigation: also a redirect.
      const un = await send(w, '/somewhere', { headers: nav });
      await un.arrayBuffer();
      assert.equal(un.status, 302);
      assert.equal(new URL(un.headers.get('location')).searchParams.get('next'), '/somewhere');

      // Navigation with a forged cookie: redirect, and the dead cookie is cleared.
      const { token } = await createSession(w);
      const dead = await send(w, '/app/dash', { headers: nav, cookie: forge(token) });
      await dead.arrayBuffer();
      assert.equal(dead.status, 302);
      assert.equal(sessionCookie(dead)?.attrs['max-age'], '0');

      // Not a navigation: 401.
      await expectProblem(await send(w, '/app/dash', { headers: { accept: 'application/json' } }), 401, 'unauthorized', 'fetch json');
      await expectProblem(await send(w, '/app/dash'), 401, 'unauthorized', 'no accept');
      // Not navigations but accepting HTML: the page, same status and code.
      await expectPage(await send(w, '/app/dash', { method: 'POST', headers: nav, body: 'x' }), 401, 'unauthorized', 'POST html');
      await expectPage(await send(w, '/app/dash', { headers: { ...nav }, bearer: forge(token), method: 'DELETE' }), 401, 'invalid_token', 'DELETE html');
      assert.equal(origin.received.length, 0);

      // With a session, the navigation goes through.
      const ok = await send(w, '/app/dash', { headers: nav, cookie: token });
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
    });
    // Without LOGIN_URL a navigation gets the 401, as the page.
    await withGuard({}, async ({ w }) => {
      await expectPage(await send(w, '/app/dash', { headers: { accept: 'text/html' } }), 401, 'unauthorized', 'no LOGIN_URL');
    });
  });

  test('role:NAME paths: 403 forbidden without the role, forwarded with it', async () => {
    await withGuard({}, async ({ w, origin }) => {
      const none = await createSession(w, { userId: 'u-none' });
      const user = await createSession(w, { userId: 'u-user', meta: { roles: ['user', 'Admin'] } });
      const notArray = await createSession(w, { userId: 'u-str', meta: { roles: 'admin' } });
      const admin = await createSession(w, { userId: 'u-admin', meta: { roles: ['user', 'admin'] } });
      await expectProblem(await send(w, '/admin/panel'), 401, 'unauthorized');
      for (const s of [none, user, notArray]) {
        await expectProblem(await send(w, '/admin/panel', { bearer: s.token }), 403, 'forbidden', s.session.userId);
      }
      assert.equal(origin.received.length, 0);
      const { res, json } = await sendText(w, '/admin/panel?x=1', { bearer: admin.token });
      assert.equal(res.status, 200);
      assert.equal(json.url, '/admin/panel?x=1');
      assert.equal(json.headers['x-session-user'], 'u-admin');
      // The rule's /** covers the prefix itself.
      assert.equal((await send(w, '/admin', { bearer: admin.token })).status, 200);
      await expectProblem(await send(w, '/admin', { bearer: user.token }), 403, 'forbidden');
    });
  });

  test('rule matching: methods, * within a segment, trailing /**', async () => {
    await withGuard({}, async ({ w, origin }) => {
      const { token } = await createSession(w);
      // GET public, POST needs a session.
      assert.equal((await sendText(w, '/articles/hello')).res.status, 200);
      assert.equal((await sendText(w, '/articles/hello', { method: 'HEAD' })).res.status, 200, 'HEAD follows GET');
      await expectProblem(await send(w, '/articles/hello', { method: 'POST', body: 'x' }), 401, 'unauthorized');
      assert.equal((await sendText(w, '/articles/hello', { method: 'POST', body: 'x', bearer: token })).res.status, 200);
      // `/login` is public for POST only.
      await expectProblem(await send(w, '/login'), 401, 'unauthorized', 'GET /login');
      // `*` stays within one segment.
      assert.equal((await sendText(w, '/assets/app.js')).res.status, 200);
      await expectProblem(await send(w, '/assets/sub/app.js'), 401, 'unauthorized', 'nested asset');
      await expectProblem(await send(w, '/assets/app.css'), 401, 'unauthorized', 'other extension');
      await expectProblem(await send(w, '/articles/a/b'), 401, 'unauthorized', 'two segments');
      // `/**` matches the prefix and below, not a longer name.
      assert.equal((await sendText(w, '/public')).res.status, 200);
      assert.equal((await sendText(w, '/public/a/b/c')).res.status, 200);
      await expectProblem(await send(w, '/publicity'), 401, 'unauthorized', '/publicity');
      // A path written to straddle rules gets the stricter one.
      await expectProblem(await send(w, '/public/..%2Fapp/x'), 401, 'unauthorized', 'encoded dot-dot');
      const forwarded = origin.received.map((s) => `${s.method} ${s.url}`);
      assert.deepEqual(forwarded, [
        'GET /articles/hello', 'HEAD /articles/hello', 'POST /articles/hello',
        'GET /assets/app.js', 'GET /public', 'GET /public/a/b/c',
      ]);
    });
  });

  // ---------------------------------------------------------------- CSRF

  test('CSRF matrix on a session path with cookie authentication', async () => {
    const bindings = { ALLOWED_ORIGINS: 'https://app.example.com, https://other.example:8443' };
    await withGuard({ bindings }, async ({ w, origin }) => {
      const { token } = await createSession(w);
      const body = '{"a":1}';
      const headers = { 'content-type': 'application/json' };
      const forwarded = async (what, opts) => {
        const before = origin.received.length;
        const { res, json, text } = await sendText(w, '/app/form', { headers, ...opts });
        assert.equal(res.status, 200, `${what}: ${text}`);
        assert.equal(origin.received.length, before + 1, what);
        assert.equal(json.method, opts.method || 'GET', what);
      };
      const refused = async (what, opts) => {
        const before = origin.received.length;
        await expectProblem(await send(w, '/app/form', { headers, ...opts }), 403, 'csrf', what);
        assert.equal(origin.received.length, before, `${what}: origin not called`);
      };
      await forwarded('same origin', { method: 'POST', body, cookie: token, origin: selfOrigin(w) });
      await forwarded('allowed origin', { method: 'POST', body, cookie: token, origin: 'https://app.example.com' });
      await forwarded('second allowed origin', { method: 'PUT', body, cookie: token, origin: 'https://other.example:8443' });
      await refused('foreign origin', { method: 'POST', body, cookie: token, origin: 'https://evil.example' });
      await refused('allowed host, other port', { method: 'POST', body, cookie: token, origin: 'https://app.example.com:8443' });
      await refused('allowed host, other scheme', { method: 'POST', body, cookie: token, origin: 'http://app.example.com' });
      await refused('Origin: null', { method: 'POST', body, cookie: token, origin: 'null' });
      await refused('no Origin', { method: 'POST', body, cookie: token });
      await refused('DELETE, no Origin', { method: 'DELETE', cookie: token });
      await refused('PATCH, foreign', { method: 'PATCH', body, cookie: token, origin: 'https://evil.example' });
      await forwarded('bearer POST without Origin', { method: 'POST', body, bearer: token });
      await forwarded('bearer POST with a foreign Origin', { method: 'POST', body, bearer: token, origin: 'https://evil.example' });
      await forwarded('GET without Origin', { cookie: token });
      await forwarded('GET with a foreign Origin', { cookie: token, origin: 'https://evil.example' });
      // Bearer wins over the cookie when both are there: no CSRF check.
      await forwarded('bearer + cookie', { method: 'POST', body, bearer: token, cookie: token });
    });
  });

  // ---------------------------------------------------------------- handoff

  /**
   * An origin that logs in (`X-Session-Issue`) on `/login` and `/app/relogin`
   * and logs out (`X-Session-Revoke`) on `/logout` and `/app/logout`; the
   * test picks the values with the request headers `x-test-issue` /
   * `x-test-revoke` (on a login, also revokes), and can ask for a redirect
   * with `x-test-location`. Anything else is echoed.
   */
  function handoffOrigin() {
    return (seen) => {
      if (seen.url === '/login' || seen.url === '/app/relogin') {
        const value = seen.headers['x-test-issue'] ?? '{"userId":"bob","meta":{"roles":["a"]}}';
        const headers = { 'x-session-issue': value };
        if (seen.headers['x-test-revoke']) headers['x-session-revoke'] = seen.headers['x-test-revoke'];
        if (seen.headers['x-test-location']) {
          return { status: 303, headers: { ...headers, location: seen.headers['x-test-location'] }, body: '' };
        }
        return { headers };
      }
      if (seen.url === '/logout' || seen.url === '/app/logout') {
        return { headers: { 'x-session-revoke': seen.headers['x-test-revoke'] ?? 'current' } };
      }
      return undefined;
    };
  }

  test('handoff: X-Session-Issue logs in; the cookie works; a second login replaces the session', async () => {
    await withGuard({ respond: handoffOrigin() }, async ({ w }) => {
      const ua = 'Mozilla/5.0 (guard-test) Gecko/20100101';
      const res = await send(w, '/login', { method: 'POST', body: 'user=bob&pw=x', headers: { 'user-agent': ua, 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(res.status, 200);
      const echoed = JSON.parse(await res.text());
      assert.equal(echoed.body, 'user=bob&pw=x', 'origin got the login body');
      assert.equal(res.headers.get('x-session-issue'), null, 'X-Session-Issue stripped from the response');
      const c = sessionCookie(res);
      assertCookieAttrs(c);
      assert.match(c.value, /^es1\./);
      const maxAge = Number(c.attrs['max-age']);
      assert.ok(maxAge > 604800 - 10 && maxAge <= 604800, `Max-Age ${maxAge} ~ default idle TTL`);

      const me = await currentSession(w, c.value, 'cookie');
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.equal(me.session.userId, 'bob');
      assert.deepEqual(me.session.meta, { roles: ['a'] });
      assert.equal(me.session.client.userAgent, ua);

      // The issued cookie authenticates guarded paths.
      const g = await sendText(w, '/app/home', { cookie: c.value });
      assert.equal(g.res.status, 200);
      assert.equal(g.json.headers['x-session-user'], 'bob');

      // Logging in again while holding the cookie replaces the session.
      // A browser sends its Origin: a cookie without one is refused (issue 18).
      const again = await send(w, '/login', { method: 'POST', body: 'x', cookie: c.value, origin: true });
      await again.arrayBuffer();
      const c2 = sessionCookie(again);
      assertCookieAttrs(c2);
      assert.notEqual(c2.value, c.value);
      assert.equal(setCookies(again).filter((s) => s.startsWith(`${COOKIE}=`)).length, 1, 'one session cookie');
      const old = await currentSession(w, c.value);
      assert.equal(old.status, 401, 'old token dead');
      assert.equal(old.body.code, 'invalid_token');
      assert.equal((await currentSession(w, c2.value)).status, 200, 'new token works');

      // Same with a bearer token.
      const again2 = await send(w, '/login', { method: 'POST', body: 'x', bearer: c2.value });
      await again2.arrayBuffer();
      const c3 = sessionCookie(again2);
      assert.ok(c3 && c3.value !== c2.value);
      assert.equal((await currentSession(w, c2.value)).status, 401);
      assert.equal((await currentSession(w, c3.value)).status, 200);
    });
  });

  test('handoff: X-Session-Revoke current clears the cookie and kills the token; all kills every session of the user', async () => {
    await withGuard({ respond: handoffOrigin() }, async ({ w }) => {
      const a = await createSession(w, { userId: 'carol' });
      const b = await createSession(w, { userId: 'carol' });
      const c = await createSession(w, { userId: 'carol' });
      const other = await createSession(w, { userId: 'dave' });

      // current, on a public path, cookie-authenticated.
      const res = await send(w, '/logout', { method: 'POST', cookie: a.token, origin: true, body: '' });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-session-revoke'), null, 'header stripped');
      const cleared = sessionCookie(res);
      assertCookieAttrs(cleared);
      assert.equal(cleared.attrs['max-age'], '0');
      assert.equal(cleared.value, '');
      assert.equal((await currentSession(w, a.token)).status, 401, 'revoked token');
      assert.equal((await currentSession(w, b.token)).status, 200, 'other sessions of the user untouched');

      // Logging out without a session still clears the cookie (idempotent).
      const anon = await send(w, '/logout', { method: 'POST', body: '' });
      await anon.arrayBuffer();
      assert.equal(sessionCookie(anon)?.attrs['max-age'], '0');

      // all, on a session path, bearer-authenticated.
      const all = await send(w, '/app/logout', { method: 'POST', bearer: b.token, headers: { 'x-test-revoke': 'all' }, body: '' });
      assert.equal(all.status, 200);
      await all.arrayBuffer();
      assert.equal(all.headers.get('x-session-revoke'), null);
      assert.equal(sessionCookie(all)?.attrs['max-age'], '0');
      for (const s of [b, c]) assert.equal((await currentSession(w, s.token)).status, 401, 'every carol session is gone');
      assert.equal((await currentSession(w, other.token)).status, 200, 'dave untouched');
      const list = await w.fetch('/auth/admin/users/carol/sessions', { headers: { authorization: `Bearer ${w.env.ADMIN_KEY}` } });
      assert.deepEqual((await list.json()).sessions, []);
    });
  });

  test('handoff: a login answered with a redirect sets the cookie on the redirect', async () => {
    await withGuard({ respond: handoffOrigin() }, async ({ w, origin }) => {
      const res = await send(w, '/login', { method: 'POST', body: 'u=bob', headers: { 'x-test-location': '/app/home?welcome=1' } });
      await res.arrayBuffer();
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/app/home?welcome=1');
      assert.equal(res.headers.get('x-session-issue'), null);
      const c = sessionCookie(res);
      assertCookieAttrs(c);
      assert.equal(origin.received.length, 1, 'redirect not followed');
      const home = await sendText(w, '/app/home?welcome=1', { cookie: c.value });
      assert.equal(home.res.status, 200);
      assert.equal(home.json.headers['x-session-user'], 'bob');
    });
  });

  test('handoff: X-Session-Revoke all plus X-Session-Issue signs out everywhere and in again here', async () => {
    await withGuard({ respond: handoffOrigin() }, async ({ w }) => {
      const old = await Promise.all([1, 2, 3].map(() => createSession(w, { userId: 'frank' })));
      const res = await send(w, '/login', {
        method: 'POST', body: '', cookie: old[0].token, origin: true,
        headers: { 'x-test-revoke': 'all', 'x-test-issue': '{"userId":"frank","label":"fresh"}' },
      });
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-session-revoke'), null);
      assert.equal(res.headers.get('x-session-issue'), null);
      const ours = setCookies(res).filter((v) => v.startsWith(`${COOKIE}=`));
      assert.equal(ours.length, 1, `one session cookie: ${ours}`);
      const c = sessionCookie(res);
      assert.notEqual(c.attrs['max-age'], '0', 'the new session cookie, not the clearing one');
      for (const s of old) assert.equal((await currentSession(w, s.token)).status, 401, 'old sessions gone');
      const me = await currentSession(w, c.value);
      assert.equal(me.status, 200);
      assert.equal(me.session.label, 'fresh');
      const list = await w.fetch('/auth/admin/users/frank/sessions', { headers: { authorization: `Bearer ${w.env.ADMIN_KEY}` } });
      assert.deepEqual((await list.json()).sessions.map((x) => x.id), [me.session.id]);
    });
  });

  test('handoff: a malformed X-Session-Issue is ignored and stripped', async () => {
    await withGuard({ respond: handoffOrigin() }, async ({ w, origin }) => {
      for (const bad of ['{nope', '[]', '{"userId":7}', '{"userId":"x","extra":1}', '{"userId":""}', '{"userId":"x","idleTtl":5}']) {
        const res = await send(w, '/login', { method: 'POST', body: 'b', headers: { 'x-test-issue': bad } });
        assert.equal(res.status, 200, bad);
        const echoed = JSON.parse(await res.text());
        assert.equal(echoed.url, '/login');
        assert.equal(res.headers.get('x-session-issue'), null, `${bad}: stripped`);
        assert.deepEqual(setCookies(res), [], `${bad}: no Set-Cookie`);
      }
      assert.equal(origin.received.length, 6);
      // Nothing was created.
      const list = await w.fetch('/auth/admin/sessions', { headers: { authorization: `Bearer ${w.env.ADMIN_KEY}` } });
      assert.deepEqual((await list.json()).sessions, []);
    });
  });

  test('handoff headers sent by a client trigger nothing and never reach the origin', async () => {
    await withGuard({}, async ({ w, origin }) => {
      const victim = await createSession(w, { userId: 'erin' });
      for (const path of ['/public/x', '/app/x']) {
        const res = await send(w, path, {
          bearer: victim.token,
          headers: { 'X-Session-Issue': '{"userId":"mallory","meta":{"roles":["admin"]}}', 'X-Session-Revoke': 'all' },
        });
        assert.equal(res.status, 200, path);
        const seen = JSON.parse(await res.text());
        const expected = path === '/app/x' ? ['x-session-auth-time', 'x-session-id', 'x-session-meta', 'x-session-user'] : [];
        assert.deepEqual(Object.keys(sessionHeaders(seen)).sort(), expected, `${path}: only the real identity headers`);
        assert.equal(seen.headers['x-session-issue'], undefined, `${path}: origin did not see X-Session-Issue`);
        assert.equal(seen.headers['x-session-revoke'], undefined, `${path}: origin did not see X-Session-Revoke`);
        assert.deepEqual(setCookies(res), [], `${path}: no cookie`);
      }
      assert.equal(origin.received.length, 2);
      assert.equal((await currentSession(w, victim.token)).status, 200, 'victim still signed in');
      const list = await w.fetch('/auth/admin/users/mallory/sessions', { headers: { authorization: `Bearer ${w.env.ADMIN_KEY}` } });
      assert.deepEqual((await list.json()).sessions, [], 'no mallory session');
    });
  });

  // ---------------------------------------------------------------- failures

  test('store unavailable (no SESSIONS binding): session paths 503 store_unavailable, public paths forwarded', async () => {
    // Mint a token with a Worker that has KV, then use it where KV is missing
    // (same TOKEN_KEYS, so its tag verifies).
    const minter = await startWorker();
    let token;
    try {
      ({ token } = await createSession(minter));
    } finally {
      await minter.dispose();
    }
    const bindings = { TOKEN_KEYS: minter.env.TOKEN_KEYS, ADMIN_KEY: minter.env.ADMIN_KEY };
    await withGuard({ bindings, kvNamespaces: [], respond: handoffOrigin() }, async ({ w, origin }) => {
      await expectProblem(await send(w, '/app/x', { bearer: token }), 503, 'store_unavailable', 'bearer');
      await expectProblem(await send(w, '/app/x', { cookie: token }), 503, 'store_unavailable', 'cookie');
      await expectProblem(await send(w, '/admin/x', { bearer: token }), 503, 'store_unavailable', 'role path');
      // A navigation is not sent to the login page: the store is down, not the session.
      await expectPage(await send(w, '/app/x', { cookie: token, headers: { accept: 'text/html' } }), 503, 'store_unavailable', 'navigation');
      assert.equal(origin.received.length, 0, 'fail closed: origin never called');
      // A forged token costs no KV read: 401, not 503.
      await expectProblem(await send(w, '/app/x', { bearer: forge(token) }), 401, 'invalid_token', 'forged');
      await expectProblem(await send(w, '/app/x'), 401, 'unauthorized', 'no token');
      // Public paths need no KV.
      const pub = await sendText(w, '/public/x?y=1', { bearer: token });
      assert.equal(pub.res.status, 200);
      assert.equal(pub.json.url, '/public/x?y=1');
      // A login handoff that cannot be stored: 503 instead of the origin's
      // answer (no one is told they signed in), no header, no cookie.
      const login = await send(w, '/login', { method: 'POST', body: 'x' });
      assert.equal(login.headers.get('x-session-issue'), null);
      assert.deepEqual(setCookies(login), []);
      await expectProblem(login, 503, 'store_unavailable', 'login handoff');
      assert.equal(origin.received.length, 2);
    });
  });

  test('missing TOKEN_KEYS: public paths forwarded, session paths 503 misconfigured', async () => {
    await withGuard({ bindings: { TOKEN_KEYS: undefined }, respond: handoffOrigin() }, async ({ w, origin }) => {
      const pub = await sendText(w, '/public/page?q=1');
      assert.equal(pub.res.status, 200);
      assert.equal(pub.json.url, '/public/page?q=1');
      // A handoff cannot be carried out: its headers are still stripped,
      // nothing is issued, and no one is told they signed in or out (503;
      // a sign-out still clears the cookie).
      const login = await send(w, '/login', { method: 'POST', body: 'x' });
      assert.equal(login.headers.get('x-session-issue'), null);
      assert.deepEqual(setCookies(login), []);
      await expectProblem(login, 503, 'misconfigured', 'login handoff');
      const logout = await send(w, '/logout', { method: 'POST', body: '' });
      assert.equal(logout.headers.get('x-session-revoke'), null);
      assert.match(sessionCookie(logout)?.attrs['max-age'] ?? '', /^0$/, 'the cookie is cleared');
      await expectProblem(logout, 503, 'misconfigured', 'logout handoff');
      await expectProblem(await send(w, '/app/x'), 503, 'misconfigured', 'no token');
      await expectProblem(await send(w, '/app/x', { bearer: 'es1.k1.aaaa.bbbb.cccc' }), 503, 'misconfigured', 'token');
      await expectPage(await send(w, '/somewhere', { headers: { accept: 'text/html' } }), 503, 'misconfigured', 'unmatched');
      assert.equal(origin.received.length, 3);
    });
    // An invalid key ring behaves the same.
    await withGuard({ bindings: { TOKEN_KEYS: 'k1:tooshort' } }, async ({ w, origin }) => {
      assert.equal((await sendText(w, '/public/page')).res.status, 200);
      const p = await expectProblem(await send(w, '/app/x'), 503, 'misconfigured');
      assert.ok(!p.detail.includes('tooshort'), 'the secret is not echoed');
      assert.equal(origin.received.length, 1);
    });
  });

  test('origin unreachable: 502 origin_unavailable', async () => {
    const port = await closedPort();
    await withGuard({ originUrl: `http://127.0.0.1:${port}` }, async ({ w }) => {
      await expectProblem(await send(w, '/public/x'), 502, 'origin_unavailable', 'public');
      const { token } = await createSession(w);
      await expectProblem(await send(w, '/app/x', { bearer: token }), 502, 'origin_unavailable', 'session');
      await expectProblem(await send(w, '/public/x', { method: 'POST', body: 'x'.repeat(1000) }), 502, 'origin_unavailable', 'POST');
    });
  });

  test('invalid GUARD_RULES: 503 misconfigured naming GUARD_RULES', async () => {
    for (const rules of ['not json', '[{"path":"/x"}]', '[{"path":"x","access":"public"}]', '{"path":"/x","access":"public"}']) {
      await withGuard({ bindings: { GUARD_RULES: rules } }, async ({ w, origin }) => {
        for (const path of ['/public/x', '/app/x', '/', '/auth/session']) {
          const p = await expectProblem(await send(w, path), 503, 'misconfigured', `${rules} ${path}`);
          assert.match(p.detail, /GUARD_RULES/, `${rules}: ${p.detail}`);
        }
        assert.equal(origin.received.length, 0, `${rules}: origin never called`);
      });
    }
  });

  // ---------------------------------------------------------------- bytes and methods the runtime's types could lose

  /** A header value as a browser puts UTF-8 text on the wire (one char per byte). */
  const utf8Wire = (text) => Buffer.from(text, 'utf8').toString('latin1');

  test('request headers with non-ASCII bytes are forwarded (Cookie of the app, custom headers)', async () => {
    await withGuard({}, async ({ w }) => {
      const { json } = await sendText(w, '/public/x', {
        headers: { cookie: utf8Wire('name=José; theme=dark'), 'x-file-name': utf8Wire('café.txt') },
      });
      assert.equal(json.headers.cookie, utf8Wire('name=José; theme=dark'), 'the Cookie header reaches the origin');
      assert.equal(json.headers['x-file-name'], utf8Wire('café.txt'));
    });
  });

  test('a non-ASCII cookie of the app does not hide the session cookie', async () => {
    await withGuard({}, async ({ w }) => {
      const { token, session } = await createSession(w);
      const { res, json, text } = await sendText(w, '/app/x', { headers: { cookie: utf8Wire(`name=José; ${COOKIE}=${token}`) } });
      assert.equal(res.status, 200, text.slice(0, 200));
      assert.equal(json.headers['x-session-id'], session.id);
    });
  });

  test('methods outside the worker crate\'s enum are forwarded as they are', async () => {
    await withGuard({}, async ({ w, origin }) => {
      for (const [method, body] of [['MKCOL', undefined], ['PURGE', undefined], ['PROPFIND', '<propfind/>']]) {
        const { res, text } = await sendText(w, '/public/dav/', { method, body });
        assert.equal(res.status, 200, `${method}: ${text.slice(0, 200)}`);
        assert.equal(origin.received.at(-1).method, method);
        assert.equal(origin.received.at(-1).body, body ?? '');
      }
    });
  });
});
