// Starts the built Worker (a snapshot of ../build in .cache/build) in
// Miniflare, with the SESSIONS KV namespace, like the root suites'
// tests/support/worker.mjs (miniflare resolves from the repo root's
// node_modules).
import { Miniflare } from 'miniflare';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { snapshotBuild, target } from '../../scripts/snapshot-build.mjs';

if (!existsSync(path.join(target, 'index.js'))) snapshotBuild();

export function randomSecrets() {
  return {
    ADMIN_KEY: randomBytes(24).toString('base64url'),
    TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  };
}

/**
 * `bindings`: vars and secrets (a value `undefined` removes the default
 * secret); `kvNamespaces: []` starts it without SESSIONS; `ratelimits`: Rate
 * Limiting bindings as Miniflare takes them.
 * Answers { base, env, fetch, kv, dispose }: `fetch(url, init)` sends through
 * Miniflare (a fetch-compatible function to inject into the client).
 */
export async function startWorker({ bindings = {}, kvNamespaces = ['SESSIONS'], ratelimits = {} } = {}) {
  const env = { ...randomSecrets(), ...bindings };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const mf = new Miniflare({
    name: 'edge-session',
    modules: true,
    scriptPath: path.join(target, 'index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    bindings: env,
    kvNamespaces,
    ratelimits,
  });
  const url = await mf.ready;
  const base = url.href.replace(/\/$/, '');
  return {
    mf,
    env,
    base,
    /** fetch-compatible: absolute URL or Request, through Miniflare. */
    fetch: (input, init) => mf.dispatchFetch(input instanceof Request ? input.url : String(input), init),
    kv: () => mf.getKVNamespace('SESSIONS'),
    dispose: () => mf.dispose(),
  };
}
