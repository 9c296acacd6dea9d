#!/usr/bin/env node
// `npm run bench`: the Rust Worker (build/), the same with the identity
// assertion on (`rust +assert`: ASSERTION_KEYS set), a hand-written JS guard
// (bench/js-guard/worker.js) and a floor Worker that only reads KV and
// forwards (bench/floor/worker.js), measured side by side in one run with
// rounds alternating. See bench/README.md for what each number means.
//
// Options (flag or env var; flags win):
//   --rounds=N       BENCH_ROUNDS       load and loop rounds (default 5)
//   --duration=S     BENCH_DURATION     seconds of load per Worker per round (default 5)
//   --connections=N  BENCH_CONNECTIONS  load connections (default 16)
//   --warmup=S       BENCH_WARMUP       seconds of load per Worker before the rounds (default 2)
//   --loop-n=N       BENCH_LOOP_N       requests per in-process loop run (default 10000)
//   --cold=N         BENCH_COLD         cold-start samples per Worker (default 5)
//   --only=LIST      BENCH_ONLY         any of size,load,loop,cold,bare (default all)
//   --build=DIR      BENCH_BUILD        the Rust build to measure (default build/)
//   --build-b=DIR    BENCH_BUILD_B      a second Rust build, run beside the first as `rust B`
//   --sessions=N     BENCH_SESSIONS     sessions taken in turn by the loop's "a session per request" row (default 1500; 0: no such row)
//   --out=FILE       BENCH_OUT          JSON results (default bench/last-run.json)
//   --v8-flags=LIST  BENCH_V8_FLAGS     V8 flags for the bare workerd, comma-separated (diagnosis
//                                       only, e.g. --no-wasm-lazy-compilation: Cloudflare sets its own)
import { createHmac, randomBytes, createHash, generateKeyPairSync } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { readFileSync, writeFileSync, rmSync, statSync, readdirSync, existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createLocalJWKSet, jwtVerify } from 'jose';

import { stage, targetsFor } from './lib/stage.mjs';
import { startServer, startOrigin } from './lib/child.mjs';
import { startBare } from './lib/bare.mjs';
import { cpu, cpuDelta, CLK_TCK } from './lib/proc.mjs';
import { summary, cell, table, fmt } from './lib/stats.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(benchDir, '..');

// --- options -----------------------------------------------------------------
const flags = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (see the top of bench/run.mjs)`);
    return [m[1], m[2] ?? 'true'];
  }),
);
const opt = (flag, env, dflt) => flags[flag] ?? process.env[env] ?? dflt;
const num = (flag, env, dflt) => {
  const v = Number(opt(flag, env, dflt));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${flag} must be a number`);
  return v;
};
const O = {
  rounds: num('rounds', 'BENCH_ROUNDS', 5),
  duration: num('duration', 'BENCH_DURATION', 5),
  connections: num('connections', 'BENCH_CONNECTIONS', 16),
  warmup: num('warmup', 'BENCH_WARMUP', 2),
  loopN: num('loop-n', 'BENCH_LOOP_N', 10000),
  cold: num('cold', 'BENCH_COLD', 5),
  only: new Set(String(opt('only', 'BENCH_ONLY', 'size,load,loop,cold,bare')).split(',').map((s) => s.trim())),
  build: path.resolve(root, opt('build', 'BENCH_BUILD', 'build')),
  buildB: opt('build-b', 'BENCH_BUILD_B', null) && path.resolve(root, opt('build-b', 'BENCH_BUILD_B', null)),
  sessions: num('sessions', 'BENCH_SESSIONS', 1500),
  out: path.resolve(root, opt('out', 'BENCH_OUT', 'bench/last-run.json')),
  v8Flags: String(opt('v8-flags', 'BENCH_V8_FLAGS', '')).split(',').map((s) => s.trim()).filter(Boolean),
};
for (const k of O.only) if (!['size', 'load', 'loop', 'cold', 'bare'].includes(k)) throw new Error(`--only: unknown part ${k}`);

const LABEL = { rust: 'rust', 'rust-a': 'rust +assert', 'rust-b': 'rust B', js: 'js-guard', floor: 'floor', 'rust-a/rust': '+assert/rust', 'rust-a/js': '+assert/js' };
// With --build-b, a second Rust build runs beside the first, as `rust-b`.
const TARGETS = targetsFor(O.buildB);
const GUARDS = TARGETS.filter((t) => t !== 'floor');
const RUSTS = TARGETS.filter((t) => t.startsWith('rust'));
const log = (...a) => console.error('[bench]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);

async function loadAutocannon() {
  try {
    return (await import('autocannon')).default;
  } catch {}
  try {
    // Fallback for a checkout where package.json does not list it yet.
    return createRequire(path.join(benchDir, '.cache', 'deps', 'package.json'))('autocannon');
  } catch {}
  throw new Error('autocannon is not installed: npm install --save-dev autocannon@8.0.0 (see bench/README.md)');
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

// --- HTTP helpers -------------------------------------------------------------
/** One request on a fresh connection: {status, headers, body, ms} (ms until the whole body). */
function once(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const postJson = (url, value, headers = {}) =>
  once(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) });

// --- the session every Worker is given ----------------------------------------
function secrets() {
  const key = randomBytes(32);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ASSERTION_KEYS = `a1:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}`;
  return { key, ADMIN_KEY: randomBytes(24).toString('base64url'), TOKEN_KEYS: `k1:${key.toString('base64')}`, ASSERTION_KEYS };
}

/** The vars of Worker `t`: `rust-a` is `rust` with the identity assertion on. */
function bindingsFor(t, bindings, sec) {
  return t === 'rust-a' ? { ...bindings, ASSERTION_KEYS: sec.ASSERTION_KEYS } : bindings;
}

/** A token for session `id` with a valid tag but `secret` of our choosing. */
function tokenWithTag(key, kid, idText, secret) {
  const id = Buffer.from(idText, 'base64url');
  const tag = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from('edge-session token v1\0'), Buffer.from(kid), Buffer.from([0]), id, secret]))
    .digest('base64url');
  return `es1.${kid}.${idText}.${secret.toString('base64url')}.${tag}`;
}

const USER = 'bench user@example.com';
const META = { roles: ['member', 'billing'], plan: 'pro', org: { id: 4711, name: 'Acme, Inc.' }, flags: ['beta'] };
const GUARDED_PATH = '/dashboard?tab=1';
const requestHeaders = (token) => ({
  cookie: `theme=dark; __Host-session=${token}`,
  accept: 'text/html,application/xhtml+xml',
  'user-agent': 'edge-session-bench/1',
});

/** Bytes of a build's JS: its entry and, when the entry is ours, worker-build's glue.mjs. */
function jsBytes(dir) {
  return ['index.js', 'glue.mjs'].filter((f) => existsSync(path.join(dir, f))).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

// --- correctness checks ---------------------------------------------------------
const checks = [];
function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail });
  if (!ok) log(`CHECK FAILED: ${name} ${detail}`);
}

async function verifyGuards(servers, origin, session, key) {
  const { token, id } = session;
  const forged = token.slice(0, -2) + (token.endsWith('A') ? 'BA' : 'AA');
  const wrongSecret = tokenWithTag(key, 'k1', id, randomBytes(32));
  const seen = {};
  await origin.call('record', { on: true });
  for (const t of GUARDS) {
    const base = servers[t].url;
    const r = await once(base + GUARDED_PATH, {
      headers: { ...requestHeaders(token), 'x-session-user': 'mallory', x_session_id: 'forged', 'x-http-method-override': 'DELETE' },
    });
    const got = JSON.parse((await once(origin.url + '/__last')).body);
    seen[t] = got;
    check(`${t}: valid cookie token forwarded (200)`, r.status === 200 && r.body.startsWith('hello'), `status ${r.status}`);
    const h = got?.headers || {};
    check(`${t}: identity headers set`, h['x-session-id'] === id && h['x-session-user'] === encodeURIComponent(USER), JSON.stringify(h));
    let meta = null;
    try {
      meta = JSON.parse(Buffer.from(h['x-session-meta'] || '', 'base64url'));
    } catch {}
    check(`${t}: X-Session-Meta is base64url of meta`, isDeepStrictEqual(meta, META), JSON.stringify(meta));
    check(`${t}: client x-session-* and override headers stripped`, !('x_session_id' in h) && !('x-http-method-override' in h) && h['x-session-user'] !== 'mallory');
    check(`${t}: session cookie stripped, other cookies kept`, h.cookie === 'theme=dark', `cookie: ${h.cookie}`);
    if (t === 'rust-a') {
      let claims = null;
      try {
        const jwks = JSON.parse((await once(`${base}/auth/.well-known/jwks.json`)).body);
        ({ payload: claims } = await jwtVerify(h['x-session-assertion'] ?? '', createLocalJWKSet(jwks), { algorithms: ['ES256'] }));
      } catch (e) {
        claims = String(e);
      }
      check(`${t}: X-Session-Assertion verifies (jose) and names the session`,
        claims?.sub === USER && claims?.sid === id && isDeepStrictEqual(claims?.roles, META.roles), JSON.stringify(claims));
    } else {
      check(`${t}: no X-Session-Assertion without ASSERTION_KEYS`, !('x-session-assertion' in h));
    }
    const b = await once(base + GUARDED_PATH, { headers: { authorization: `Bearer ${token}` } });
    const gotB = JSON.parse((await once(origin.url + '/__last')).body);
    check(`${t}: valid bearer token forwarded, Authorization stripped`, b.status === 200 && !gotB?.headers?.authorization, `status ${b.status}`);
    for (const [what, tok, code] of [
      ['forged tag', forged, 'invalid_token'],
      ['valid tag, wrong secret', wrongSecret, 'invalid_token'],
      ['garbage', 'es1.k1.nope', 'invalid_token'],
    ]) {
      // As an API client asks (a browser's `Accept: text/html` gets the
      // Rust Worker's HTML refusal page, issue 19; the JS guard has none).
      const x = await once(base + GUARDED_PATH, { headers: { ...requestHeaders(tok), accept: 'application/json' } });
      let c = null;
      try {
        c = JSON.parse(x.body).code;
      } catch {}
      check(`${t}: ${what} refused (401 ${code})`, x.status === 401 && c === code, `status ${x.status} code ${c}`);
    }
    const none = await once(base + GUARDED_PATH);
    check(`${t}: no token refused (401 unauthorized)`, none.status === 401 && JSON.parse(none.body).code === 'unauthorized');
  }
  const f = await once(servers.floor.url + GUARDED_PATH, { headers: requestHeaders(token) });
  check('floor: valid token forwarded (200)', f.status === 200 && f.body.startsWith('hello'), `status ${f.status}`);
  // Miniflare adds `cf-worker: <worker name>.example.com`; the names differ.
  // `rust +assert` sends the same plus its assertion.
  const pick = (h) => Object.fromEntries(Object.entries(h || {}).filter(([k]) => k !== 'host' && k !== 'cf-worker' && k !== 'x-session-assertion'));
  for (const t of RUSTS) {
    check(
      `${t} and js-guard forward the same headers to the origin`,
      JSON.stringify(pick(seen[t]?.headers)) === JSON.stringify(pick(seen.js?.headers)),
      `${t} ${JSON.stringify(pick(seen[t]?.headers))} js ${JSON.stringify(pick(seen.js?.headers))}`,
    );
  }
  await origin.call('record', { on: false });
}

// --- load ------------------------------------------------------------------------
async function loadRun(autocannon, url, token, seconds) {
  const latencies = [];
  const inst = autocannon({
    url: url + GUARDED_PATH,
    connections: O.connections,
    duration: seconds,
    headers: requestHeaders(token),
  });
  inst.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const result = await new Promise((resolve, reject) => {
    inst.on('done', resolve);
    inst.on('error', reject);
  });
  const lat = summary(latencies);
  return {
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    p50: lat.median,
    p99: (() => {
      const s = [...latencies].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
    })(),
  };
}

async function benchLoad(autocannon, servers, token) {
  log(`load: warm-up ${O.warmup}s per Worker`);
  if (O.warmup > 0) for (const t of TARGETS) await loadRun(autocannon, servers[t].url, token, O.warmup);
  const rounds = [];
  for (let r = 0; r < O.rounds; r++) {
    const round = {};
    for (const t of rotate(TARGETS, r)) {
      await sleep(300);
      const pid = servers[t].pid;
      const c0 = cpu(pid);
      const run = await loadRun(autocannon, servers[t].url, token, O.duration);
      const c1 = cpu(pid);
      run.cpuSeconds = cpuDelta(c0, c1);
      run.cpuTicksSeconds = c1.ticks - c0.ticks;
      run.cpuUsPerReq = (run.cpuSeconds * 1e6) / run.requests;
      round[t] = run;
      if (run.non2xx || run.errors) log(`load: ${t} round ${r + 1}: ${run.non2xx} non-2xx, ${run.errors} errors`);
    }
    log(`load round ${r + 1}/${O.rounds}: ` + TARGETS.map((t) => `${t} ${fmt(round[t].rps)} req/s ${fmt(round[t].cpuUsPerReq)} µs/req`).join(', '));
    rounds.push(round);
  }
  return rounds;
}

// --- in-process loop -----------------------------------------------------------------
async function loopRun(server, token, n, record = false, tokens = undefined) {
  const pid = server.pid;
  const c0 = cpu(pid);
  const t0 = performance.now();
  const r = await postJson(`${server.url}/run?n=${n}`, { token, tokens, record });
  const wallMs = performance.now() - t0;
  const c1 = cpu(pid);
  if (r.status !== 200) throw new Error(`loop /run answered ${r.status}: ${r.body}`);
  const out = JSON.parse(r.body);
  const used = cpuDelta(c0, c1);
  return { ...out, cpuSeconds: used, cpuTicksSeconds: c1.ticks - c0.ticks, cpuUsPerReq: (used * 1e6) / n, wallUsPerReq: (wallMs * 1000) / n };
}

async function benchLoop(loops, session) {
  const { token, id } = session;
  for (const t of TARGETS) {
    const probe = await loopRun(loops[t], token, 1, true);
    check(`loop ${t}: guarded request answered 200 through the stub origin`, probe.statuses['200'] === 1, JSON.stringify(probe.statuses));
    check(`loop ${t}: one KV read per request`, Object.values(probe.kvOps).reduce((a, b) => a + b, 0) === 1, JSON.stringify(probe.kvOps));
    if (t !== 'floor') {
      check(`loop ${t}: identity headers reach the stub origin`, probe.seen?.headers?.['x-session-id'] === id, JSON.stringify(probe.seen?.headers));
      check(`loop ${t}: X-Session-Assertion ${t === 'rust-a' ? 'reaches' : 'is not sent to'} the stub origin`,
        (probe.seen?.headers?.['x-session-assertion'] !== undefined) === (t === 'rust-a'), JSON.stringify(probe.seen?.headers));
    }
    if (probe.clock) loops[t].clock = probe.clock;
  }
  // Do workerd's clocks move during pure CPU (no await)? Measured once.
  const c0 = cpu(loops.js.pid);
  const spin = JSON.parse((await once(`${loops.js.url}/spin?n=300000000`)).body);
  loops.clockProbe = { dateMs: spin.dateMs, perfMs: spin.perfMs, cpuMs: cpuDelta(c0, cpu(loops.js.pid)) * 1000 };
  // One full run of warm-up: the wasm tiers up (TurboFan, background threads) during the first thousands.
  const warm = Math.max(1000, O.loopN);
  log(`loop: warm-up ${warm} requests per Worker`);
  for (const t of TARGETS) await loopRun(loops[t], token, warm);
  const rounds = [];
  for (let r = 0; r < O.rounds; r++) {
    const round = {};
    for (const t of rotate(TARGETS, r)) {
      const run = await loopRun(loops[t], token, O.loopN);
      if (run.statuses['200'] !== O.loopN) throw new Error(`loop ${t}: not every answer was 200: ${JSON.stringify(run.statuses)}`);
      round[t] = { cpuUsPerReq: run.cpuUsPerReq, wallUsPerReq: run.wallUsPerReq, cpuSeconds: run.cpuSeconds, cpuTicksSeconds: run.cpuTicksSeconds, kvOps: run.kvOps, clock: run.clock };
    }
    log(`loop round ${r + 1}/${O.rounds}: ` + TARGETS.map((t) => `${t} ${fmt(round[t].cpuUsPerReq)} µs/req`).join(', '));
    rounds.push(round);
  }
  return rounds;
}

/**
 * The loop with a session per request, `many` taken in turn: more sessions
 * than an isolate remembers assertions of (1024), so `rust +assert` signs on
 * every request; the other Workers do what they do for one session.
 */
async function benchLoopSessions(loops, many) {
  const tokens = many.map((m) => m.token);
  for (const t of TARGETS) {
    const probe = await loopRun(loops[t], null, tokens.length, false, tokens);
    check(`loop ${t}, ${tokens.length} sessions: every request answered 200 after one KV read`,
      probe.statuses['200'] === tokens.length && Object.values(probe.kvOps).reduce((a, b) => a + b, 0) === tokens.length,
      JSON.stringify({ statuses: probe.statuses, kvOps: probe.kvOps }));
  }
  const rounds = [];
  for (let r = 0; r < O.rounds; r++) {
    const round = {};
    for (const t of rotate(TARGETS, r)) {
      const run = await loopRun(loops[t], null, O.loopN, false, tokens);
      if (run.statuses['200'] !== O.loopN) throw new Error(`loop ${t}: not every answer was 200: ${JSON.stringify(run.statuses)}`);
      round[t] = { cpuUsPerReq: run.cpuUsPerReq, wallUsPerReq: run.wallUsPerReq, cpuSeconds: run.cpuSeconds };
    }
    log(`loop (${tokens.length} sessions) round ${r + 1}/${O.rounds}: ` + TARGETS.map((t) => `${t} ${fmt(round[t].cpuUsPerReq)} µs/req`).join(', '));
    rounds.push(round);
  }
  return rounds;
}

/** `n` more sessions of the bench user, minted by the Rust Worker's admin API (8 at a time), with their KV records. */
async function mintSessions(server, adminKey, n) {
  const out = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < n) {
      next++;
      const r = await postJson(`${server.url}/auth/admin/sessions`, { userId: USER, label: 'bench', meta: META }, { authorization: `Bearer ${adminKey}` });
      if (r.status !== 201) throw new Error(`minting a session answered ${r.status}: ${r.body}`);
      const { token, session } = JSON.parse(r.body);
      out.push({ token, id: session.id, record: await server.call('kvGet', { key: `s:${session.id}` }) });
    }
  }));
  return out;
}

// --- cold start -----------------------------------------------------------------------
// A fresh isolate per sample and Worker: the first guarded request, then a
// second. `start(t)` starts Worker `t` with the session in its KV, `part`
// names the part in errors and progress.
async function coldSamples(part, start, session) {
  const samples = [];
  for (let i = 0; i < O.cold; i++) {
    const sample = {};
    for (const t of rotate(TARGETS, i)) {
      const s = await start(t);
      try {
        await sleep(200); // let startup work in background threads finish
        const c0 = cpu(s.pid);
        const first = await once(s.url + GUARDED_PATH, { headers: requestHeaders(session.token) });
        const c1 = cpu(s.pid);
        const startup = s.cpuAtReady.precise ?? s.cpuAtReady.ticks;
        const firstCpu = cpuDelta(c0, c1);
        const second = await once(s.url + GUARDED_PATH, { headers: requestHeaders(session.token) });
        if (first.status !== 200 || second.status !== 200) throw new Error(`${part} ${t}: answered ${first.status}/${second.status}`);
        sample[t] = {
          readyMs: s.readyMs,
          firstRequestMs: first.ms,
          secondRequestMs: second.ms,
          startupCpuMs: startup * 1000,
          firstRequestCpuMs: firstCpu * 1000,
          startupPlusFirstCpuMs: (startup + firstCpu) * 1000,
          ticks: { startupCpuMs: s.cpuAtReady.ticks * 1000, firstRequestCpuMs: (c1.ticks - c0.ticks) * 1000 },
        };
      } finally {
        await s.stop();
      }
    }
    log(`${part} sample ${i + 1}/${O.cold}: ` + TARGETS.map((t) => `${t} ready ${fmt(sample[t].readyMs)} ms, first ${fmt(sample[t].firstRequestMs)} ms`).join(', '));
    samples.push(sample);
  }
  return samples;
}

/** Under Miniflare: a new Miniflare (hence workerd) per sample, the session written into its KV. */
function benchCold(scripts, bindings, session, record) {
  return coldSamples('cold', async (t) => {
    const s = await startServer({ name: `cold-${t}`, scriptPath: scripts[t], bindings: bindings(t) });
    await s.call('kvPut', { key: `s:${session.id}`, value: record });
    return s;
  }, session);
}

/** In a bare workerd (no Miniflare in front), KV in the isolate's memory, seeded by its driver. */
function benchBare(bare, bindings, session, record) {
  const seed = JSON.stringify({ key: `s:${session.id}`, value: record });
  return coldSamples('bare', (t) => startBare({ ...bare[t], bindings: { ...bindings(t), SEED: seed }, v8Flags: O.v8Flags }), session);
}

/** The fields of a cold sample, with their row labels. */
const COLD_FIELDS = [
  ['readyMs', 'time to ready (ms)'],
  ['firstRequestMs', 'first request (ms)'],
  ['secondRequestMs', 'second request (ms)'],
  ['startupCpuMs', 'startup CPU (ms)'],
  ['firstRequestCpuMs', 'first request CPU (ms)'],
  ['startupPlusFirstCpuMs', 'startup + first CPU (ms)'],
];

// --- summaries -----------------------------------------------------------------------
function metric(rounds, field) {
  const out = {};
  for (const t of TARGETS) out[t] = summary(rounds.map((r) => r[t][field]));
  for (const t of [...RUSTS, 'floor']) out[`${t}/js`] = summary(rounds.map((r) => r[t][field] / r.js[field]));
  out['rust-a/rust'] = summary(rounds.map((r) => r['rust-a'][field] / r.rust[field]));
  if (O.buildB) out['rust-b/rust'] = summary(rounds.map((r) => r['rust-b'][field] / r.rust[field]));
  return out;
}

function aboveFloor(rounds, field) {
  const out = {};
  for (const t of GUARDS) out[t] = summary(rounds.map((r) => r[t][field] - r.floor[field]));
  for (const t of RUSTS) out[`${t}/js`] = summary(rounds.map((r) => (r[t][field] - r.floor[field]) / (r.js[field] - r.floor[field])));
  out['rust-a/rust'] = summary(rounds.map((r) => (r['rust-a'][field] - r.floor[field]) / (r.rust[field] - r.floor[field])));
  if (O.buildB) out['rust-b/rust'] = summary(rounds.map((r) => (r['rust-b'][field] - r.floor[field]) / (r.rust[field] - r.floor[field])));
  return out;
}

/** What `rust +assert` adds to `rust` per request, per round. */
function added(rounds, field) {
  return { 'rust-a': summary(rounds.map((r) => r['rust-a'][field] - r.rust[field])) };
}

/** The table's columns: each Worker, then the ratios. */
const COLUMNS = [...TARGETS, ...RUSTS.map((t) => `${t}/js`), 'floor/js', 'rust-a/rust', ...(O.buildB ? ['rust-b/rust'] : [])];

function rowsFor(prefix, m, unit = '') {
  return [prefix, ...COLUMNS.map((c) => (m[c] ? cell(m[c], c.includes('/') ? '×' : unit) : ''))];
}

// --- main -------------------------------------------------------------------------------
async function main() {
  const started = Date.now();
  const stageDir = path.join(benchDir, '.cache', `stage-${process.pid}`);
  const st = stage({ benchDir, buildDir: O.build, buildDirB: O.buildB, dir: stageDir });
  const wasmBytes = readFileSync(st.wasm);
  const results = {
    date: new Date().toISOString(),
    options: { ...O, only: [...O.only] },
    build: {
      dir: O.build,
      builtAt: statSync(path.join(O.build, 'index_bg.wasm')).mtime.toISOString(),
      wasmSha256: createHash('sha256').update(wasmBytes).digest('hex'),
      gitHead: git('rev-parse', '--short', 'HEAD'),
      gitDirty: (git('status', '--porcelain', '--', 'crates', 'src', 'Cargo.toml', 'Cargo.lock') || '') !== '',
    },
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, clkTck: CLK_TCK, loadAvgAtStart: os.loadavg() },
    checks,
  };
  const cleanup = [];
  try {
    if (O.only.has('size')) {
      results.wasm = {
        rawBytes: wasmBytes.length,
        gzipBytes: gzipSync(wasmBytes, { level: zlibConstants.Z_BEST_COMPRESSION }).length,
        jsGlueBytes: jsBytes(O.build),
      };
      if (st.wasmB) {
        const b = readFileSync(st.wasmB);
        results.wasmB = {
          dir: O.buildB,
          wasmSha256: createHash('sha256').update(b).digest('hex'),
          rawBytes: b.length,
          gzipBytes: gzipSync(b, { level: zlibConstants.Z_BEST_COMPRESSION }).length,
          jsGlueBytes: jsBytes(O.buildB),
        };
      }
    }
    const needsServers = ['load', 'loop', 'cold', 'bare'].some((p) => O.only.has(p));
    if (!needsServers) return results;

    const sec = secrets();
    const origin = await startOrigin();
    cleanup.push(() => origin.stop());
    const bindings = { ADMIN_KEY: sec.ADMIN_KEY, TOKEN_KEYS: sec.TOKEN_KEYS, ORIGIN_URL: origin.url };
    const varsOf = (t) => bindingsFor(t, bindings, sec);
    log(`origin at ${origin.url}; starting one workerd per Worker`);
    const servers = {};
    await Promise.all(
      TARGETS.map(async (t) => {
        servers[t] = await startServer({ name: t, scriptPath: st.load[t], bindings: varsOf(t) });
        cleanup.push(() => servers[t].stop());
      }),
    );
    results.processes = Object.fromEntries(
      TARGETS.map((t) => [t, { miniflareNodePid: servers[t].node.pid, workerdPid: servers[t].pid, exe: servers[t].exe, threads: readdirSync(`/proc/${servers[t].pid}/task`).length }]),
    );
    log('workerd pids: ' + TARGETS.map((t) => `${t} ${servers[t].pid} (under node ${servers[t].node.pid})`).join(', '));

    // One session, minted by the Rust Worker's admin API, given to every Worker.
    const minted = await postJson(
      `${servers.rust.url}/auth/admin/sessions`,
      { userId: USER, label: 'bench', meta: META },
      { authorization: `Bearer ${sec.ADMIN_KEY}` },
    );
    if (minted.status !== 201) throw new Error(`minting a session answered ${minted.status}: ${minted.body}`);
    const { token, session: s } = JSON.parse(minted.body);
    const session = { token, id: s.id };
    const record = await servers.rust.call('kvGet', { key: `s:${s.id}` });
    for (const t of TARGETS.filter((x) => x !== 'rust')) await servers[t].call('kvPut', { key: `s:${s.id}`, value: record });
    await verifyGuards(servers, origin, session, sec.key);
    const many = O.only.has('loop') && O.sessions > 0 ? await mintSessions(servers.rust, sec.ADMIN_KEY, O.sessions) : [];

    if (O.only.has('load')) {
      const autocannon = await loadAutocannon();
      results.load = { rounds: await benchLoad(autocannon, servers, token) };
    }
    for (const t of TARGETS) await servers[t].stop();

    if (O.only.has('loop')) {
      const loops = {};
      await Promise.all(
        TARGETS.map(async (t) => {
          loops[t] = await startServer({ name: `loop-${t}`, scriptPath: st.loop[t], bindings: varsOf(t), kv: false });
          cleanup.push(() => loops[t].stop());
        }),
      );
      for (const t of TARGETS) {
        await postJson(`${loops[t].url}/seed`, { entries: [{ key: `s:${s.id}`, value: record }, ...many.map((m) => ({ key: `s:${m.id}`, value: m.record }))] });
      }
      results.processes.loop = Object.fromEntries(TARGETS.map((t) => [t, loops[t].pid]));
      results.loop = { n: O.loopN, rounds: await benchLoop(loops, session) };
      results.loop.clockProbe = loops.clockProbe;
      if (many.length) results.loopSessions = { sessions: many.length, n: O.loopN, rounds: await benchLoopSessions(loops, many) };
      for (const t of TARGETS) await loops[t].stop();
    }

    if (O.only.has('cold')) results.cold = { samples: await benchCold(st.load, varsOf, session, record) };
    if (O.only.has('bare')) results.bare = { samples: await benchBare(st.bare, varsOf, session, record) };
  } finally {
    for (const f of cleanup.reverse()) await Promise.resolve().then(f).catch(() => {});
    rmSync(stageDir, { recursive: true, force: true });
    results.totalSeconds = (Date.now() - started) / 1000;
    results.machine.loadAvgAtEnd = os.loadavg();
  }
  return results;
}

function report(results) {
  const rows = [];
  const L = results.load?.rounds;
  if (L) {
    rows.push(rowsFor('load  requests/s', metric(L, 'rps')));
    rows.push(rowsFor('load  latency p50 (ms)', metric(L, 'p50')));
    rows.push(rowsFor('load  latency p99 (ms)', metric(L, 'p99')));
    rows.push(rowsFor('load  workerd CPU/request (µs)', metric(L, 'cpuUsPerReq')));
    rows.push(rowsFor('load    above floor (µs)', aboveFloor(L, 'cpuUsPerReq')));
    rows.push(rowsFor('load    assertion adds (µs)', added(L, 'cpuUsPerReq')));
  }
  const P = results.loop?.rounds;
  if (P) {
    rows.push(rowsFor('loop  CPU/request (µs)', metric(P, 'cpuUsPerReq')));
    rows.push(rowsFor('loop    above floor (µs)', aboveFloor(P, 'cpuUsPerReq')));
    rows.push(rowsFor('loop    assertion adds (µs)', added(P, 'cpuUsPerReq')));
    rows.push(rowsFor('loop  wall/request (µs)', metric(P, 'wallUsPerReq')));
  }
  const S = results.loopSessions?.rounds;
  if (S) {
    const label = `loop  ${results.loopSessions.sessions} sessions in turn`;
    rows.push(rowsFor(`${label}: CPU/request (µs)`, metric(S, 'cpuUsPerReq')));
    rows.push(rowsFor('loop    assertion adds, signing each request (µs)', added(S, 'cpuUsPerReq')));
  }
  for (const part of ['cold', 'bare']) {
    const samples = results[part]?.samples;
    if (!samples) continue;
    for (const [field, label] of COLD_FIELDS) rows.push(rowsFor(`${part}  ${label}`, metric(samples, field)));
  }
  const out = [];
  const b = results.build;
  out.push(
    `edge-session bench: build ${b.gitHead ?? '?'}${b.gitDirty ? '+dirty' : ''} (wasm sha256 ${b.wasmSha256.slice(0, 12)}, built ${b.builtAt}), ` +
      `${results.machine.cpus} CPUs, ${results.machine.node}, load average ${results.machine.loadAvgAtStart[0].toFixed(2)} at start`,
  );
  const o = results.options;
  out.push(
    `${o.rounds} rounds alternating; load ${o.duration}s × ${o.connections} connections per Worker per round; loop ${o.loopN} requests per run; ` +
      `${o.cold} cold samples. Cells: median [min–max]; ratios are per round (per sample for cold).` +
      (o.v8Flags?.length ? ` Bare workerd with V8 flags ${o.v8Flags.join(' ')}.` : ''),
  );
  if (rows.length) {
    out.push('');
    out.push(table(['', ...COLUMNS.map((c) => LABEL[c] ?? c.replace('rust-b', 'rust B'))], rows));
  }
  if (results.wasm) {
    const w = results.wasm;
    out.push('');
    out.push(
      `wasm: ${w.rawBytes} bytes raw (${(w.rawBytes / 1024).toFixed(1)} KiB), ${w.gzipBytes} bytes gzip -9 (${(w.gzipBytes / 1024).toFixed(1)} KiB); JS glue ${w.jsGlueBytes} bytes`,
    );
    const wb = results.wasmB;
    if (wb) {
      out.push(
        `rust B (${path.relative(root, wb.dir)}, wasm sha256 ${wb.wasmSha256.slice(0, 12)}): ${wb.rawBytes} bytes raw, ${wb.gzipBytes} bytes gzip -9; JS glue ${wb.jsGlueBytes} bytes`,
      );
    }
  }
  if (results.checks.length) {
    const failed = results.checks.filter((c) => !c.ok);
    out.push(`checks: ${results.checks.length - failed.length}/${results.checks.length} passed` + (failed.length ? `; FAILED: ${failed.map((c) => c.name).join('; ')}` : ''));
  }
  if (results.load) {
    const sum = (t, f) => results.load.rounds.reduce((a, r) => a + r[t][f], 0);
    out.push(
      'CPU readings cross-check, load rounds summed (thread schedstat ns vs /proc/<pid>/stat ticks): ' +
        TARGETS.map((t) => `${t} ${sum(t, 'cpuSeconds').toFixed(2)} s vs ${sum(t, 'cpuTicksSeconds').toFixed(2)} s`).join(', '),
    );
  }
  if (results.loop) {
    const kv = TARGETS.map((t) => `${t} ${JSON.stringify(results.loop.rounds[0][t].kvOps)}`).join(', ');
    out.push(`loop KV calls per run of ${results.loop.n}: ${kv}`);
    const r0 = results.loop.rounds[0];
    out.push(
      'clocks inside workerd during one loop run (Date.now / performance.now advance vs CPU used): ' +
        TARGETS.map((t) => `${t} +${r0[t].clock?.dateMs} / +${fmt(r0[t].clock?.perfMs)} ms vs ${fmt(r0[t].cpuSeconds * 1000)} ms`).join(', '),
    );
    const cp = results.loop.clockProbe;
    if (cp) out.push(`clocks during a pure-CPU spin (no await) in workerd: Date.now +${cp.dateMs} ms, performance.now +${fmt(cp.perfMs)} ms, process CPU ${fmt(cp.cpuMs)} ms`);
  }
  out.push(`took ${results.totalSeconds.toFixed(0)} s; JSON in ${path.relative(root, results.options.out)}`);
  return out.join('\n');
}

main()
  .then((results) => {
    results.summary = {};
    if (results.load) {
      for (const f of ['rps', 'p50', 'p99', 'cpuUsPerReq']) results.summary[`load.${f}`] = metric(results.load.rounds, f);
      results.summary['load.cpuUsPerReq.aboveFloor'] = aboveFloor(results.load.rounds, 'cpuUsPerReq');
      results.summary['load.cpuUsPerReq.assertionAdds'] = added(results.load.rounds, 'cpuUsPerReq');
    }
    if (results.loop) {
      results.summary['loop.cpuUsPerReq'] = metric(results.loop.rounds, 'cpuUsPerReq');
      results.summary['loop.cpuUsPerReq.aboveFloor'] = aboveFloor(results.loop.rounds, 'cpuUsPerReq');
      results.summary['loop.wallUsPerReq'] = metric(results.loop.rounds, 'wallUsPerReq');
      results.summary['loop.cpuUsPerReq.assertionAdds'] = added(results.loop.rounds, 'cpuUsPerReq');
    }
    if (results.loopSessions) {
      results.summary['loopSessions.cpuUsPerReq'] = metric(results.loopSessions.rounds, 'cpuUsPerReq');
      results.summary['loopSessions.cpuUsPerReq.assertionAdds'] = added(results.loopSessions.rounds, 'cpuUsPerReq');
    }
    for (const part of ['cold', 'bare']) {
      if (!results[part]) continue;
      for (const [field] of COLD_FIELDS) results.summary[`${part}.${field}`] = metric(results[part].samples, field);
    }
    writeFileSync(results.options.out, JSON.stringify(results, null, 2) + '\n');
    console.log(report(results));
    if (results.checks.some((c) => !c.ok)) process.exitCode = 1;
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
