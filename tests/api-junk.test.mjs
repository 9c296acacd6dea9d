// A bounded junk matrix against the built Worker in Miniflare: odd paths,
// methods, bodies, headers, content types and cookie values against every
// route of the session API. Every answer must be below 500 (contract §7: no
// input makes the Worker answer 500), and every non-2xx answer must be
// application/problem+json with type, title, status, detail and a contract code.
// One Worker per route group; requests run a few at a time.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startOrigin, startWorker } from './support/worker.mjs';
import { COOKIE, CODES, checkProblemShape, createSession, pool, sendOversize, tokenParts } from './support/api.mjs';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];
const LIMIT = 64 * 1024;

const CONTENT_TYPES = [undefined, 'text/plain', 'application/json; charset=utf-8', 'application/merge-patch+json'];

const deepArray = '['.repeat(10_000);
const deepObject = `{"meta":${'{"a":'.repeat(120)}1${'}'.repeat(121)}`;
const BODIES = [
  ['empty', ''],
  ['open brace', '{'],
  ['null', 'null'],
  ['empty array', '[]'],
  ['number', '42'],
  ['string', '"x"'],
  ['merge patch', '{"label":"junk","meta":{"a":null,"b":{"c":[1,2,{"d":null}]}}}'],
  ['label null', '{"label":null,"meta":null}'],
  ['create', '{"userId":"junk-user","label":null,"meta":{},"idleTtl":60,"absoluteTtl":120}'],
  ['verify', '{"token":"es1.k1.AAAAAAAAAAAAAAAAAAAAAA.x.y"}'],
  ['wrong types', '{"userId":["x"],"label":{},"meta":[],"idleTtl":"x","absoluteTtl":-1,"token":false}'],
  ['huge numbers', '{"userId":"x","idleTtl":1e400,"absoluteTtl":18446744073709551616}'],
  ['lone surrogate', '{"userId":"\\ud800","label":"\\udfff"}'],
  ['NUL and controls', '{"userId":"\\u0000\\u0001\\n","label":"\\u0000"}'],
  ['duplicate keys', '{"userId":"a","userId":"b","label":"x","label":null}'],
  ['non-UTF-8', Buffer.from([0x7b, 0x22, 0x75, 0xff, 0xfe, 0x22, 0x3a, 0x80, 0x7d])],
  ['BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"label":"x"}')])],
  ['deep array', deepArray],
  ['deep object', deepObject],
  ['meta too big', JSON.stringify({ userId: 'x', meta: { k: 'x'.repeat(5000) } })],
  ['64 KiB of spaces', `{}${' '.repeat(LIMIT - 2)}`],
];
const ONE_MIB = Buffer.alloc(1 << 20, 0x20);

/**
 * Header variants. Each takes the request's context `{token, secret, id,
 * admin, base}` and answers headers (or null when it does not apply).
 */
function headerVariants() {
  const forged = (t) => {
    const p = tokenParts(t);
    return [p.version, p.kid, p.id, p.secret, `${p.tag[0] === 'A' ? 'B' : 'A'}${p.tag.slice(1)}`].join('.');
  };
  const manyCookies = Array.from({ length: 400 }, (_, i) => `c${i}=${'v'.repeat(i % 17)}`).join('; ');
  return [
    ['no auth', () => ({})],
    ['admin bearer', (c) => ({ authorization: `Bearer ${c.admin}` })],
    ['session bearer', (c) => ({ authorization: `Bearer ${c.token}` })],
    ['session cookie + own origin', (c) => ({ cookie: `${COOKIE}=${c.token}`, origin: c.base })],
    ['session cookie, no origin', (c) => ({ cookie: `${COOKIE}=${c.token}` })],
    ['session cookie + foreign origin', (c) => ({ cookie: `${COOKIE}=${c.token}`, origin: 'https://evil.example' })],
    ['junk bearer', () => ({ authorization: 'Bearer abc.def.ghi' })],
    ['empty bearer', () => ({ authorization: 'Bearer ' })],
    ['bearer, two tokens', (c) => ({ authorization: `Bearer ${c.token} ${c.token}` })],
    ['basic', () => ({ authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` })],
    ['huge bearer', () => ({ authorization: `Bearer ${'a'.repeat(10_000)}` })],
    ['forged bearer', (c) => ({ authorization: `Bearer ${forged(c.token)}` })],
    ['forged cookie + origin', (c) => ({ cookie: `${COOKIE}=${forged(c.token)}`, origin: c.base })],
    ['empty cookie', () => ({ cookie: `${COOKIE}=` })],
    ['junk cookie', () => ({ cookie: `${COOKIE}=junk;;;==; =; ${COOKIE}` })],
    ['quoted junk cookie', () => ({ cookie: `${COOKIE}="` })],
    ['huge cookie', (c) => ({ cookie: `pad=${'x'.repeat(40_000)}; ${COOKIE}=${c.token}`, origin: c.base })],
    ['huge cookie value', () => ({ cookie: `${COOKIE}=${'t'.repeat(5000)}`, origin: 'null' })],
    ['many cookies', (c) => ({ cookie: `${manyCookies}; ${COOKIE}=junk; ${COOKIE}=${c.token}` })],
    ['latin-1 values', () => ({ authorization: 'Bearer \u00e9t\u00e9\u00ff', cookie: `${COOKIE}=\u00e9\u00e8`, origin: '\u00e9', 'user-agent': '\u00ff\u00fe' })],
    ['latin-1 cookie, valid bearer', (c) => ({ authorization: `Bearer ${c.token}`, cookie: `${COOKIE}=\u00e9\u00e8`, origin: 'http://\u00e9.example' })],
    ['preflight', (c) => ({ origin: c.base, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'x, y' })],
    ['odd origin', (c) => ({ cookie: `${COOKIE}=${c.token}`, origin: `${c.base}/path?x#y` })],
    ['admin bearer + client X-Session-*', (c) => ({ authorization: `Bearer ${c.admin}`, 'x-session-id': 'forged', 'x-session-user': 'root', 'x-session-issue': '{"userId":"root"}' })],
  ];
}

/** A short description of a request, for failure reports (no secrets cut out: they are test data). */
function describeRequest(method, p, variant, extra = '') {
  const shown = p.length > 120 ? `${p.slice(0, 100)}…(${p.length} chars)` : p;
  return `${method} ${shown} [${variant}]${extra ? ` ${extra}` : ''}`;
}

/**
 * Sends one request and checks its answer. Pushes problems found to
 * `failures`; `allowed5xx` lists codes a 503 may carry (misconfigured Workers).
 */
async function probe(w, stats, failures, { method, path: p, headers, body, variant, secrets = [], allowed5xx = [] }) {
  const init = { method, headers };
  if (body !== undefined && method !== 'GET' && method !== 'HEAD') init.body = body;
  const what = describeRequest(method, p, variant, body === undefined ? '' : `body ${body.length} bytes`);
  let res;
  try {
    const oversize = init.body !== undefined && init.body.length > LIMIT;
    const sent = oversize ? await sendOversize(() => w.fetch(p, init)) : { res: await w.fetch(p, init), resets: 0 };
    res = sent.res;
    stats.resets += sent.resets;
  } catch (e) {
    failures.push(`${what}: request failed: ${e.message} ${e.cause ? e.cause.code || e.cause.message : ''}`);
    return;
  }
  stats.requests++;
  stats.statuses[res.status] = (stats.statuses[res.status] || 0) + 1;
  const text = method === 'HEAD' ? '' : await res.text();
  if (method === 'HEAD') await res.arrayBuffer().catch(() => {});
  const type = res.headers.get('content-type') || '';
  if (res.status >= 500) {
    let code;
    try {
      code = JSON.parse(text).code;
    } catch {
      code = undefined;
    }
    if (!(res.status === 503 && allowed5xx.includes(code))) {
      failures.push(`${what}: ${res.status} ${type} ${text.slice(0, 200)}`);
      return;
    }
  }
  for (const s of secrets) {
    if (s && text.includes(s)) failures.push(`${what}: the answer contains a token secret`);
  }
  if (res.status >= 200 && res.status < 300) {
    if (text && !/^application\/json/.test(type)) failures.push(`${what}: ${res.status} with content type ${type}`);
    return;
  }
  if (!/^application\/problem\+json/.test(type)) {
    failures.push(`${what}: ${res.status} not problem+json (${type}) ${text.slice(0, 200)}`);
    return;
  }
  if (method === 'HEAD') return;
  try {
    const problem = JSON.parse(text);
    checkProblemShape(problem, res.status, what);
    stats.codes[problem.code] = (stats.codes[problem.code] || 0) + 1;
    if (res.status === 405 && !res.headers.get('allow')) failures.push(`${what}: 405 without Allow`);
  } catch (e) {
    failures.push(`${what}: bad problem: ${e.message.split('\n')[0]} ${text.slice(0, 200)}`);
  }
}

function report(t, name, stats, failures) {
  const statuses = Object.entries(stats.statuses).map(([s, n]) => `${s}×${n}`).join(' ');
  const codes = Object.entries(stats.codes).map(([c, n]) => `${c}×${n}`).join(' ');
  t.diagnostic(`${name}: ${stats.requests} answers; statuses ${statuses}; codes ${codes}; local connection resets retried ${stats.resets}`);
  assert.deepEqual(failures.slice(0, 25), [], `${failures.length} bad answer(s) in ${name}`);
}

const newStats = () => ({ requests: 0, resets: 0, statuses: {}, codes: {} });

/**
 * The matrix for one group of routes: `[template, methods]` pairs, where the
 * template is a function of the context giving the path and `methods` those
 * the route answers (`'*'`: probe every method alike). A method the route
 * does not answer is refused (405) before anything else is looked at, so it
 * gets two header variants; an answered one gets every header variant and,
 * when it takes a body, the body matrix. `DELETE` requests get a context of
 * their own (a fresh session of a fresh user) so that they cannot revoke the
 * session the other requests use.
 */
async function runGroup(t, name, routes, { bindings = {}, small = false, allowed5xx = [], origin } = {}) {
  const w = await startWorker({ bindings: { ...bindings, ...(origin ? { ORIGIN_URL: origin.url } : {}) } });
  const stats = newStats();
  const failures = [];
  try {
    const canCreate = w.env.ADMIN_KEY && w.env.TOKEN_KEYS;
    let n = 0;
    const context = async (label) => {
      if (!canCreate) {
        const fake = `es1.k1.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
        return { token: fake, secret: tokenParts(fake).secret, id: tokenParts(fake).id, userId: 'nobody', admin: w.env.ADMIN_KEY || 'no-admin-key-set-0000', base: w.base };
      }
      const userId = `${label}-${n++}:é/😀`;
      const { token, session } = await createSession(w, { userId, label: 'junk', meta: { roles: ['r'] } });
      return { token, secret: tokenParts(token).secret, id: session.id, userId, admin: w.env.ADMIN_KEY, base: w.base };
    };
    const shared = await context('shared');
    const allVariants = headerVariants();
    const variants = small ? allVariants.filter((_, i) => i % 3 === 0) : allVariants;
    const refusedVariants = allVariants.filter(([v]) => v === 'no auth' || v === 'session bearer');
    const bodies = small ? BODIES.filter((_, i) => i % 7 === 0) : BODIES;
    const jsonTypes = CONTENT_TYPES.filter((ct) => ct && ct.includes('json'));
    const otherTypes = CONTENT_TYPES.filter((ct) => !ct || !ct.includes('json'));
    const tasks = [];
    const send = (template, method, variant, make) => tasks.push(async () => {
      const c = method === 'DELETE' ? await context('del') : shared;
      const { headers, body } = make(c, template(c).startsWith('/auth/admin/'));
      await probe(w, stats, failures, { method, path: template(c), headers, body, variant, secrets: [c.secret], allowed5xx });
    });
    for (const [template, methods] of routes) {
      for (const method of METHODS) {
        const answered = methods === '*' || methods.includes(method);
        const takesBody = BODY_METHODS.includes(method);
        for (const [variant, make] of answered ? variants : refusedVariants) {
          send(template, method, variant, (c) => {
            const headers = make(c);
            if (!takesBody) return { headers };
            headers['content-type'] = 'application/json';
            return { headers, body: '{"label":"x"}' };
          });
        }
        if (!answered || !takesBody) continue;
        const withBody = (bodyName, body, type) => send(template, method, `${bodyName}, ${type || 'no type'}`, (c, admin) => {
          const headers = { authorization: `Bearer ${admin ? c.admin : c.token}` };
          if (type) headers['content-type'] = type;
          return { headers, body };
        });
        for (const [bodyName, body] of bodies) for (const type of jsonTypes) withBody(bodyName, body, type);
        for (const [bodyName, body] of bodies.slice(0, small ? 1 : 3)) for (const type of otherTypes) withBody(bodyName, body, type);
        if (!small) withBody('1 MiB', ONE_MIB, 'application/json');
      }
    }
    t.diagnostic(`${name}: ${tasks.length} requests planned`);
    await pool(tasks, 6);
    report(t, name, stats, failures);
  } finally {
    await w.dispose();
  }
}

const enc = encodeURIComponent;

describe('session API junk matrix', { concurrency: 3 }, () => {
  test('self-service routes', async (t) => {
    await runGroup(t, 'self-service', [
      [() => '/auth/session', ['GET', 'PATCH', 'DELETE']],
      [() => '/auth/session/refresh', ['POST']],
      [() => '/auth/sessions', ['GET', 'DELETE']],
      [() => '/auth/sessions?others=true', ['DELETE']],
      [() => '/auth/sessions?others=%00&others=true', ['DELETE']],
      [(c) => `/auth/sessions/${c.id}`, ['DELETE']],
      [() => `/auth/sessions/${'x'.repeat(300)}`, ['DELETE']],
    ]);
  });

  test('admin routes', async (t) => {
    await runGroup(t, 'admin', [
      [() => '/auth/admin/sessions', ['GET', 'POST']],
      [() => '/auth/admin/sessions?limit=0&cursor=', ['GET']],
      [() => `/auth/admin/sessions?limit=1&cursor=${'%FF'.repeat(300)}`, ['GET']],
      [() => '/auth/admin/verify', ['POST']],
      [(c) => `/auth/admin/sessions/${c.id}`, ['GET', 'PATCH', 'DELETE']],
      [() => `/auth/admin/sessions/${'%C3'.repeat(50)}`, ['GET', 'PATCH']],
      [(c) => `/auth/admin/users/${enc(c.userId)}/sessions`, ['GET', 'DELETE']],
      [() => '/auth/admin/users/%ZZ/sessions', ['GET']],
      [() => `/auth/admin/users/${'%F0%9F%98%80'.repeat(100)}/sessions`, ['GET', 'DELETE']],
    ]);
  });

  test('odd paths and the OpenAPI document (guarded paths forward to a local origin)', async (t) => {
    const origin = await startOrigin();
    try {
      await runGroup(t, 'odd paths', [
        [() => '/auth', '*'],
        [() => '/auth/', '*'],
        [() => '/auth//session', '*'],
        [() => '/auth/session/../admin/sessions', '*'],
        [() => '/auth/session/%2e%2e/admin/sessions', '*'],
        [() => '/auth/session%2Frefresh', '*'],
        [() => '/auth/%00', '*'],
        [() => '/auth/%00/session', '*'],
        [() => '/auth/%', '*'],
        [() => '/auth/session;x=1', '*'],
        [() => '/auth/session?x=%ZZ&&=&', '*'],
        [() => '/auth/openapi.json', '*'],
        [() => '/auth/openapi.json/', '*'],
        [() => `/auth/${'a'.repeat(15_000)}`, '*'],
        [() => `/auth/admin/users/${'%2F'.repeat(3000)}/sessions`, '*'],
        [() => '/auth/admin/users/%ZZ/sessions', '*'],
        [() => `/auth/sessions/${'é'.repeat(150)}`, '*'],
        [() => '/AUTH/session', '*'],
        [() => '/authsession', '*'],
      ], { origin, small: true });
    } finally {
      await origin.close();
    }
  });

  test('unconfigured Worker (no TOKEN_KEYS, no ADMIN_KEY): 503 only as misconfigured / admin_disabled', async (t) => {
    await runGroup(t, 'unconfigured', [
      [() => '/auth/session', '*'],
      [() => '/auth/sessions', '*'],
      [(c) => `/auth/sessions/${c.id}`, '*'],
      [() => '/auth/admin/sessions', '*'],
      [() => '/auth/admin/verify', '*'],
      [(c) => `/auth/admin/users/${enc(c.userId)}/sessions`, '*'],
      [() => '/auth/openapi.json', '*'],
    ], { bindings: { TOKEN_KEYS: undefined, ADMIN_KEY: undefined }, small: true, allowed5xx: ['misconfigured', 'admin_disabled'] });
  });

  test('a path normalized to an admin route still needs the admin key', async () => {
    const w = await startWorker();
    try {
      const { token } = await createSession(w, { userId: 'climber' });
      for (const p of ['/auth/session/../admin/sessions', '/auth/sessions/%2e%2e/admin/sessions', '/auth/./admin/sessions']) {
        const res = await w.fetch(p, { headers: { authorization: `Bearer ${token}`, cookie: `${COOKIE}=${token}` } });
        const problem = JSON.parse(await res.text());
        assert.equal(res.status, 401, p);
        assert.equal(problem.code, 'unauthorized', p);
        assert.ok(CODES.includes(problem.code));
      }
    } finally {
      await w.dispose();
    }
  });
});
