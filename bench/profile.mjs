// `npm run bench:profile`: where a Worker's CPU goes, from V8's sampling
// profiler in workerd (Miniflare's `inspectorPort`, Chrome DevTools protocol).
//
//   node bench/profile.mjs [--target=rust|js] [--part=loop|cold] [--n=5000]
//                          [--interval=25] [--top=40] [--build=DIR] [--out=FILE]
//
// loop: the in-process loop of bench/run.mjs (the Worker imported into a
//   driver, in-memory KV, stub origin), `n` requests after as many of warm-up.
// cold: a fresh workerd under Miniflare, profiling from before the first
//   guarded request to its answer: lazy compilation of JS and wasm shows up here.
// bare: the same in a bare workerd (bench/lib/bare.mjs: no Miniflare, KV in memory).
//
// Prints self time per function (wasm functions by name when the build keeps
// its name section: `cargo build --profile size-analysis` does, see
// bench/README.md) and per kind (wasm, JS glue, runtime builtins, GC, idle),
// and writes the raw profile as `.cpuprofile` (open it in Chrome DevTools).
// Sampling overhead makes everything slower: read shares, not microseconds.
import { writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { stage } from './lib/stage.mjs';
import { startBare } from './lib/bare.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(benchDir);
const arg = (name, dflt) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : dflt;
};
const O = {
  target: arg('target', 'rust'),
  part: arg('part', 'loop'),
  n: Number(arg('n', 5000)),
  interval: Number(arg('interval', 25)),
  top: Number(arg('top', 40)),
  build: path.resolve(root, arg('build', 'build')),
  out: arg('out', null),
};
if (!['rust', 'js'].includes(O.target)) throw new Error('--target: rust or js');
if (!['loop', 'cold', 'bare'].includes(O.part)) throw new Error('--part: loop, cold or bare');
const log = (s) => process.stderr.write(`[profile] ${s}\n`);

const INSPECTOR_PORT = 9300 + (process.pid % 500);
const USER = 'bench user@example.com';
const META = { roles: ['member', 'billing'], plan: 'pro', org: { id: 4711, name: 'Acme, Inc.' }, flags: ['beta'] };
const key = randomBytes(32);
// The origin of the cold part: a local HTTP server answering 22 bytes.
const origin = createServer((req, res) => res.end('hello from the origin\n'));
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const bindings = {
  ADMIN_KEY: randomBytes(24).toString('base64url'),
  TOKEN_KEYS: `k1:${key.toString('base64')}`,
  ORIGIN_URL: `http://127.0.0.1:${origin.address().port}`,
};

function miniflare(scriptPath, extra = {}) {
  return new Miniflare({
    modules: true,
    scriptPath,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    bindings,
    log: new Log(LogLevel.WARN),
    cf: { country: 'FR', colo: 'CDG', asn: 64512 },
    logRequests: false,
    port: 0,
    host: '127.0.0.1',
    ...extra,
  });
}

/** A minimal DevTools protocol session on the Worker's inspector. */
async function inspect(port) {
  let targets = [];
  for (let i = 0; i < 50 && targets.length === 0; i++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const t = targets.find((x) => x.webSocketDebuggerUrl) ?? targets[0];
  if (!t) throw new Error('no inspector target');
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 1;
  const waiting = new Map();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id && waiting.has(msg.id)) {
      const { resolve, reject } = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error)));
      else resolve(msg.result);
    }
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => ws.close() };
}

/** Self time per function and per kind, from a V8 `Profile`. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const us = dt[i + 1] ?? dt[i] ?? 0;
    self.set(n.id, (self.get(n.id) ?? 0) + us);
  }
  const fns = new Map();
  const kinds = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame;
    const name = cf.functionName || '(anonymous)';
    const kind = name.startsWith('(')
      ? name
      : cf.url.startsWith('wasm://') || /^\$?\w+::|^<|wasm-function/.test(name) || cf.url.endsWith('.wasm')
        ? 'wasm'
        : cf.url === ''
          ? 'runtime builtin'
          : 'JS';
    const label = `${name}${kind === 'JS' ? `  (${path.basename(cf.url)}:${cf.lineNumber + 1})` : ''}`;
    const f = fns.get(label) ?? { label, kind, us: 0 };
    f.us += us;
    fns.set(label, f);
    kinds.set(kind, (kinds.get(kind) ?? 0) + us);
    total += us;
  }
  const crates = new Map();
  for (const f of fns.values()) {
    if (f.kind !== 'wasm') continue;
    const c = crateOf(f.label);
    crates.set(c, (crates.get(c) ?? 0) + f.us);
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return { total, fns: [...fns.values()].sort((a, b) => b.us - a.us), kinds: sorted(kinds), crates: sorted(crates) };
}

/** The crate a demangled Rust symbol belongs to (`<T as Trait>` counts as T's). */
function crateOf(name) {
  const m = /^(?:<)?(?:&(?:mut )?)?(?:core::ptr::drop_in_place<)?([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::/.exec(name);
  if (m) return m[1];
  if (/^__wbindgen|^__wbg|^__externref|js-to-wasm|wasm-to-js/.test(name)) return 'wasm_bindgen';
  return name.startsWith('wasm-function') ? '(no names: build with --profile size-analysis)' : '(other)';
}

function print({ total, fns, kinds, crates }, perRequest) {
  const busy = total - (kinds.find(([k]) => k === '(idle)')?.[1] ?? 0);
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const per = (us) => `${(us / perRequest).toFixed(2).padStart(8)} µs`;
  console.log(`sampled ${(total / 1000).toFixed(1)} ms, busy ${(busy / 1000).toFixed(1)} ms; per request ÷ ${perRequest}`);
  console.log('\nby kind (share of busy):');
  for (const [k, us] of kinds) if (k !== '(idle)') console.log(`  ${pct(us)} ${per(us)}  ${k}`);
  if (crates.length) {
    console.log('\nwasm by crate (share of busy):');
    for (const [c, us] of crates.slice(0, 20)) console.log(`  ${pct(us)} ${per(us)}  ${c}`);
  }
  console.log(`\ntop ${O.top} functions by self time:`);
  for (const f of fns.filter((f) => f.kind !== '(idle)').slice(0, O.top)) {
    console.log(`  ${pct(f.us)} ${per(f.us)}  [${f.kind}] ${f.label.slice(0, 150)}`);
  }
}

async function mintSession() {
  const stageDir = path.join(benchDir, '.cache', `profile-${process.pid}`);
  const st = stage({ benchDir, buildDir: O.build, dir: stageDir });
  const mf = miniflare(st.load.rust, { kvNamespaces: ['SESSIONS'] });
  const url = await mf.ready;
  const res = await mf.dispatchFetch(new URL('/auth/admin/sessions', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${bindings.ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId: USER, label: 'bench', meta: META }),
  });
  if (res.status !== 201) throw new Error(`minting answered ${res.status}: ${await res.text()}`);
  const { token, session } = await res.json();
  const record = await (await mf.getKVNamespace('SESSIONS')).get(`s:${session.id}`);
  await mf.dispose();
  return { st, stageDir, token, id: session.id, record };
}

/** The profile of what `run()` makes the Worker do, sampled over its inspector. */
async function profiled(run) {
  const insp = await inspect(INSPECTOR_PORT);
  try {
    await insp.send('Profiler.enable');
    await insp.send('Profiler.setSamplingInterval', { interval: O.interval });
    await insp.send('Profiler.start');
    await run();
    return (await insp.send('Profiler.stop')).profile;
  } finally {
    insp.close();
  }
}

/** The bench's guarded request with the session's cookie; logs its status. */
async function firstRequest(fetchIt, token) {
  const res = await fetchIt('/dashboard?tab=1', {
    headers: { cookie: `theme=dark; __Host-session=${token}`, accept: 'text/html', 'user-agent': 'edge-session-bench/1' },
  });
  await res.text();
  log(`first request answered ${res.status}`);
}

async function profileLoop({ st, token, id, record }) {
  const mf = miniflare(st.loop[O.target], { inspectorPort: INSPECTOR_PORT });
  try {
    const url = await mf.ready;
    const post = async (p, body) => {
      const r = await mf.dispatchFetch(new URL(p, url), { method: 'POST', body: JSON.stringify(body) });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${p} answered ${r.status}: ${text}`);
      return JSON.parse(text);
    };
    await post('/seed', { key: `s:${id}`, value: record });
    const warm = await post(`/run?n=${O.n}`, { token });
    if (warm.statuses['200'] !== O.n) throw new Error(`not every answer was 200: ${JSON.stringify(warm.statuses)}`);
    return { profile: await profiled(() => post(`/run?n=${O.n}`, { token })), perRequest: O.n };
  } finally {
    await mf.dispose();
  }
}

async function profileCold({ st, token, id, record }) {
  const mf = miniflare(st.load[O.target], { kvNamespaces: ['SESSIONS'], inspectorPort: INSPECTOR_PORT });
  try {
    const url = await mf.ready;
    await (await mf.getKVNamespace('SESSIONS')).put(`s:${id}`, record);
    const profile = await profiled(() => firstRequest((p, init) => mf.dispatchFetch(new URL(p, url), init), token));
    return { profile, perRequest: 1 };
  } finally {
    await mf.dispose();
  }
}

async function profileBare({ st, token, id, record }) {
  const seed = JSON.stringify({ key: `s:${id}`, value: record });
  const s = await startBare({ ...st.bare[O.target], bindings: { ...bindings, SEED: seed }, args: [`--inspector-addr=127.0.0.1:${INSPECTOR_PORT}`] });
  try {
    const profile = await profiled(() => firstRequest((p, init) => fetch(`${s.url}${p}`, init), token));
    return { profile, perRequest: 1 };
  } finally {
    await s.stop();
  }
}

const minted = await mintSession();
log(`session minted; profiling ${O.target} ${O.part}`);
const parts = { loop: profileLoop, cold: profileCold, bare: profileBare };
let result;
try {
  result = await parts[O.part](minted);
} finally {
  rmSync(minted.stageDir, { recursive: true, force: true });
}
const { profile, perRequest } = result;
const out = O.out ?? path.join(benchDir, '.cache', `${O.target}-${O.part}.cpuprofile`);
writeFileSync(out, JSON.stringify(profile));
print(summarize(profile), perRequest);
log(`profile written to ${out}`);
origin.close();
