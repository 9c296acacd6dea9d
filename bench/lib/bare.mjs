// A Worker in a bare `workerd serve` (the binary Miniflare ships in
// node_modules), configured by a capnp file written here: what production
// runs, without Miniflare's entry Worker, proxies and KV simulator in front.
// KV is an in-memory namespace inside the isolate (bench/lib/bare-driver.js).
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { cpu } from './proc.mjs';

const require = createRequire(import.meta.url);

/** The workerd binary of the installed Miniflare. */
export function workerdBinary() {
  return require.resolve('@cloudflare/workerd-linux-64/bin/workerd');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Starts workerd on `dir` holding `modules` ([{name, file, type: 'esModule'|'wasm'}],
 * the first is the main module) and string `bindings`. Ready when its socket
 * accepts a connection (no request is sent before the measured one).
 * `v8Flags` (diagnosis only: Cloudflare sets its own) go to workerd's V8.
 */
export async function startBare({ dir, modules, bindings, args = [], v8Flags = [] }) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const text = (v) => JSON.stringify(String(v)); // a capnp text literal
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
  v8Flags = [${v8Flags.map(text).join(', ')}],
);
const worker :Workerd.Worker = (
  modules = [${modules.map((m) => `(name = ${text(m.name)}, ${m.type} = embed ${text(path.relative(dir, m.file))})`).join(', ')}],
  compatibilityDate = "2026-04-01",
  bindings = [${Object.entries(bindings).map(([k, v]) => `(name = ${text(k)}, text = ${text(v)})`).join(', ')}],
  globalOutbound = "net",
);
`;
  writeFileSync(path.join(dir, 'config.capnp'), config);
  const t0 = performance.now();
  const child = spawn(workerdBinary(), ['serve', '--experimental', ...args, 'config.capnp'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode} (config in ${dir})`);
    if (await canConnect(port)) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const readyMs = performance.now() - t0;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    readyMs,
    cpuAtReady: cpu(child.pid),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
