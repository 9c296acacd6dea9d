// The Worker's entry module (build/index.js): worker-build's bundle is
// build/glue.mjs (scripts/build.sh renames it), whose default export wraps
// its Worker class in a Proxy that makes two more Proxies on every request
// (bench/README.md: about 10% of the guard's CPU per request). This module
// calls the same wasm `fetch` and `scheduled` exports directly, and keeps
// both recoveries of the glue: every call of an export still reinstantiates
// a terminated instance (the glue's own check), and a WebAssembly
// RuntimeError still marks the instance for reinstantiation before the next
// request, as the shim does (which here runs the shim's constructor, the one
// place that reinstantiates on it). Every decision stays in the wasm.
import Glue from './glue.mjs';

export * from './glue.mjs';

// `function (request) { return <wasm fetch>.call(this, request, this.env, this.ctx) }`
const fetchWasm = Glue.prototype.fetch;
const scheduledWasm = Glue.prototype.scheduled;
const state = globalThis.__worker_init_state;

function recover(env, ctx) {
  if (state.criticalError) new Glue(ctx, env);
}

function critical(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    console.error('Critical', e);
    state.criticalError = true;
  }
}

// One wasm export called as the shim calls it, with both recoveries.
function run(exported, arg, env, ctx) {
  recover(env, ctx);
  try {
    return exported.call({ env, ctx }, arg);
  } catch (e) {
    critical(e);
    throw e;
  }
}

export default {
  fetch(request, env, ctx) {
    return run(fetchWasm, request, env, ctx);
  },
  scheduled(event, env, ctx) {
    return run(scheduledWasm, event, env, ctx);
  },
};
