// Starts the built Worker (build/index.js) in Miniflare with a KV namespace
// bound as SESSIONS, and a local HTTP origin the guard can forward to.
import { Miniflare } from 'miniflare';
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
 * Starts the Worker. `bindings` are vars and secrets (strings); `kvPersist`
 * keeps KV data in a directory so a second Worker can reuse it.
 */
export async function startWorker({ bindings = {}, kvPersist, kvNamespaces = ['SESSIONS'] } = {}) {
  const secrets = randomSecrets();
  const env = { ...secrets, ...bindings };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const mf = new Miniflare({
    modules: true,
    scriptPath: path.join(root, 'build', 'index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-01',
    kvNamespaces,
    kvPersist,
    bindings: env,
  });
  const url = await mf.ready;
  const base = url.href.replace(/\/$/, '');
  return {
    mf,
    env,
    base,
    fetch: (p, init) => mf.dispatchFetch(base + p, init),
    kv: () => mf.getKVNamespace('SESSIONS'),
    dispose: () => mf.dispose(),
  };
}

/**
 * A local origin on 127.0.0.1 that records what it received and answers with
 * what the test's `respond(req, body)` returns ({status, headers, body}).
 */
export async function startOrigin(respond = () => ({})) {
  const received = [];
  const server = createServer((req, res) => {
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
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
