// The Worker under test in a bare workerd (bench/lib/bare.mjs): no Miniflare
// in front of it, so nothing but workerd itself and this thin driver. The
// driver passes each request straight to the Worker's fetch handler with an
// env of the string bindings plus `SESSIONS`, an in-memory KV namespace
// (bench/lib/memkv.js) holding the one session of the `SEED` binding
// (`{key, value}` as JSON). `fetch` is the platform's: the origin is real.
import target from './target.js';
import { memoryKv } from './memkv.js';

const isClass = typeof target === 'function';
let targetEnv = null;

function envFrom(env) {
  if (!targetEnv) {
    targetEnv = {};
    for (const [k, v] of Object.entries(env)) if (typeof v === 'string' && k !== 'SEED') targetEnv[k] = v;
    const kv = memoryKv();
    const { key, value } = JSON.parse(env.SEED);
    kv.map.set(key, { value, metadata: null });
    targetEnv.SESSIONS = kv;
  }
  return targetEnv;
}

export default {
  fetch(request, env, ctx) {
    const tenv = envFrom(env);
    return isClass ? new target(ctx, tenv).fetch(request) : target.fetch(request, tenv, ctx);
  },
};
