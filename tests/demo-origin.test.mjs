// The demo origin (examples/demo/server.mjs) on its own, as a browser or an
// attacker reaches it: its sign-in redirect (`next`) and its own CSRF check
// of the sign-in and sign-out forms (issue 18). The flow behind the Worker is
// tests/browser/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { safeNext, startDemo } from '../examples/demo/server.mjs';

const WORKER = 'http://127.0.0.1:8787';
let demo;
const origins = [WORKER];

before(async () => {
  demo = await startDemo({ port: 0, origins });
});
after(() => demo?.close());

/** A raw request (any header, nothing added, redirects not followed): `{status, headers, body}`. */
function post(path, form, headers = {}, base = demo.url) {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the demo origin', () => {
  test('a `next` with any character redirects to it percent-encoded, never 500 nor a stack trace', async () => {
    for (const [next, expected] of [
      ['/app/Ā', '/app/%C4%80'],
      ['/app/é?q=ü#h', '/app/%C3%A9?q=%C3%BC#h'],
      ['/app/😀 "x"<y>', '/app/%F0%9F%98%80%20%22x%22%3Cy%3E'],
      ['/app\ud800', '/app%EF%BF%BD'],
      ['/app/\u007f', '/app/%7F'],
      ['/admin/users?q=a b', '/admin/users?q=a%20b'],
      ['/app?next=%2F', '/app?next=%2F'],
    ]) {
      const res = await post('/login', { user: 'bob', next }, { origin: WORKER });
      assert.equal(res.status, 303, `${next}: ${res.body}`);
      assert.equal(res.headers.location, expected, next);
      assert.doesNotMatch(res.body, /\bat .*\.mjs|Error/, 'no stack trace');
    }
  });

  test('a `next` leaving the site goes to /app, also through dot segments', async () => {
    for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/..//evil.example', '/.//evil.example',
      '/a/../..//evil.example', '/\\/evil.example', '/%2e%2e//evil.example', '', 'app', '/\tx']) {
      assert.equal(safeNext(next), '/app', JSON.stringify(next));
      const res = await post('/login', { user: 'bob', next }, { origin: WORKER });
      assert.equal(res.status, 303);
      assert.ok(/^\/(?![/\\])/.test(res.headers.location), `${JSON.stringify(next)} → ${res.headers.location}`);
    }
    assert.equal(safeNext('/a/../b/./c'), '/b/c');
  });

  test('sign-in and sign-out form posts from another site are refused: Sec-Fetch-Site or Origin', async () => {
    for (const path of ['/login', '/logout']) {
      for (const headers of [
        { 'sec-fetch-site': 'cross-site' },
        { 'sec-fetch-site': 'same-site', origin: WORKER },
        // A browser that sends no Sec-Fetch-Site: its Origin decides.
        { origin: 'https://evil.example' },
        { origin: 'null' },
        { origin: 'http://127.0.0.1:8788' },
        { origin: `${WORKER}.evil.example` },
      ]) {
        const res = await post(path, { user: 'mallory' }, headers);
        assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}`);
        assert.match(res.body, /^cross-site form post refused/);
        assert.equal(res.headers['x-session-issue'], undefined);
        assert.equal(res.headers['x-session-revoke'], undefined);
      }
      for (const headers of [
        { origin: WORKER, 'sec-fetch-site': 'same-origin' },
        { origin: WORKER },
        { 'sec-fetch-site': 'none' },
        {}, // curl
      ]) {
        const res = await post(path, { user: 'bob' }, headers);
        assert.equal(res.status, 303, `${path} ${JSON.stringify(headers)}: ${res.body}`);
        const handoff = path === '/login' ? res.headers['x-session-issue'] : res.headers['x-session-revoke'];
        assert.ok(handoff, `${path}: the handoff header`);
      }
    }
  });

  test('without DEMO_ORIGINS, a form posted to the demo directly passes with its own Host as Origin', async () => {
    const direct = await startDemo({ port: 0 });
    try {
      const own = await post('/login', { user: 'bob' }, { origin: direct.url }, direct.url);
      assert.equal(own.status, 303);
      const other = await post('/login', { user: 'bob' }, { origin: WORKER }, direct.url);
      assert.equal(other.status, 403);
    } finally {
      await direct.close();
    }
  });
});
