// Every error code the API can answer a client, surfaced as SessionApiError,
// and the client's own codes (network_error, aborted, unexpected_response).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AdminClient, PROBLEM_CODES, SessionApiError, SessionClient, isSessionApiError } from '../dist/index.js';
import { startWorker } from './support/worker.mjs';
import { adminOf, bearerClient, browserFetch, editRecord, rejectsWith } from './support/helpers.mjs';

const covered = new Set();
const expectCode = async (promise, expected, context) => {
  const e = await rejectsWith(promise, expected, context);
  covered.add(e.code);
  return e;
};

let w;
let admin;
before(async () => {
  w = await startWorker();
  admin = adminOf(w);
});
after(() => w?.dispose());

describe('problems of the API, one code at a time', () => {
  test('unauthorized: no token, and a wrong admin key', async () => {
    const e = await expectCode(new SessionClient({ baseUrl: w.base, fetch: w.fetch }).getSession(),
      { code: 'unauthorized', status: 401 }, 'no cookie, no bearer');
    assert.equal(e.isUnauthenticated, true);
    await expectCode(new AdminClient({ baseUrl: w.base, adminKey: 'not-the-key', fetch: w.fetch }).listSessions(),
      { code: 'unauthorized', status: 401 }, 'wrong admin key');
  });

  test('invalid_token: malformed, forged, revoked', async () => {
    await expectCode(bearerClient(w, 'garbage').getSession(), { code: 'invalid_token', status: 401 }, 'malformed');
    const { token } = await admin.createSession({ userId: 'forged' });
    const parts = token.split('.');
    parts[4] = randomBytes(32).toString('base64url');
    await expectCode(bearerClient(w, parts.join('.')).getSession(), { code: 'invalid_token' }, 'bad tag');
    await bearerClient(w, token).signOut();
    await expectCode(bearerClient(w, token).refresh(), { code: 'invalid_token' }, 'revoked');
    await expectCode(admin.verify(token), { code: 'invalid_token' }, 'admin verify of a revoked token');
  });

  test('session_expired: a record whose expiresAt is past (idleTtl 60)', async () => {
    const { token, session } = await admin.createSession({ userId: 'expiring', idleTtl: 60 });
    await editRecord(w, session.id, (r) => {
      assert.equal(typeof r.expiresAt, 'number', 'the record keeps expiresAt in ms');
      r.expiresAt = Date.now() - 1000;
    });
    const e = await expectCode(bearerClient(w, token).getSession(), { code: 'session_expired', status: 401 });
    assert.equal(e.isUnauthenticated, true);
    await expectCode(admin.verify(token), { code: 'session_expired', status: 401 }, 'admin verify');
    await expectCode(bearerClient(w, token).refresh(), { code: 'session_expired' }, 'refresh cannot revive it');
  });

  test('forbidden: the holder patching meta (field meta)', async () => {
    const { token } = await admin.createSession({ userId: 'climber', meta: { roles: ['reader'] } });
    const client = bearerClient(w, token);
    await expectCode(client.updateSession({ meta: { roles: ['admin'] } }), { code: 'forbidden', status: 403, field: 'meta' });
    await expectCode(client.updateSession({ label: 'x', meta: null }), { code: 'forbidden', status: 403, field: 'meta' }, 'meta: null');
    assert.deepEqual((await client.getSession()).meta, { roles: ['reader'] });
  });

  test('csrf: a cookie-authenticated unsafe call from a foreign Origin', async () => {
    const { token } = await admin.createSession({ userId: 'csrf-target' });
    const evil = browserFetch(w, { cookie: token, origin: 'https://evil.example' });
    const client = new SessionClient({ baseUrl: w.base, fetch: evil.fetch });
    assert.equal((await client.getSession()).userId, 'csrf-target', 'GET is safe');
    await expectCode(client.signOut(), { code: 'csrf', status: 403 }, 'DELETE /session');
    await expectCode(client.refresh(), { code: 'csrf', status: 403 }, 'POST /session/refresh');
    await expectCode(client.updateSession({ label: 'pwned' }), { code: 'csrf', status: 403 }, 'PATCH /session');
    await expectCode(client.revokeAllSessions(), { code: 'csrf', status: 403 }, 'DELETE /sessions');
    const noOrigin = new SessionClient({ baseUrl: w.base, fetch: browserFetch(w, { cookie: token, origin: null }).fetch });
    await expectCode(noOrigin.signOut(), { code: 'csrf', status: 403 }, 'no Origin at all');
    // The same token as a bearer is exempt (not ambient authority).
    const bearer = new SessionClient({ baseUrl: w.base, token, fetch: evil.fetch });
    assert.equal((await bearer.updateSession({ label: 'fine' })).label, 'fine');
    assert.equal((await client.getSession()).label, 'fine', 'still signed in: the csrf calls did nothing');
  });

  test('not_found: unknown session ids', async () => {
    const { token } = await admin.createSession({ userId: 'nf' });
    await expectCode(bearerClient(w, token).revokeSession('no-such-id'), { code: 'not_found', status: 404 });
    await expectCode(admin.getSessionById('no-such-id'), { code: 'not_found', status: 404 });
  });

  test('invalid_request: bad fields name the field', async () => {
    const { token } = await admin.createSession({ userId: 'bad-input' });
    const client = bearerClient(w, token);
    await expectCode(client.updateSession({ label: 'x'.repeat(129) }), { code: 'invalid_request', status: 400, field: 'label' }, 'label 129');
    await expectCode(client.updateSession({ label: 42 }), { code: 'invalid_request', field: 'label' }, 'label not a string');
    await expectCode(admin.createSession({ userId: '' }), { code: 'invalid_request', field: 'userId' }, 'empty userId');
    await expectCode(admin.createSession({ userId: 'é'.repeat(129) }), { code: 'invalid_request', field: 'userId' }, '258 bytes');
    await expectCode(admin.createSession({ userId: 'u', idleTtl: 59 }), { code: 'invalid_request', field: 'idleTtl' }, 'idleTtl 59');
    await expectCode(admin.createSession({ userId: 'u', idleTtl: 120, absoluteTtl: 60 }), { code: 'invalid_request' }, 'idle > absolute');
    await expectCode(admin.createSession({ userId: 'u', meta: [] }), { code: 'invalid_request', field: 'meta' }, 'meta array');
    await expectCode(admin.createSession({ userId: 'u', meta: { big: 'x'.repeat(5000) } }), { code: 'invalid_request', field: 'meta' }, 'meta > 4096');
    await expectCode(admin.verify(''), { code: 'invalid_token' }, 'empty token is a bad token, not a bad request');
  });

  test('payload_too_large: bodies over 64 KiB', async () => {
    const { token } = await admin.createSession({ userId: 'big' });
    await expectCode(admin.createSession({ userId: 'u', meta: { blob: 'x'.repeat(70_000) } }), { code: 'payload_too_large', status: 413 }, 'admin create');
    await expectCode(bearerClient(w, token).updateSession({ label: 'x'.repeat(70_000) }), { code: 'payload_too_large', status: 413 }, 'self patch');
  });

  test('unsupported_media_type and method_not_allowed: never sent by the client; parsed from raw calls', async () => {
    // The client always sends JSON with the right Content-Type and only the
    // methods each route allows, so these two codes cannot come back from its
    // calls. SessionApiError.fromResponse maps them for raw calls.
    const raw415 = await w.fetch(`${w.base}/auth/admin/sessions`, {
      method: 'POST', headers: { authorization: `Bearer ${w.env.ADMIN_KEY}`, 'content-type': 'text/plain' }, body: '{"userId":"u"}',
    });
    const e415 = await SessionApiError.fromResponse(raw415);
    assert.equal(e415.code, 'unsupported_media_type');
    assert.equal(e415.status, 415);
    covered.add(e415.code);
    const raw405 = await w.fetch(`${w.base}/auth/session`, { method: 'PUT' });
    const e405 = await SessionApiError.fromResponse(raw405);
    assert.equal(e405.code, 'method_not_allowed');
    assert.equal(e405.status, 405);
    assert.match(raw405.headers.get('allow') ?? '', /GET/);
    covered.add(e405.code);
  });

  test('admin_disabled: a Worker without ADMIN_KEY', async () => {
    const w2 = await startWorker({ bindings: { ADMIN_KEY: undefined } });
    try {
      const a = new AdminClient({ baseUrl: w2.base, adminKey: 'anything', fetch: w2.fetch });
      await expectCode(a.createSession({ userId: 'u' }), { code: 'admin_disabled', status: 503 });
      await expectCode(a.listSessions(), { code: 'admin_disabled', status: 503 });
      await expectCode(a.verify('x'), { code: 'admin_disabled', status: 503 });
    } finally {
      await w2.dispose();
    }
  });

  test('misconfigured: a Worker without TOKEN_KEYS', async () => {
    const w2 = await startWorker({ bindings: { TOKEN_KEYS: undefined } });
    try {
      await expectCode(bearerClient(w2, 'es1.k1.x.y.z').getSession(), { code: 'misconfigured', status: 503 }, 'self-service');
      await expectCode(new SessionClient({ baseUrl: w2.base, fetch: w2.fetch }).getSession(), { code: 'misconfigured', status: 503 }, 'even without a token');
      await expectCode(adminOf(w2).createSession({ userId: 'u' }), { code: 'misconfigured', status: 503 }, 'admin');
    } finally {
      await w2.dispose();
    }
  });

  test('store_unavailable: a Worker without the SESSIONS binding', async () => {
    // A token tagged with the same keys, made by a Worker that has KV.
    const { token } = await admin.createSession({ userId: 'no-kv' });
    const w2 = await startWorker({ bindings: { TOKEN_KEYS: w.env.TOKEN_KEYS, ADMIN_KEY: w.env.ADMIN_KEY }, kvNamespaces: [] });
    try {
      await expectCode(bearerClient(w2, token).getSession(), { code: 'store_unavailable', status: 503 }, 'self-service');
      await expectCode(adminOf(w2).createSession({ userId: 'u' }), { code: 'store_unavailable', status: 503 }, 'admin create');
      await expectCode(adminOf(w2).listSessions(), { code: 'store_unavailable', status: 503 }, 'admin list');
    } finally {
      await w2.dispose();
    }
  });

  test('rate_limited: a user\'s sessions created past RL_CREATE', async () => {
    // Miniflare counts per 60 s window: not across the turn of one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 3000) await new Promise((r) => setTimeout(r, left + 100));
    const w2 = await startWorker({ ratelimits: { RL_CREATE: { simple: { limit: 1, period: 60 } } } });
    try {
      const a = adminOf(w2);
      await a.createSession({ userId: 'busy' });
      const e = await expectCode(a.createSession({ userId: 'busy' }), { code: 'rate_limited', status: 429 });
      assert.equal(e.problem.code, 'rate_limited');
      await a.createSession({ userId: 'other' });
    } finally {
      await w2.dispose();
    }
  });

  test('every code a client can meet was seen (origin_unavailable and reauthentication_required belong to the guard only)', () => {
    const guardOnly = ['origin_unavailable', 'reauthentication_required'];
    const apiCodes = PROBLEM_CODES.filter((c) => !guardOnly.includes(c));
    assert.deepEqual([...covered].filter((c) => PROBLEM_CODES.includes(c)).sort(), [...apiCodes].sort());
  });
});

describe('client-side failures', () => {
  test('network_error: nothing listens', async () => {
    const client = new SessionClient({ baseUrl: 'http://127.0.0.1:9', token: 't' });
    const e = await rejectsWith(client.getSession(), { code: 'network_error', status: 0 });
    assert.ok(e.cause, 'the fetch error is the cause');
    assert.equal(e.isUnauthenticated, false);
    await rejectsWith(new AdminClient({ baseUrl: 'http://127.0.0.1:9', adminKey: 'k' }).listSessions(), { code: 'network_error' });
  });

  test('aborted: the signal fired', async () => {
    const { token } = await admin.createSession({ userId: 'abort' });
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(bearerClient(w, token).getSession({ signal: ac.signal }), { code: 'aborted', status: 0 });
  });

  test('unexpected_response: error pages, non-JSON success, unknown codes, redirects', async () => {
    const fake = (res) => new SessionClient({ baseUrl: 'https://app.example', fetch: async () => res() });
    let e = await rejectsWith(fake(() => new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } })).getSession(),
      { code: 'unexpected_response', status: 502 });
    assert.match(e.detail, /text\/html/);
    await rejectsWith(fake(() => new Response('not json', { status: 200, headers: { 'content-type': 'application/json' } })).getSession(),
      { code: 'unexpected_response', status: 200 });
    e = await rejectsWith(fake(() => Response.json({ type: 'x', title: 'x', status: 418, detail: 'x', code: 'teapot' },
      { status: 418, headers: { 'content-type': 'application/problem+json' } })).getSession(), { code: 'unexpected_response', status: 418 });
    await rejectsWith(fake(() => new Response('{', { status: 500, headers: { 'content-type': 'application/problem+json' } })).getSession(),
      { code: 'unexpected_response', status: 500 }, 'broken problem JSON');
    await rejectsWith(fake(() => new Response(null, { status: 302, headers: { location: '/login' } })).getSession(),
      { code: 'unexpected_response', status: 302 });
    await rejectsWith(new SessionClient({ baseUrl: 'https://app.example', fetch: async () => { throw new TypeError('Failed to fetch'); } }).getSession(),
      { code: 'network_error' }, 'a CORS or offline failure in a browser');
  });

  test('isSessionApiError narrows by code', async () => {
    const e = await rejectsWith(new SessionClient({ baseUrl: w.base, fetch: w.fetch }).getSession(), { code: 'unauthorized' });
    assert.equal(isSessionApiError(e), true);
    assert.equal(isSessionApiError(e, 'unauthorized', 'invalid_token'), true);
    assert.equal(isSessionApiError(e, 'csrf'), false);
    assert.equal(isSessionApiError(new Error('x')), false);
    assert.equal(e.message, 'unauthorized (401): A session token is required.');
  });
});
