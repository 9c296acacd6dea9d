// The demo origin behind the built Worker, as an origin should be: it checks
// the verified assertion itself (the `admin` role for /admin, `auth_time` for
// the sensitive page) rather than trusting that only the Worker's rules let a
// request through, and it signs in whatever a person types (a label with
// ", ", a long emoji label), writing a handoff header the Worker reads as one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { request } from 'node:http';
import { startWorker } from './support/worker.mjs';
import { startDemo } from '../examples/demo/server.mjs';
import { assertion as demoAssertion, FRESH_SECONDS, workerVars } from '../examples/demo/config.mjs';

let demo;
let worker;
let privateDer;
const origins = [];

before(async () => {
  demo = await startDemo({ port: 0, origins });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  privateDer = privateKey.export({ format: 'der', type: 'pkcs8' });
  worker = await startWorker({ bindings: { ...workerVars(demo.url), ASSERTION_KEYS: `demo:${privateDer.toString('base64')}` } });
  origins.push(new URL(worker.base).origin);
  demo.setWorkerUrl(worker.base);
});
after(async () => {
  await worker?.dispose();
  await demo?.close();
});

/** A request straight to the demo (redirects not followed): `{status, headers, body}`. */
function direct(path, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(`${demo.url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const b64url = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A genuine assertion (the Worker's key, its claims' shape): what leaks from a log or is replayed within its TTL. */
function assertionFor({ sub, roles, authTime }) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: 'ES256', typ: 'JWT', kid: 'demo' });
  const payload = b64url({
    iss: demoAssertion.issuer, aud: demoAssertion.audience, sub, sid: 'A'.repeat(43),
    iat: now, exp: now + 60, auth_time: authTime ?? now, roles,
  });
  const key = createPrivateKey({ key: privateDer, format: 'der', type: 'pkcs8' });
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

async function signIn(form) {
  return worker.fetch('/login', {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(worker.base).origin, 'sec-fetch-site': 'same-origin' },
    body: new URLSearchParams({ next: '/app', ...form }).toString(),
  });
}

describe('the demo origin checks the assertion itself', () => {
  test('/admin needs the admin role in the verified assertion, not only the Worker\'s rule', async () => {
    const member = await direct('/admin', { headers: { 'x-session-assertion': assertionFor({ sub: 'mallory', roles: [] }) } });
    assert.equal(member.status, 403);
    assert.match(member.body, /id="forbidden"/);
    const admin = await direct('/admin', { headers: { 'x-session-assertion': assertionFor({ sub: 'ada', roles: ['admin'] }) } });
    assert.equal(admin.status, 200);
    assert.match(admin.body, /Admin area/);
  });

  test('/app/email needs a sign-in at most `fresh` seconds old by the assertion\'s auth_time', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stale = assertionFor({ sub: 'bob', roles: [], authTime: now - FRESH_SECONDS - 5 });
    for (const method of ['GET', 'POST']) {
      const res = await direct('/app/email', { method, headers: { 'x-session-assertion': stale } });
      assert.equal(res.status, 303, method);
      assert.equal(res.headers.location, '/login?next=%2Fapp%2Femail&reauth=1', method);
    }
    const recent = assertionFor({ sub: 'bob', roles: [], authTime: now - 10 });
    assert.equal((await direct('/app/email', { headers: { 'x-session-assertion': recent } })).status, 200);
  });
});

describe('the demo signs in whatever a person types', () => {
  for (const [what, form, label] of [
    ['a label with ", "', { user: 'jo', label: 'Work, laptop' }, 'Work, laptop'],
    ['a user name with ", "', { user: 'Smith, Jo', label: 'x' }, 'x'],
    ['a label of 200 emoji (cut at 128 characters, never inside one)', { user: 'em', label: '😀'.repeat(200) }, '😀'.repeat(128)],
  ]) {
    test(what, async () => {
      const res = await signIn(form);
      assert.equal(res.status, 303);
      const cookie = /__Host-session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
      assert.ok(cookie, `signed in: ${res.headers.get('set-cookie')}`);
      const session = await (await worker.fetch('/auth/session', { headers: { cookie } })).json();
      assert.equal(session.userId, form.user);
      assert.equal(session.label, label);
    });
  }
});
