// The entry module (src/entry.js, built as build/index.js in front of
// worker-build's build/glue.mjs): requests reach the wasm without the
// glue's Proxies, and a WebAssembly RuntimeError (what a panic becomes)
// still gets the instance reinstantiated before the next request, as
// worker-build's own entry does; the futures of the wasm never call
// queueMicrotask (src/microtasks.rs). These run patched copies of the glue
// (minified: each patch asserts that it applied).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Miniflare, Log, LogLevel } from 'miniflare';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const build = path.join(root, 'build');

/** A copy of the build with `patch(glue)` applied, and a Miniflare on it collecting its output. */
async function start(patch) {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-session-entry-'));
  copyFileSync(path.join(build, 'index_bg.wasm'), path.join(dir, 'index_bg.wasm'));
  copyFileSync(path.join(build, 'index.js'), path.join(dir, 'index.js'));
  writeFileSync(path.join(dir, 'glue.mjs'), patch(readFileSync(path.join(build, 'glue.mjs'), 'utf8')));
  let stdout = '';
  let stderr = '';
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dir,
    scriptPath: path.join(dir, 'index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['SESSIONS'],
    bindings: { TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`, ORIGIN_URL: 'http://127.0.0.1:9' },
    log: new Log(LogLevel.NONE),
    handleRuntimeStdio(out, err) {
      out.on('data', (c) => (stdout += c));
      err.on('data', (c) => (stderr += c));
    },
  });
  const url = await mf.ready;
  return {
    mf,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `glue` with `from` replaced once by `to`; fails when `from` is not there exactly once. */
function replaceOnce(glue, from, to) {
  const parts = glue.split(from);
  assert.equal(parts.length, 2, `the glue holds ${JSON.stringify(from)} exactly once`);
  return parts.join(to);
}

/** The glue's `Worker.prototype.fetch = function (req) {…}`: [all, class, req, wasm fetch]. */
function entryFetch(glue) {
  const entry = /(\w+)\.prototype\.fetch=function\((\w+)\)\{return (\w+)\.call\(this,\2,this\.env,this\.ctx\)\}/.exec(glue);
  assert.ok(entry, 'the glue has the entrypoint fetch');
  return entry;
}

test('a RuntimeError out of the wasm fetch reinstantiates the wasm before the next request', async () => {
  // `/__trap` throws what a trapping wasm throws, from the export's call.
  const w = await start((glue) => {
    const [all, cls, req, fn] = entryFetch(glue);
    return replaceOnce(
      glue,
      all,
      `${cls}.prototype.fetch=function(${req}){if(new URL(${req}.url).pathname==="/__trap")throw new WebAssembly.RuntimeError("unreachable");return ${fn}.call(this,${req},this.env,this.ctx)}`,
    );
  });
  try {
    const first = await w.mf.dispatchFetch(new URL('/dashboard', w.url));
    await first.text();
    assert.equal(first.status, 401);
    const trap = await w.mf.dispatchFetch(new URL('/__trap', w.url));
    await trap.text();
    assert.equal(trap.status, 500, 'the trap fails its own request');
    assert.doesNotMatch(w.stdout(), /Reinitializing/);
    for (let i = 0; i < 2; i++) {
      const res = await w.mf.dispatchFetch(new URL('/dashboard', w.url));
      await res.text();
      assert.equal(res.status, 401, `request ${i + 1} after the trap is served`);
    }
    for (let i = 0; i < 50 && !w.stdout().includes('Reinitializing'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(w.stdout().match(/Reinitializing Wasm application/g)?.length, 1, 'reinstantiated once');
    assert.match(w.stderr() + w.stdout(), /Critical/);
  } finally {
    await w.stop();
  }
});

test("the futures' queue of the wasm never calls queueMicrotask, and the global is left as it was", async () => {
  // A first module counts queueMicrotask calls before the Worker's module runs.
  const w = await start((glue) => {
    const count =
      'const __edgeSessionQm=globalThis.queueMicrotask;globalThis.__qmCalls=0;' +
      'globalThis.queueMicrotask=function(f){globalThis.__qmCalls++;return __edgeSessionQm.call(globalThis,f)};';
    const [all, cls, req, fn] = entryFetch(glue);
    return (
      count +
      replaceOnce(
        glue,
        all,
        `${cls}.prototype.fetch=async function(${req}){if(new URL(${req}.url).pathname==="/__qm")return new Response(String(globalThis.__qmCalls)+" "+(globalThis.queueMicrotask!==undefined));return ${fn}.call(this,${req},this.env,this.ctx)}`,
      )
    );
  });
  try {
    for (let i = 0; i < 3; i++) {
      const res = await w.mf.dispatchFetch(new URL('/dashboard', w.url));
      await res.text();
      assert.equal(res.status, 401);
    }
    const seen = await (await w.mf.dispatchFetch(new URL('/__qm', w.url))).text();
    assert.equal(seen, '0 true', 'no queueMicrotask call from the wasm, and the global is back');
  } finally {
    await w.stop();
  }
});
