// Starting the benchmark's child processes and talking to them over IPC.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function start(script, args, env) {
  const child = fork(path.join(here, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  let next = 1;
  const waiting = new Map();
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    child.on('message', (m) => {
      if (m.type === 'ready') resolve(m);
      else if (waiting.has(m.id)) {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        m.error ? w.reject(new Error(m.error)) : w.resolve(m.result);
      }
    });
  });
  const call = (cmd, fields = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.send({ id, cmd, ...fields });
    });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await Promise.race([call('dispose'), exited]);
    } catch {}
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  return { child, ready, call, stop };
}

/** A Worker in its own Miniflare (own workerd). Resolves once it is ready. */
export async function startServer({ name, scriptPath, bindings, kv = true }) {
  const s = start('server.mjs', [JSON.stringify({ name, scriptPath, bindings, kv })]);
  const info = await s.ready;
  return { ...info, call: s.call, stop: s.stop, node: s.child };
}

export async function startOrigin() {
  const s = start('origin.mjs', []);
  const info = await s.ready;
  return { ...info, call: s.call, stop: () => { s.child.disconnect(); } };
}
