// The identity assertion end to end (contract §6): the built Worker in
// Miniflare, in both consistency modes, signs `X-Session-Assertion` with
// WebCrypto; two libraries this project did not write verify what the origin
// receives: `jose` here, and PyJWT with `cryptography` in Python
// (tests/support/verify_assertion.py, in the venv scripts/setup.sh builds).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { startOrigin, startWorker } from './support/worker.mjs';
import { createSession, expectProblem, send } from './support/guard.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = path.join(root, '.venv-schemathesis', 'bin', 'python');
const RULES = [{ path: '/public/**', access: 'public' }];
const CLAIMS = ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'auth_time', 'roles'];
const PLAIN = ['x-session-id', 'x-session-user', 'x-session-meta', 'x-session-auth-time'];

/** A fresh P-256 key as an `ASSERTION_KEYS` entry `kid:base64(PKCS#8 DER)`. */
function newKey(kid) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return `${kid}:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}`;
}

/** Runs `fn({w, origin})` with a Worker (ASSERTION_KEYS = `keys`) in front of a recording origin. */
async function withWorker({ keys = [newKey('k1')], bindings = {}, strong = false, spyKv = false } = {}, fn) {
  const origin = await startOrigin();
  let w;
  try {
    w = await startWorker({
      strong,
      spyKv,
      bindings: {
        ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES), ASSERTION_KEYS: keys.join(','), ...bindings,
      },
    });
    return await fn({ w, origin });
  } finally {
    if (w) await w.dispose();
    await origin.close();
  }
}

/** Sends `GET path` with the token as a bearer; answers what the origin received. */
async function forwarded(w, origin, path, token, headers = {}) {
  const before = origin.received.length;
  const res = await send(w, path, { bearer: token, headers });
  assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
  await res.arrayBuffer();
  assert.equal(origin.received.length, before + 1);
  return origin.received.at(-1).headers;
}

async function jwksOf(w) {
  const res = await w.fetch('/auth/.well-known/jwks.json');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
  return res.json();
}

/** PyJWT's verdicts on `cases` (see tests/support/verify_assertion.py). */
function pyjwt(cases) {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run scripts/setup.sh`);
  const out = execFileSync(PYTHON, [path.join(root, 'tests', 'support', 'verify_assertion.py')], {
    input: JSON.stringify(cases), encoding: 'utf8', timeout: 60_000,
  });
  return JSON.parse(out);
}

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const seconds = (rfc3339) => Math.floor(Date.parse(rfc3339) / 1000);

for (const mode of ['eventual', 'strong']) {
  describe(`identity assertion (${mode})`, { concurrency: 2 }, () => {
    const strong = mode === 'strong';

    test('every claim verifies with jose and PyJWT, against the served JWKS and at the JWKS URL', async () => {
      await withWorker({ strong, bindings: { ASSERTION_TTL: '90' } }, async ({ w, origin }) => {
        const { token, session } = await createSession(w, { userId: 'zoë@example.com', meta: { roles: ['admin', 'ops'], plan: 'pro' } });
        const t0 = Math.floor(Date.now() / 1000);
        const h = await forwarded(w, origin, '/app/page?x=1', token);
        const jws = h['x-session-assertion'];
        assert.match(jws, /^[\w-]+\.[\w-]+\.[\w-]{86}$/, 'compact JWS, 64-byte signature');
        const issuer = new URL(w.base).origin;
        const audience = new URL(origin.url).origin;
        const jwks = await jwksOf(w);
        const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(jwks), { issuer, audience, algorithms: ['ES256'], typ: 'JWT', requiredClaims: CLAIMS });
        assert.deepEqual(protectedHeader, { alg: 'ES256', typ: 'JWT', kid: 'k1' });
        const authTime = seconds(session.authenticatedAt ?? session.createdAt);
        assert.deepEqual(Object.keys(payload), CLAIMS, 'the claims, in the contract order');
        assert.equal(payload.iss, issuer);
        assert.equal(payload.aud, audience);
        assert.equal(payload.sub, 'zoë@example.com');
        assert.equal(payload.sid, session.id);
        assert.ok(payload.iat >= t0 - 1 && payload.iat <= t0 + 5, `iat ${payload.iat} near ${t0}`);
        assert.equal(payload.exp, payload.iat + 90);
        assert.equal(payload.auth_time, authTime);
        assert.deepEqual(payload.roles, ['admin', 'ops']);
        // The plain headers agree, X-Session-Auth-Time included.
        assert.equal(h['x-session-auth-time'], String(authTime));
        assert.equal(h['x-session-id'], session.id);
        // jose fetching the JWKS itself, as an origin does.
        const remote = await jwtVerify(jws, createRemoteJWKSet(new URL('/auth/.well-known/jwks.json', w.base)), { issuer, audience });
        assert.equal(remote.payload.sub, 'zoë@example.com');
        // PyJWT, with the set and with PyJWKClient at the URL.
        const [fromSet, fromUrl] = pyjwt([
          { token: jws, jwks, issuer, audience },
          { token: jws, jwks_url: new URL('/auth/.well-known/jwks.json', w.base).href, issuer, audience },
        ]);
        assert.equal(fromSet.ok, true, JSON.stringify(fromSet));
        assert.deepEqual(fromSet.claims, payload);
        assert.deepEqual(fromSet.header, protectedHeader);
        assert.equal(fromUrl.ok, true, JSON.stringify(fromUrl));
      });
    });

    test('exp and aud are enforced; a changed payload, header, kid or signature is refused (jose, PyJWT)', async () => {
      await withWorker({ strong, bindings: { ASSERTION_TTL: '10' } }, async ({ w, origin }) => {
        const { token } = await createSession(w, { userId: 'u', meta: { roles: ['user'] } });
        const jws = (await forwarded(w, origin, '/x', token))['x-session-assertion'];
        const jwks = await jwksOf(w);
        const keys = createLocalJWKSet(jwks);
        const issuer = new URL(w.base).origin;
        const audience = new URL(origin.url).origin;
        const [h, p, s] = jws.split('.');
        const { exp } = decode(p);
        await jwtVerify(jws, keys, { issuer, audience });
        await assert.rejects(jwtVerify(jws, keys, { issuer, audience, currentDate: new Date((exp + 1) * 1000) }), errors.JWTExpired);
        await assert.rejects(jwtVerify(jws, keys, { issuer, audience: 'https://other.example' }), errors.JWTClaimValidationFailed);
        await assert.rejects(jwtVerify(jws, keys, { issuer: 'https://other.example', audience }), errors.JWTClaimValidationFailed);
        const sig = Buffer.from(s, 'base64url');
        sig[5] ^= 1;
        const forged = {
          payload: `${h}.${b64({ ...decode(p), roles: ['admin'] })}.${s}`,
          header: `${b64({ ...decode(h), typ: 'JWT', extra: 1 })}.${p}.${s}`,
          kid: `${b64({ ...decode(h), kid: 'k2' })}.${p}.${s}`,
          signature: `${h}.${p}.${sig.toString('base64url')}`,
          'alg none': `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${p}.`,
        };
        for (const [what, bad] of Object.entries(forged)) {
          await assert.rejects(jwtVerify(bad, keys, { issuer, audience }), `jose accepted a changed ${what}`);
        }
        const verdicts = pyjwt([
          { token: jws, jwks, issuer, audience },
          { token: jws, jwks, issuer, audience: 'https://other.example' },
          { token: jws, jwks, issuer: 'https://other.example', audience },
          ...Object.values(forged).map((bad) => ({ token: bad, jwks, issuer, audience })),
        ]);
        assert.equal(verdicts[0].ok, true, JSON.stringify(verdicts[0]));
        assert.deepEqual(verdicts[1], { ok: false, error: 'InvalidAudienceError' });
        assert.deepEqual(verdicts[2], { ok: false, error: 'InvalidIssuerError' });
        for (const [i, what] of Object.keys(forged).entries()) {
          assert.equal(verdicts[3 + i].ok, false, `PyJWT accepted a changed ${what}`);
        }
        // Real time past `exp` (TTL 10 s): both refuse it, with no clock set.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 1) * 1000 - Date.now())));
        await assert.rejects(jwtVerify(jws, keys, { issuer, audience }), errors.JWTExpired);
        assert.deepEqual(pyjwt([{ token: jws, jwks, issuer, audience }]), [{ ok: false, error: 'ExpiredSignatureError' }]);
      });
    });

    test('IDENTITY_HEADERS=assertion sends no plain identity header, and a client-sent assertion never reaches the origin', async () => {
      await withWorker({ strong, bindings: { IDENTITY_HEADERS: 'assertion' } }, async ({ w, origin }) => {
        const alice = await createSession(w, { userId: 'alice' });
        const mallory = await createSession(w, { userId: 'mallory', meta: { roles: ['admin'] } });
        const theirs = (await forwarded(w, origin, '/x', mallory.token))['x-session-assertion'];
        const spoofed = {
          'X-Session-Assertion': theirs, X_Session_Assertion: theirs, 'X-Session-User': 'mallory', 'X-Session-Auth-Time': '0',
        };
        const h = await forwarded(w, origin, '/x', alice.token, spoofed);
        for (const name of PLAIN) assert.equal(h[name], undefined, `${name} sent`);
        assert.equal(h.x_session_assertion, undefined);
        assert.notEqual(h['x-session-assertion'], theirs);
        const { payload } = await jwtVerify(h['x-session-assertion'], createLocalJWKSet(await jwksOf(w)), {
          issuer: new URL(w.base).origin, audience: new URL(origin.url).origin,
        });
        assert.equal(payload.sub, 'alice');
        // Public path, no session: stripped, none added.
        const res = await send(w, '/public/a', { headers: spoofed });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        const seen = origin.received.at(-1).headers;
        assert.deepEqual(Object.keys(seen).filter((k) => /^x[-_]session[-_]/.test(k)), []);
      });
    });

    test('signing costs no storage call: one read per guarded request, as without assertions', async () => {
      await withWorker({ strong, spyKv: true }, async ({ w, origin }) => {
        const { token } = await createSession(w, { userId: 'counted' });
        w.resetKvOps();
        const h = await forwarded(w, origin, '/x', token);
        assert.ok(h['x-session-assertion']);
        assert.deepEqual(w.kvOps(), strong ? { 'do:fetch': 1 } : { getWithMetadata: 1 });
      });
    });
  });
}

describe('identity assertion: keys, rotation, JWKS, misconfiguration', { concurrency: 2 }, () => {
  test('rotation: a key added second is published and not used; moved first it signs, and the old one still verifies', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    let old;
    let oldJwks;
    await withWorker({ keys: [k1, k2] }, async ({ w, origin }) => {
      const { token } = await createSession(w, { userId: 'u' });
      oldJwks = await jwksOf(w);
      assert.deepEqual(oldJwks.keys.map((k) => k.kid), ['k1', 'k2']);
      for (const k of oldJwks.keys) {
        assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        assert.deepEqual([k.kty, k.crv, k.alg, k.use], ['EC', 'P-256', 'ES256', 'sig']);
      }
      // The published key is the private key's (as Node derives it).
      const pub = createPrivateKey({ key: Buffer.from(k2.slice(3), 'base64'), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
      assert.deepEqual([oldJwks.keys[1].x, oldJwks.keys[1].y], [pub.x, pub.y]);
      old = (await forwarded(w, origin, '/x', token))['x-session-assertion'];
      assert.equal(decodeProtectedHeader(old).kid, 'k1');
    });
    await withWorker({ keys: [k2, k1] }, async ({ w, origin }) => {
      const { token } = await createSession(w, { userId: 'u' });
      const jwks = await jwksOf(w);
      assert.deepEqual(jwks.keys.map((k) => k.kid), ['k2', 'k1']);
      const fresh = (await forwarded(w, origin, '/x', token))['x-session-assertion'];
      assert.equal(decodeProtectedHeader(fresh).kid, 'k2');
      const issuer = new URL(w.base).origin;
      const audience = new URL(origin.url).origin;
      const keys = createLocalJWKSet(jwks);
      await jwtVerify(fresh, keys, { issuer, audience });
      // The old assertion (another Worker's origin, so its own iss/aud) still verifies by its key.
      const payload = decodeJwt(old);
      await jwtVerify(old, keys, { issuer: payload.iss, audience: payload.aud });
      // A verifier holding only the old set meets k2 for the first time: unknown until refetched.
      // A verifier still holding a set from before k2 was added cannot check
      // what k2 signs (hence: add second, wait out the caches, then move first).
      const onlyK1 = createLocalJWKSet({ keys: oldJwks.keys.filter((k) => k.kid === 'k1') });
      await assert.rejects(jwtVerify(fresh, onlyK1, { issuer, audience }), errors.JWKSNoMatchingKey);
      const [py] = pyjwt([{ token: old, jwks, issuer: payload.iss, audience: payload.aud }]);
      assert.equal(py.ok, true, JSON.stringify(py));
    });
  });

  test('the JWKS without keys is {"keys": []}, public and cacheable; no assertion is sent', async () => {
    await withWorker({ keys: [] }, async ({ w, origin }) => {
      const res = await w.fetch('/auth/.well-known/jwks.json');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
      assert.deepEqual(await res.json(), { keys: [] });
      const { token } = await createSession(w);
      const h = await forwarded(w, origin, '/x', token);
      assert.equal(h['x-session-assertion'], undefined);
      assert.ok(h['x-session-auth-time']);
      const post = await w.fetch('/auth/.well-known/jwks.json', { method: 'POST' });
      await expectProblem(post, 405, 'method_not_allowed');
    });
  });

  test('bad ASSERTION_KEYS, ASSERTION_TTL or IDENTITY_HEADERS: 503 misconfigured naming the var, never the value', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const p384 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const good = newKey('k1');
    const cases = [
      ['ASSERTION_KEYS', 'k1:not*base64', 'not valid base64'],
      ['ASSERTION_KEYS', `k1:${Buffer.from('SECRETVALUE-not-der').toString('base64')}`, 'not PKCS#8'],
      ['ASSERTION_KEYS', `k1:${p384}`, 'not a P-256 key'],
      ['ASSERTION_KEYS', `${good},${good}`, 'appears twice'],
      ['ASSERTION_TTL', '5', 'ASSERTION_TTL'],
      ['IDENTITY_HEADERS', 'assertion', 'ASSERTION_KEYS is not set'],
    ];
    for (const [name, value, why] of cases) {
      const origin = await startOrigin();
      const w = await startWorker({
        bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES), ASSERTION_KEYS: undefined, [name]: value },
      });
      try {
        for (const p of ['/auth/.well-known/jwks.json', '/app', '/public/x']) {
          const res = await w.fetch(p);
          const text = await res.clone().text();
          const problem = await expectProblem(res, 503, 'misconfigured', `${name} ${p}`);
          assert.ok(problem.detail.startsWith(`${name}: `), problem.detail);
          assert.ok(problem.detail.includes(why), problem.detail);
          if (name === 'ASSERTION_KEYS') {
            for (const entry of value.split(',')) {
              assert.ok(!text.includes(entry.split(':')[1].slice(0, 12)), `the value is echoed: ${text}`);
            }
          }
        }
        assert.equal(origin.received.length, 0);
      } finally {
        await w.dispose();
        await origin.close();
      }
    }
  });

  test('a key whose public key is not its private key\'s: the platform refuses it, 503 misconfigured, nothing forwarded', async () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const mixed = Buffer.concat([a.subarray(0, a.length - 64), b.subarray(b.length - 64)]);
    await withWorker({ keys: [`k1:${mixed.toString('base64')}`] }, async ({ w, origin }) => {
      const { token } = await createSession(w);
      for (let i = 0; i < 2; i++) {
        const res = await send(w, '/x', { bearer: token });
        const p = await expectProblem(res, 503, 'misconfigured');
        assert.match(p.detail, /^ASSERTION_KEYS: /);
      }
      assert.equal(origin.received.length, 0);
    });
  });
});

