// A child process of bench/run.mjs serving one Worker in its own Miniflare,
// hence its own workerd process. Talks to the parent over IPC:
//   parent -> {id, cmd: 'kvPut'|'kvGet'|'dispose', ...}
//   child  -> {type: 'ready', url, pid, exe, readyMs, cpuAtReady} then {id, result|error}
// Options come as JSON in argv[2]: {name, scriptPath, bindings, kv}.
import { performance } from 'node:perf_hooks';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { cpu, findWorkerd } from './proc.mjs';

const opts = JSON.parse(process.argv[2]);
const t0 = performance.now();
const mf = new Miniflare({
  name: opts.name,
  modules: true,
  scriptPath: opts.scriptPath,
  modulesRules: [
    { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
    { type: 'CompiledWasm', include: ['**/*.wasm'] },
  ],
  compatibilityDate: '2026-04-01',
  bindings: opts.bindings,
  kvNamespaces: opts.kv ? ['SESSIONS'] : [],
  log: new Log(LogLevel.WARN),
  // A fixed request.cf: Miniflare would otherwise try to download one.
  cf: { country: 'FR', colo: 'CDG', asn: 64512 },
  logRequests: false,
  port: 0,
  host: '127.0.0.1',
});
const url = await mf.ready;
const readyMs = performance.now() - t0;
const workerd = findWorkerd(process.pid);
process.send({ type: 'ready', url: url.href.replace(/\/$/, ''), pid: workerd.pid, exe: workerd.exe, readyMs, cpuAtReady: cpu(workerd.pid) });

process.on('message', async (msg) => {
  try {
    let result = null;
    if (msg.cmd === 'kvPut') {
      await (await mf.getKVNamespace('SESSIONS')).put(msg.key, msg.value, msg.options);
    } else if (msg.cmd === 'kvGet') {
      result = await (await mf.getKVNamespace('SESSIONS')).get(msg.key);
    } else if (msg.cmd === 'dispose') {
      await mf.dispose();
      process.send({ id: msg.id, result: null });
      process.exit(0);
    }
    process.send({ id: msg.id, result });
  } catch (e) {
    process.send({ id: msg.id, error: String(e && e.stack || e) });
  }
});
process.on('disconnect', () => mf.dispose().finally(() => process.exit(0)));
