// The verifier package against the built Worker in Miniflare (started by the
// repo's tests/support/worker.mjs): an origin behind the Worker using each
// middleware, requests straight to the origin with forged headers, the
// errors, and the JWKS cache with its refetch on an unknown key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT, importPKCS8 } from 'jose';
import {
  ASSERTION_HEADER, AssertionError, assertionOf, errorResponse, honoMiddleware, nodeMiddleware, verifyAssertion,
  withIdentity,
} from '../dist/index.js';
import { startWorker } from '../../tests/support/worker.mjs';

const ADMIN = { 'content-type': 'application/json' };

function newKey(kid) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return { entry: `${kid}:${der.toString('base64')}`, pem: privateKey.export({ format: 'pem', type: 'pkcs8' }), kid };
}

/** A node:http origin running `handler(req, res)`; answers `{ url, close }`. */
async function listen(handler) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }) };
}

/** A Worker (keys `keys`, more `bindings`) in front of `originUrl`. */
async function worker(originUrl, keys, bindings = {}) {
  const w = await startWorker({ bindings: { ORIGIN_URL: originUrl, ASSERTION_KEYS: keys.map((k) => k.entry).join(','), ...bindings } });
  return {
    ...w,
    jwksUrl: new URL('/auth/.well-known/jwks.json', w.base).href,
    issuer: new URL(w.base).origin,
    async login(userId, roles = []) {
      const res = await w.fetch('/auth/admin/sessions', {
        method: 'POST', headers: { ...ADMIN, authorization: `Bearer ${w.env.ADMIN_KEY}` },
        body: JSON.stringify({ userId, meta: { roles } }),
      });
      assert.equal(res.status, 201);
      return res.json();
    },
  };
}

describe('verifyAssertion and the middlewares behind the Worker', { concurrency: 1 }, () => {
  const k1 = newKey('k1');
  let origin;
  let w;
  let options;
  /** What the last request to the origin carried. */
  let lastHeaders;

  before(async () => {
    let middleware;
    origin = await listen((req, res) => {
      lastHeaders = req.headers;
      middleware(req, res, () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(req.identity));
      });
    });
    w = await worker(origin.url, [k1]);
    options = { jwksUrl: w.jwksUrl, issuer: w.issuer, audience: origin.url };
    middleware = nodeMiddleware(options);
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test('Node middleware: a request through the Worker gets req.identity', async () => {
    const { token, session } = await w.login('zoë@example.com', ['admin', 'ops']);
    const res = await w.fetch('/app/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const identity = await res.json();
    assert.equal(identity.userId, 'zoë@example.com');
    assert.equal(identity.sessionId, session.id);
    assert.deepEqual(identity.roles, ['admin', 'ops']);
    assert.equal(identity.authTime, Math.floor(Date.parse(session.authenticatedAt ?? session.createdAt) / 1000));
    assert.equal(identity.claims.iss, w.issuer);
    assert.equal(identity.claims.aud, origin.url);
    assert.equal(identity.claims.exp - identity.claims.iat, 60);
  });

  test('straight to the origin: forged plain headers, a forged or replayed-elsewhere assertion are refused with why', async () => {
    const direct = (headers) => fetch(`${origin.url}/app/me`, { headers });
    const expect = async (res, code) => {
      assert.equal(res.status, 401);
      assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
      const p = await res.json();
      assert.equal(p.code, code, JSON.stringify(p));
      assert.equal(p.status, 401);
      return p;
    };
    const p = await expect(await direct({ 'x-session-user': 'admin', 'x-session-id': 'forged' }), 'missing');
    assert.match(p.detail, /did not come through the Worker/);
    // Signed by a key of the attacker's, with the Worker's kid.
    const mallory = newKey('k1');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sid: 's', auth_time: now, roles: ['admin'] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'k1' })
      .setIssuer(w.issuer).setAudience(origin.url).setSubject('admin').setIssuedAt(now).setExpirationTime(now + 60)
      .sign(await importPKCS8(mallory.pem, 'ES256'));
    await expect(await direct({ [ASSERTION_HEADER]: forged }), 'bad_signature');
    const otherKid = await new SignJWT({ sid: 's', auth_time: now, roles: [] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'mallory' })
      .setIssuer(w.issuer).setAudience(origin.url).setSubject('admin').setIssuedAt(now).setExpirationTime(now + 60)
      .sign(await importPKCS8(mallory.pem, 'ES256'));
    await expect(await direct({ [ASSERTION_HEADER]: otherKid }), 'unknown_key');
    await expect(await direct({ [ASSERTION_HEADER]: 'e30.e30.' }), 'malformed');
    // A genuine assertion, sent twice: not one value.
    const { token } = await w.login('u');
    await (await w.fetch('/app', { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    const genuine = lastHeaders[ASSERTION_HEADER];
    const twice = new Headers([[ASSERTION_HEADER, genuine], [ASSERTION_HEADER, genuine]]);
    await expect(await direct(twice), 'malformed');
    // Alone, the genuine one verifies at the origin: the assertion is what is trusted, not the path it came by.
    assert.equal((await direct({ [ASSERTION_HEADER]: genuine })).status, 200);
  });

  test('verifyAssertion: iss and aud must match; every error is an AssertionError with a code and status', async () => {
    const { token } = await w.login('u', ['r']);
    await (await w.fetch('/app', { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    const request = new Request('http://origin.example/app', { headers: { [ASSERTION_HEADER]: lastHeaders[ASSERTION_HEADER] } });
    const who = await verifyAssertion(request, options);
    assert.equal(who.userId, 'u');
    // The same from a Headers object and from a Node-style request.
    assert.equal((await verifyAssertion(request.headers, options)).userId, 'u');
    assert.equal((await verifyAssertion({ headers: { [ASSERTION_HEADER]: lastHeaders[ASSERTION_HEADER] } }, options)).userId, 'u');
    const refused = async (opts, code, status = 401) => {
      const e = await verifyAssertion(request, opts).then(() => null, (err) => err);
      assert.ok(e instanceof AssertionError, `${code}: ${e}`);
      assert.equal(e.name, 'AssertionError');
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(errorResponse(e).status, status);
    };
    await refused({ ...options, audience: 'https://other.example' }, 'wrong_audience');
    await refused({ ...options, issuer: 'https://other.example' }, 'wrong_issuer');
    await refused({ ...options, jwksUrl: 'http://127.0.0.1:9/jwks.json' }, 'jwks_unavailable', 503);
    await assert.rejects(verifyAssertion(new Request('http://o.example/'), options), (e) => e.code === 'missing');
    await assert.rejects(verifyAssertion(request, { ...options, issuer: undefined }), TypeError);
    await assert.rejects(verifyAssertion(request, { jwksUrl: w.jwksUrl, issuer: w.issuer }), TypeError);
    assert.equal(assertionOf(new Headers()), undefined);
  });

  test('Fetch-API (withIdentity) and Hono middlewares', async () => {
    const { token, session } = await w.login('fetch-user', ['x']);
    await (await w.fetch('/app', { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    const jws = lastHeaders[ASSERTION_HEADER];
    const handler = withIdentity(options, (req, who, extra) => Response.json({ who, extra, path: new URL(req.url).pathname }));
    const ok = await handler(new Request('http://o.example/p', { headers: { [ASSERTION_HEADER]: jws } }), 'ctx');
    assert.equal(ok.status, 200);
    const body = await ok.json();
    assert.deepEqual([body.who.userId, body.who.sessionId, body.who.roles, body.extra, body.path], ['fetch-user', session.id, ['x'], 'ctx', '/p']);
    const no = await handler(new Request('http://o.example/p', { headers: { 'x-session-user': 'fetch-user' } }));
    assert.equal(no.status, 401);
    assert.equal((await no.json()).code, 'missing');

    // Hono's middleware contract: (c, next), c.req.raw, c.set; a returned Response short-circuits.
    const hono = honoMiddleware(options);
    const seen = {};
    let nexted = 0;
    const c = (headers) => ({ req: { raw: new Request('http://o.example/', { headers }) }, set: (k, v) => { seen[k] = v; } });
    assert.equal(await hono(c({ [ASSERTION_HEADER]: jws }), async () => { nexted++; }), undefined);
    assert.equal(nexted, 1);
    assert.equal(seen.identity.userId, 'fetch-user');
    const refused = await hono(c({}), async () => { nexted++; });
    assert.equal(refused.status, 401);
    assert.equal(nexted, 1);
  });

  test('an expired assertion is refused (real time, TTL 10 s, no clock tolerance)', async () => {
    const short = await worker(origin.url, [k1], { ASSERTION_TTL: '10' });
    try {
      const { token } = await short.login('u');
      await (await short.fetch('/app', { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
      const jws = lastHeaders[ASSERTION_HEADER];
      const opts = { jwksUrl: short.jwksUrl, issuer: short.issuer, audience: origin.url, clockTolerance: 0 };
      const request = { headers: { [ASSERTION_HEADER]: jws } };
      await verifyAssertion(request, opts);
      const exp = JSON.parse(Buffer.from(jws.split('.')[1], 'base64url')).exp;
      await new Promise((resolve) => setTimeout(resolve, exp * 1000 + 1000 - Date.now()));
      await assert.rejects(verifyAssertion(request, opts), (e) => e.code === 'expired' && e.status === 401);
    } finally {
      await short.dispose();
    }
  });
});

describe('the JWKS cache', () => {
  test('fetched once, kept, fetched again for an unknown kid only after the cooldown', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    let lastHeaders;
    const origin = await listen((req, res) => {
      lastHeaders = req.headers;
      res.end('ok');
    });
    const a = await worker(origin.url, [k1]);
    const b = await worker(origin.url, [k2, k1]);
    try {
      // One JWKS URL whose answer changes from A's keys to B's, as across a rotation.
      let serving = a;
      const fetches = [];
      const jwksFetch = (url, init) => {
        fetches.push(url);
        return fetch(serving.jwksUrl, init);
      };
      const opts = (w) => ({ jwksUrl: 'https://edge.example/auth/.well-known/jwks.json', issuer: w.issuer, audience: origin.url, fetch: jwksFetch, jwksCooldownMs: 300 });
      const assertionOfWorker = async (w) => {
        const { token } = await w.login('u');
        await (await w.fetch('/app', { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
        return { headers: { [ASSERTION_HEADER]: lastHeaders[ASSERTION_HEADER] } };
      };
      const fromA = await assertionOfWorker(a);
      await verifyAssertion(fromA, opts(a));
      await verifyAssertion(fromA, opts(a));
      assert.equal(fetches.length, 1, 'kept between calls');
      serving = b;
      const fromB = await assertionOfWorker(b);
      // k2 is unknown and the last fetch is within the cooldown: refused, no fetch.
      await assert.rejects(verifyAssertion(fromB, opts(b)), (e) => e.code === 'unknown_key');
      assert.equal(fetches.length, 1, 'no refetch within the cooldown');
      await new Promise((resolve) => setTimeout(resolve, 350));
      const who = await verifyAssertion(fromB, opts(b));
      assert.equal(who.userId, 'u');
      assert.equal(fetches.length, 2, 'refetched for the unknown kid');
      // A's assertions (k1) still verify: B publishes k1 second.
      await verifyAssertion(fromA, opts(a));
      assert.equal(fetches.length, 2);
    } finally {
      await a.dispose();
      await b.dispose();
      await origin.close();
    }
  });
});
