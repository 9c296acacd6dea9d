// The in-process loop (bench/run.mjs): a driver Worker that imports the
// Worker under test as a module, in the same isolate, and calls its fetch
// handler N times in a row, with an in-memory KV and a stub origin. The
// Node side reads the workerd process's CPU before and after one /run.
//
// `./target.js` is written by bench/lib/stage.mjs: it re-exports the
// default export of the Worker under test: an object with `fetch` (the JS
// Workers, and the Rust Worker's entry module since issue 20), or a
// WorkerEntrypoint class (worker-build's own entry, in older builds): one
// instance per request, as workerd does.
import target from './target.js';
import { memoryKv } from './memkv.js';

const kv = memoryKv();
const ORIGIN_BODY = 'hello from the origin\n';
let seen = null; // headers the stub origin received, when recording
let recording = false;
let fetchCalls = 0;

// The stub origin: every `fetch` of the Worker under test lands here.
globalThis.fetch = async function stubFetch(input, init) {
  fetchCalls++;
  if (recording) {
    const req = input instanceof Request && init === undefined ? input : new Request(input, init);
    seen = { url: req.url, method: req.method, headers: Object.fromEntries(req.headers) };
  }
  return new Response(ORIGIN_BODY, { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' } });
};

const isClass = typeof target === 'function';
let targetEnv = null;
const pending = [];
const ctx = {
  waitUntil(p) {
    pending.push(Promise.resolve(p).catch(() => {}));
  },
  passThroughOnException() {},
  props: {},
};

function envFrom(env) {
  if (!targetEnv) {
    targetEnv = {};
    for (const [k, v] of Object.entries(env)) if (typeof v === 'string') targetEnv[k] = v;
    targetEnv.SESSIONS = kv;
  }
  return targetEnv;
}

function call(request, env) {
  return isClass ? new target(ctx, env).fetch(request) : target.fetch(request, env, ctx);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const tenv = envFrom(env);
    if (url.pathname === '/seed') {
      // One record ({key, value}) or many ({entries: [{key, value}, ...]}).
      const body = await request.json();
      for (const { key, value } of body.entries ?? [body]) kv.map.set(key, { value, metadata: null });
      return Response.json({ ok: true });
    }
    if (url.pathname === '/run') {
      const n = Number(url.searchParams.get('n') || 1);
      // `tokens`: a session per request, in turn (else `token` for every request).
      const { token, tokens, record, headers: extra = {} } = await request.json();
      recording = record === true;
      const statuses = {};
      const before = { ...kv.counts };
      const calls0 = fetchCalls;
      let body = '';
      const d0 = Date.now();
      const p0 = performance.now();
      for (let i = 0; i < n; i++) {
        const req = new Request('https://app.example.com/dashboard?tab=1', {
          headers: {
            cookie: `theme=dark; __Host-session=${tokens ? tokens[i % tokens.length] : token}`,
            accept: 'text/html,application/xhtml+xml',
            'user-agent': 'edge-session-bench/1',
            ...extra,
          },
        });
        const res = await call(req, tenv);
        statuses[res.status] = (statuses[res.status] || 0) + 1;
        body = await res.text();
      }
      await Promise.all(pending.splice(0));
      // In workerd both clocks stand still while code runs (they advance on I/O only).
      const clock = { dateMs: Date.now() - d0, perfMs: performance.now() - p0 };
      const kvOps = Object.fromEntries(Object.entries(kv.counts).map(([k, v]) => [k, v - before[k]]).filter(([, v]) => v));
      const out = { n, statuses, kvOps, clock, originFetches: fetchCalls - calls0, lastBody: recording ? body : undefined, seen: recording ? seen : undefined };
      recording = false;
      seen = null;
      return Response.json(out);
    }
    if (url.pathname === '/spin') {
      // Pure CPU, no await: how far do the clocks move?
      const d0 = Date.now();
      const p0 = performance.now();
      const n = Number(url.searchParams.get('n') || 5e7);
      let x = 0;
      for (let i = 0; i < n; i++) x = Math.imul(x, 31) + ((x >>> 7) ^ i) | 0;
      return Response.json({ dateMs: Date.now() - d0, perfMs: performance.now() - p0, x });
    }
    return new Response('not found', { status: 404 });
  },
};
