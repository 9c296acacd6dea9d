// Starts the built Worker (build/index.js) in Miniflare with a KV namespace
// bound as SESSIONS, and a local HTTP origin the guard can forward to.
import { Miniflare, Response } from 'miniflare';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function randomSecrets() {
  return {
    ADMIN_KEY: randomBytes(24).toString('base64url'),
    TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  };
}

/**
 * Every KV call the Worker makes through a spied SESSIONS binding, and the
 * faults to inject: `calls` holds `{phase: 'before'|'after', op, key}`.
 */
function kvControl() {
  const calls = [];
  const faults = new Map(); // op -> number of upcoming calls to fail
  const waiters = [];
  const holds = []; // {pred, skip, held, gate}: the answer of one KV call, delayed
  const handler = async (req) => {
    const event = await req.json();
    if (new URL(req.url).pathname === '/do') event.op = `do:${event.op}`;
    calls.push(event);
    if (event.phase === 'after') {
      const h = holds.find((x) => x.pred(event));
      if (h && h.skip-- <= 0) {
        holds.splice(holds.indexOf(h), 1);
        h.held(event);
        await h.gate;
      }
    }
    for (const w of waiters.splice(0)) (w.pred(event) ? w.resolve(event) : waiters.push(w));
    if (event.phase === 'before' && (faults.get(event.op) || 0) > 0) {
      faults.set(event.op, faults.get(event.op) - 1);
      return Response.json({ fail: `injected KV ${event.op} failure` });
    }
    return Response.json({});
  };
  return { calls, faults, waiters, holds, handler };
}

/**
 * Starts the Worker. `bindings` are vars and secrets (strings); `kvPersist`
 * keeps KV data in a directory so a second Worker can reuse it.
 *
 * With `spyKv`, SESSIONS is a wrapper (tests/support/kv-spy.js) that reports
 * every call to this process: `w.kvOps()` counts them by operation (`get`,
 * `getWithMetadata`, `put`, `delete`, `list`) since `w.resetKvOps()`,
 * `w.failKv(op, n)` makes the next `n` calls of `op` throw, and
 * `w.kvCallDone(pred)` resolves when a call matching `pred({op, key})` has
 * finished (waitUntil work included), and `w.holdKv(pred, skip)` makes the
 * (skip+1)-th call matching `pred` answer the Worker only after `release()`
 * (`held` resolves once it has run: the answer is on its way back).
 * `w.kv()` then reads the same data through a second, unspied binding. With
 * `strong`, SESSION_CONSISTENCY is `strong` and the owners (USER_SESSIONS) are
 * bound; spied, each call to an owner counts as `do:fetch` and
 * `w.failKv('do:fetch', n)` makes owners unreachable.
 *
 * `ratelimits` are Rate Limiting bindings as Miniflare takes them
 * (`{RL_ADMIN: {simple: {limit: 10, period: 60}}}`); each name in
 * `throwingLimiters` is bound to one whose `limit()` throws
 * (tests/support/rl-throw.js).
 */
export async function startWorker({
  bindings = {}, kvPersist, kvNamespaces = ['SESSIONS'], spyKv = false, strong = false, ownerBinding = true,
  durableObjectsPersist, secrets: given, events = false, ratelimits = {}, throwingLimiters = [],
} = {}) {
  const secrets = given || randomSecrets();
  const env = { ...secrets, ...(strong ? { SESSION_CONSISTENCY: 'strong' } : {}), ...bindings };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const worker = {
    name: 'edge-session',
    modules: true,
    scriptPath: path.join(root, 'build', 'index.js'),
    // Module names relative to the repository, whatever the cwd (origin/'s tests run from there).
    modulesRoot: root,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: env,
    ratelimits,
  };
  const support = path.join(root, 'tests', 'support');
  const throwing = Object.fromEntries(throwingLimiters.map((name) => [name, { scriptName: 'rl-throw' }]));
  const rlThrow = { name: 'rl-throw', modules: true, modulesRoot: support, scriptPath: path.join(support, 'rl-throw.js') };
  // The owners' class is the Worker's own; with `spyKv` their namespace is
  // wrapped too (tests/support/do-spy.js), and `ownerBinding: false` leaves
  // USER_SESSIONS unbound (the class still exists, as RAW_USER_SESSIONS).
  const owners = { className: 'UserSessions', useSQLite: true };
  const control = kvControl();
  let options;
  if (spyKv) {
    const wrapped = { SESSIONS: { scriptName: 'kv-spy' }, ...throwing };
    if (ownerBinding) wrapped.USER_SESSIONS = { scriptName: 'do-spy' };
    options = {
      kvPersist,
      durableObjectsPersist,
      workers: [
        {
          ...worker, kvNamespaces: { SESSIONS_RAW: 'sessions' }, wrappedBindings: wrapped,
          durableObjects: { RAW_USER_SESSIONS: owners },
        },
        {
          name: 'kv-spy', modules: true, modulesRoot: support, scriptPath: path.join(support, 'kv-spy.js'),
          kvNamespaces: { REAL: 'sessions' }, serviceBindings: { CTL: control.handler },
        },
        {
          name: 'do-spy', modules: true, modulesRoot: support, scriptPath: path.join(support, 'do-spy.js'),
          durableObjects: { INNER: { ...owners, scriptName: 'edge-session' } }, serviceBindings: { CTL: control.handler },
        },
        rlThrow,
      ],
    };
  } else if (throwingLimiters.length > 0) {
    const durableObjects = ownerBinding ? { USER_SESSIONS: owners } : { RAW_USER_SESSIONS: owners };
    options = {
      kvPersist,
      durableObjectsPersist,
      workers: [{ ...worker, kvNamespaces, durableObjects, wrappedBindings: throwing }, rlThrow],
    };
  } else {
    const durableObjects = ownerBinding ? { USER_SESSIONS: owners } : { RAW_USER_SESSIONS: owners };
    options = { ...worker, kvNamespaces, kvPersist, durableObjects, durableObjectsPersist };
  }
  // With `events`, EVENTS is a real queue whose consumer is the example
  // (examples/events-consumer), writing NDJSON to a local R2 bucket.
  if (events) {
    const consumerDir = path.join(root, 'examples', 'events-consumer');
    const consumer = {
      name: 'events-consumer', modules: true, modulesRoot: consumerDir, scriptPath: path.join(consumerDir, 'worker.js'),
      compatibilityDate: '2026-04-01', r2Buckets: ['EVENTS_LOG'],
      queueConsumers: { [EVENTS_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1 } },
    };
    const workers = options.workers || [(({ kvPersist: _k, durableObjectsPersist: _d, ...w }) => w)(options)];
    workers[0] = { ...workers[0], queueProducers: { EVENTS: EVENTS_QUEUE } };
    options = { kvPersist: options.kvPersist, durableObjectsPersist: options.durableObjectsPersist, workers: [...workers, consumer] };
  }
  const mf = new Miniflare(options);
  const url = await mf.ready;
  const base = url.href.replace(/\/$/, '');
  const before = () => control.calls.filter((c) => c.phase === 'before');
  return {
    mf,
    env,
    base,
    fetch: (p, init) => mf.dispatchFetch(base + p, init),
    kv: () => mf.getKVNamespace(spyKv ? 'SESSIONS_RAW' : 'SESSIONS'),
    kvOps: () => before().reduce((m, c) => ({ ...m, [c.op]: (m[c.op] || 0) + 1 }), {}),
    resetKvOps: () => control.calls.splice(0),
    failKv: (op, n = 1) => control.faults.set(op, n),
    kvCallDone: (pred, ms = 15000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no such KV call finished in time')), ms);
      control.waiters.push({ pred: (e) => e.phase === 'after' && pred(e), resolve: (e) => { clearTimeout(timer); resolve(e); } });
    }),
    holdKv: (pred, skip = 0) => {
      let held;
      let release;
      const heldP = new Promise((r) => (held = r));
      const gate = new Promise((r) => (release = r));
      control.holds.push({ pred, skip, held, gate });
      return { held: heldP, release };
    },
    /** Every event the example consumer wrote to R2 so far, in no set order. */
    deliveredEvents: async () => {
      const bucket = await mf.getR2Bucket('EVENTS_LOG', 'events-consumer');
      const out = [];
      let cursor;
      do {
        const page = await bucket.list({ prefix: 'events/', cursor });
        for (const o of page.objects) {
          const text = await (await bucket.get(o.key)).text();
          for (const line of text.split('\n')) if (line) out.push({ raw: line, event: JSON.parse(line) });
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return out;
    },
    dispose: () => mf.dispose(),
  };
}

/** The queue the Worker's EVENTS producer sends to (tests and `npm run dev`). */
export const EVENTS_QUEUE = 'edge-session-events';

/**
 * A local origin on 127.0.0.1 that records what it received and answers with
 * what the test's `respond(req, body)` returns ({status, headers, body}).
 */
export async function startOrigin(respond = () => ({})) {
  const received = [];
  // Real origins take large headers too (Cloudflare forwards up to 128 KB);
  // Node alone would answer 431 past 16 KiB.
  const server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const seen = { method: req.method, url: req.url, headers: req.headers, body };
      received.push(seen);
      const out = respond(seen) || {};
      res.writeHead(out.status || 200, { 'content-type': 'application/json', ...(out.headers || {}) });
      res.end(out.body !== undefined ? out.body : JSON.stringify(seen));
    });
  });
  server.maxHeadersCount = 0; // no cap (Node's default keeps 2000 lines)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
