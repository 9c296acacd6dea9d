// Input limits at their edges (issue 13), against the built Worker in
// Miniflare with a local origin: the largest accepted input is accepted and
// the next one refused with the documented answer, never a 500, a crash or
// a lost request. Body size (64 KiB, with and without Content-Length), JSON
// depth, numbers at the edges, path length and segments, header size and
// count, and the handoff header.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, startWorker } from './support/worker.mjs';
import { call, callJson, expectProblem, sendOversize } from './support/api.mjs';
import { COOKIE, createSession } from './support/common.mjs';

const LIMIT = 64 * 1024;
const MAX_PATH_BYTES = 8192;
const MAX_PATH_SEGMENTS = 128;
const MAX_META_DEPTH = 100;
const MAX_COOKIE_HEADER_BYTES = 32 * 1024;
const MAX_TOKEN_LEN = 256;
const MAX_ISSUE_BYTES = 8 * 1024;
const JSON_CT = { 'content-type': 'application/json' };

const RULES = [
  { path: '/public/**', access: 'public' },
  { path: '/login', access: 'public' },
  { path: '/app/**', access: 'session' },
];

let origin;
let w;
/** What the origin answers on /login: the `x-test-issue` request header as X-Session-Issue. */
function respond(seen) {
  if (seen.url === '/login') return { headers: { 'x-session-issue': seen.headers['x-test-issue'] } };
  return { body: JSON.stringify({ url: seen.url, headers: seen.headers, bodyBytes: seen.body.length }) };
}

before(async () => {
  origin = await startOrigin(respond);
  w = await startWorker({ spyKv: true, bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES) } });
});
after(async () => {
  await w?.dispose();
  await origin?.close();
});

/** `{"userId":"big"}` padded with spaces to exactly `n` bytes. */
const padded = (n) => {
  const json = JSON.stringify({ userId: 'big' });
  return json + ' '.repeat(n - json.length);
};
/** A body of `n` bytes from `text`, streamed 8 KiB at a time with no Content-Length. */
const chunked = (text) => {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + 8192));
      at += 8192;
    },
  });
};
/** `{"a":{"a":…1…}}`, `depth` objects deep. */
const nested = (depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const create = (body) => call(w, '/auth/admin/sessions', { method: 'POST', admin: true, body, headers: JSON_CT });

describe('input limits at their edges', () => {
  test('body: 64 KiB accepted, one byte more 413, with and without Content-Length', async (t) => {
    for (const [what, body] of [['Content-Length', (n) => padded(n)], ['chunked', (n) => chunked(padded(n))]]) {
      const ok = await create(body(LIMIT));
      assert.equal(ok.status, 201, `${what}: exactly 64 KiB`);
      await ok.arrayBuffer();
      const { res, resets } = await sendOversize(() => create(body(LIMIT + 1)));
      if (resets) t.diagnostic(`${what}: ${resets} connection reset(s) before the 413`);
      await expectProblem(res, { status: 413, code: 'payload_too_large' }, `${what}: 64 KiB + 1`);
    }
    // The limit is the API's: a guarded upload streams to the origin whole.
    const { token } = await createSession(w, { userId: 'uploader' });
    for (const path of ['/public/upload', '/app/upload']) {
      const res = await call(w, path, { method: 'POST', bearer: token, body: chunked('x'.repeat(1 << 20)) });
      assert.equal(res.status, 200, path);
      assert.equal((await res.json()).bodyBytes, 1 << 20, `${path}: 1 MiB reached the origin`);
    }
  });

  test('JSON depth: meta 100 levels deep accepted, 101 refused; any depth answers 400, never exhausts the stack', async () => {
    const ok = await create(`{"userId":"deep","meta":${nested(MAX_META_DEPTH)}}`);
    assert.equal(ok.status, 201);
    const { session } = await ok.json();
    await expectProblem(await create(`{"userId":"deep","meta":${nested(MAX_META_DEPTH + 1)}}`),
      { status: 400, code: 'invalid_request', field: 'meta' }, 'meta 101 deep');
    // Deeper than the JSON parser goes (127 levels): the body is refused as a whole.
    for (const [what, body] of [
      ['meta 200 objects deep', `{"userId":"deep","meta":${nested(200)}}`],
      ['60,000 arrays deep', '['.repeat(60_000)],
      ['meta of 30,000 arrays', `{"userId":"deep","meta":{"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`],
    ]) {
      assert.ok(body.length <= LIMIT, what);
      await expectProblem(await create(body), { status: 400, code: 'invalid_request', field: 'body', detail: 'recursion limit' }, what);
    }
    // The same bound on the admin merge patch: the patched meta is checked.
    const patch = (meta) => call(w, `/auth/admin/sessions/${session.id}`, {
      method: 'PATCH', admin: true, body: `{"meta":{"b":${meta}}}`, headers: { 'content-type': 'application/merge-patch+json' },
    });
    await expectProblem(await patch(nested(MAX_META_DEPTH)), { status: 400, field: 'meta' }, 'patched meta 101 deep');
    const fine = await patch(nested(MAX_META_DEPTH - 1));
    assert.equal(fine.status, 200, 'patched meta 100 deep');
    await fine.arrayBuffer();
    // And the Worker is still there.
    assert.equal((await call(w, `/auth/admin/sessions/${session.id}`, { admin: true })).status, 200);
  });

  test('numbers at the edges: TTLs are whole seconds in 60..31536000 however JSON writes them', async () => {
    const ttl = (idle, absolute = idle) => create(`{"userId":"n","idleTtl":${idle},"absoluteTtl":${absolute}}`);
    for (const n of ['60', '60.0', '6e1', '31536000', '3.1536e7']) {
      const res = await ttl(n);
      assert.equal(res.status, 201, n);
      await res.arrayBuffer();
    }
    for (const [n, field] of [['59', 'idleTtl'], ['-0', 'idleTtl'], ['60.5', 'idleTtl'], ['-60', 'idleTtl'], ['"60"', 'idleTtl'],
      ['31536001', 'absoluteTtl'], ['1e300', 'absoluteTtl'], ['18446744073709551616', 'absoluteTtl']]) {
      const res = n === '31536001' || n === '1e300' || n === '18446744073709551616' ? await ttl(60, n) : await ttl(n, 120);
      await expectProblem(res, { status: 400, code: 'invalid_request', field }, `ttl ${n}`);
    }
    // A number JSON can write but no double holds: the body is refused.
    await expectProblem(await ttl('1e309'), { status: 400, field: 'body', detail: 'number out of range' }, '1e309');
    await expectProblem(await create('{"userId":"n","meta":{"x":-1e309}}'), { status: 400, field: 'body' }, 'meta -1e309');
    // Numbers in meta come back as the origin will read them.
    const res = await create('{"userId":"n","meta":{"zero":-0,"big":9007199254740993,"tiny":5e-324,"max":1.7976931348623157e308}}');
    assert.equal(res.status, 201);
    const text = await res.text();
    assert.match(text, /"big":9007199254740993\b/, 'integers beyond 2^53 are kept exactly');
    const { meta } = JSON.parse(text).session;
    assert.ok(Object.is(meta.zero, -0), `-0 stays -0: ${text}`);
    assert.equal(meta.tiny, 5e-324);
    assert.equal(meta.max, 1.7976931348623157e308);
    // Query numbers: limit is 1..1000, written as digits.
    for (const [limit, status] of [['1', 200], ['1000', 200], ['01', 200], ['0', 400], ['1001', 400], ['-0', 400], ['1e3', 400], ['1.0', 400], ['', 400], ['99999999999999999999', 400]]) {
      const r = await call(w, `/auth/admin/sessions?limit=${encodeURIComponent(limit)}`, { admin: true });
      assert.equal(r.status, status, `limit=${limit}`);
      if (status === 400) await expectProblem(r, { code: 'invalid_request', field: 'limit' }, `limit=${limit}`);
      else await r.arrayBuffer();
    }
  });

  test('path: 8192 bytes and 128 segments forwarded, one more 400, on every kind of path', async () => {
    const { token } = await createSession(w, { userId: 'pather' });
    for (const prefix of ['/public/', '/app/']) {
      const fill = (n) => prefix + 'a'.repeat(n - prefix.length);
      const ok = await call(w, fill(MAX_PATH_BYTES), { bearer: token });
      assert.equal(ok.status, 200, `${prefix}: 8192 bytes`);
      assert.equal((await ok.json()).url.length, MAX_PATH_BYTES);
      await expectProblem(await call(w, fill(MAX_PATH_BYTES + 1), { bearer: token }),
        { status: 400, code: 'invalid_request', detail: 'longer than 8192 bytes' }, `${prefix}: 8193 bytes`);
      for (const seg of ['a', '']) {
        const path = (n) => prefix.slice(0, -1) + `/${seg}`.repeat(n - 1);
        const fine = await call(w, path(MAX_PATH_SEGMENTS), { bearer: token });
        assert.equal(fine.status, 200, `${prefix}: 128 segments of ${JSON.stringify(seg)}`);
        await fine.arrayBuffer();
        await expectProblem(await call(w, path(MAX_PATH_SEGMENTS + 1), { bearer: token }),
          { status: 400, code: 'invalid_request', detail: 'more than 128 segments' }, `${prefix}: 129 segments`);
      }
    }
  });

  test('headers: token and Cookie sizes at their edges, many headers, spoofs stripped at any count', async () => {
    const { token } = await createSession(w, { userId: 'header' });
    // A bearer longer than a token can be is refused before any KV call.
    w.resetKvOps();
    for (const long of ['a'.repeat(MAX_TOKEN_LEN + 1), `${token}${'A'.repeat(MAX_TOKEN_LEN + 1 - token.length)}`]) {
      await expectProblem(await call(w, '/app/x', { bearer: long }), { status: 401, code: 'invalid_token' }, 'long bearer');
    }
    assert.deepEqual(w.kvOps(), {}, 'no KV call for an oversized token');
    // The Cookie header is read up to 32 KiB: the session cookie at its very end works...
    const cookieOf = (n) => {
      const ours = `; ${COOKIE}=${token}`;
      return `pad=${'x'.repeat(n - ours.length - 4)}${ours}`;
    };
    assert.equal(cookieOf(MAX_COOKIE_HEADER_BYTES).length, MAX_COOKIE_HEADER_BYTES);
    const atEdge = await call(w, '/app/x', { headers: { cookie: cookieOf(MAX_COOKIE_HEADER_BYTES) } });
    assert.equal(atEdge.status, 200, '32 KiB Cookie header');
    assert.ok(!(await atEdge.json()).headers.cookie.includes(token), 'the token is not forwarded');
    // ...one byte more and no cookie is read (401, not a 500 nor a guess)...
    await expectProblem(await call(w, '/app/x', { headers: { cookie: cookieOf(MAX_COOKIE_HEADER_BYTES + 1) } }),
      { status: 401, code: 'unauthorized' }, '32 KiB + 1 Cookie header');
    // ...but the token is stripped from a Cookie header of any size.
    const huge = await call(w, '/public/x', { headers: { cookie: cookieOf(60_000) } });
    const seen = (await huge.json()).headers.cookie;
    assert.ok(seen.startsWith('pad=xxx') && !seen.includes(token), 'stripped from a 60 KB Cookie header');

    // 1000 headers of the client's own reach the origin; 400 spoofs of the
    // identity headers, in every spelling, do not.
    const headers = { authorization: `Bearer ${token}` };
    for (let i = 0; i < 1000; i++) headers[`x-app-${i}`] = `v${i}`;
    const spellings = ['X-Session-User', 'x_session_user', 'X-SESSION_META', 'x-Session-Id', 'X_Session_Issue'];
    for (let i = 0; i < 400; i++) headers[`${spellings[i % spellings.length]}${i < 5 ? '' : `-${i}`}`] = 'root';
    for (const path of ['/public/x', '/app/x']) {
      const res = await call(w, path, { headers });
      assert.equal(res.status, 200, path);
      const got = (await res.json()).headers;
      assert.equal(Object.keys(got).filter((h) => h.startsWith('x-app-')).length, 1000, `${path}: every client header`);
      const identity = Object.keys(got).filter((h) => /^x[-_]session[-_]/i.test(h));
      const expected = path === '/app/x' ? ['x-session-auth-time', 'x-session-id', 'x-session-meta', 'x-session-user'] : [];
      assert.deepEqual(identity.sort(), expected, `${path}: only the Worker's identity headers`);
      if (path === '/app/x') assert.equal(got['x-session-user'], 'header');
    }
  });

  test('handoff: an X-Session-Issue of 8 KiB is acted on, one byte more is ignored', async () => {
    const issue = (n) => {
      const json = JSON.stringify({ userId: 'handoff' });
      return json.slice(0, -1) + ' '.repeat(n - json.length) + '}';
    };
    const ok = await call(w, '/login', { headers: { 'x-test-issue': issue(MAX_ISSUE_BYTES) } });
    assert.equal(ok.status, 200);
    assert.ok(ok.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE}=es1.`)), '8 KiB: signed in');
    assert.equal(ok.headers.get('x-session-issue'), null);
    const over = await call(w, '/login', { headers: { 'x-test-issue': issue(MAX_ISSUE_BYTES + 1) } });
    assert.equal(over.status, 200, 'the origin answer passes');
    assert.deepEqual(over.headers.getSetCookie(), [], '8 KiB + 1: ignored');
    assert.equal(over.headers.get('x-session-issue'), null, 'and still removed');
    const listed = await callJson(w, '/auth/admin/users/handoff/sessions', { admin: true }, 200);
    assert.equal(listed.body.sessions.length, 1, 'one session made, by the 8 KiB issue');
  });
});
