// The entry module (src/entry.js, built as build/index.js in front of
// worker-build's build/glue.mjs): requests reach the wasm without the
// glue's Proxies, and a WebAssembly RuntimeError (what a panic becomes)
// still gets the instance reinstantiated before the next request, as
// worker-build's own entry does. Runs a patched copy of the glue.
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

test('a RuntimeError out of the wasm fetch reinstantiates the wasm before the next request', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-session-entry-'));
  copyFileSync(path.join(build, 'index_bg.wasm'), path.join(dir, 'index_bg.wasm'));
  copyFileSync(path.join(build, 'index.js'), path.join(dir, 'index.js'));
  const glue = readFileSync(path.join(build, 'glue.mjs'), 'utf8');
  const entry = /(\w+)\.prototype\.fetch=function\((\w+)\)\{return (\w+)\.call\(this,\2,this\.env,this\.ctx\)\}/.exec(glue);
  assert.ok(entry, 'the glue has the entrypoint fetch');
  const [all, cls, req, fn] = entry;
  const patched = glue.split(all);
  assert.equal(patched.length, 2);
  // `/__trap` throws what a trapping wasm throws, from the export's call.
  writeFileSync(
    path.join(dir, 'glue.mjs'),
    patched.join(
      `${cls}.prototype.fetch=function(${req}){if(new URL(${req}.url).pathname==="/__trap")throw new WebAssembly.RuntimeError("unreachable");return ${fn}.call(this,${req},this.env,this.ctx)}`,
    ),
  );
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
  try {
    const url = await mf.ready;
    const first = await mf.dispatchFetch(new URL('/dashboard', url));
    await first.text();
    assert.equal(first.status, 401);
    const trap = await mf.dispatchFetch(new URL('/__trap', url));
    await trap.text();
    assert.equal(trap.status, 500, 'the trap fails its own request');
    assert.doesNotMatch(stdout, /Reinitializing/);
    for (let i = 0; i < 2; i++) {
      const res = await mf.dispatchFetch(new URL('/dashboard', url));
      await res.text();
      assert.equal(res.status, 401, `request ${i + 1} after the trap is served`);
    }
    for (let i = 0; i < 50 && !stdout.includes('Reinitializing'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(stdout.match(/Reinitializing Wasm application/g)?.length, 1, 'reinstantiated once');
    assert.match(stderr + stdout, /Critical/);
  } finally {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
