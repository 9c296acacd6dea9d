// The start-up warm-up (src/warm.rs) at workerd start-up, in Miniflare: it
// serves its request through the guard to its stand-in origin before the
// first real request, and a warm-up that fails, even one that crashes the
// wasm instance, leaves every request served. These run patched copies of
// build/glue.mjs, worker-build's bundle behind the entry build/index.js (the
// glue is minified: each patch asserts that it applied).
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

/** A copy of the build with `patch(glue)` applied, and a Miniflare on it collecting stdout. */
async function start(patch) {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-session-warm-'));
  copyFileSync(path.join(build, 'index_bg.wasm'), path.join(dir, 'index_bg.wasm'));
  copyFileSync(path.join(build, 'index.js'), path.join(dir, 'index.js'));
  writeFileSync(path.join(dir, 'glue.mjs'), patch(readFileSync(path.join(build, 'glue.mjs'), 'utf8')));
  let stdout = '';
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
      err.on('data', () => {});
    },
  });
  const url = await mf.ready;
  return {
    mf,
    url,
    stdout: () => stdout,
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

test('at start-up the warm-up reaches its stand-in origin through the guard, before any request', async () => {
  const w = await start((glue) =>
    replaceOnce(glue, '"x-warm-up":"origin"', '"x-warm-up":(console.log("WARM-UP REACHED ITS ORIGIN"),"origin")'),
  );
  try {
    // Nothing has been sent yet; stdout may lag the runtime a little.
    for (let i = 0; i < 50 && !w.stdout().includes('WARM-UP REACHED'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(w.stdout(), /WARM-UP REACHED ITS ORIGIN/);
    assert.equal(w.stdout().match(/WARM-UP REACHED/g).length, 1, 'once');
    const res = await w.mf.dispatchFetch(new URL('/dashboard', w.url));
    assert.equal(res.status, 401, 'a real request is the guard\'s, with the deployment\'s settings');
    await res.text();
    assert.equal(w.stdout().match(/WARM-UP REACHED/g).length, 1, 'a request does not run it again');
  } finally {
    await w.stop();
  }
});

test('a warm-up that crashes the wasm instance leaves every request served, and is not run again', async () => {
  // Reading the warm-up's request head throws (uncaught: the instance is
  // terminated and reinstantiated, which runs start() again).
  const w = await start((glue) => {
    const m = /function (\w+)\((\w+)\)\{let (\w+)=\2\.cf,/.exec(glue);
    assert.ok(m, 'the glue has the request-head reader');
    return replaceOnce(
      glue,
      m[0],
      `function ${m[1]}(${m[2]}){if(${m[2]}.url.startsWith("https://warm.invalid/")){console.log("WARM-UP THROWS");throw new Error("warm-up made to fail")}let ${m[3]}=${m[2]}.cf,`,
    );
  });
  try {
    for (let i = 0; i < 4; i++) {
      const res = await w.mf.dispatchFetch(new URL('/dashboard', w.url));
      await res.text();
      assert.equal(res.status, 401, `request ${i + 1} answered by the guard`);
    }
    assert.equal(w.stdout().match(/WARM-UP THROWS/g)?.length, 1, 'the warm-up ran once');
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
    const entry = /(\w+)\.prototype\.fetch=function\((\w+)\)\{return (\w+)\.call\(this,\2,this\.env,this\.ctx\)\}/.exec(glue);
    assert.ok(entry, 'the glue has the entrypoint fetch');
    const [all, cls, req, fn] = entry;
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
