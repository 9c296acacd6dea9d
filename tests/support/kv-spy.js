// A wrapped binding standing in for the SESSIONS KV namespace (Miniflare
// `wrappedBindings`). Miniflare loads this module into the Worker's own
// isolate and calls the default export once with this wrapper's bindings:
// REAL, the real namespace, and CTL, a service binding to a function of the
// Node test, which counts every call and may tell it to fail. The Rust
// `worker` crate finds KV's methods by name, so a plain object will do.
export default function (env) {
  const kv = env.REAL;
  const report = async (phase, op, args) => {
    const key = typeof args[0] === 'string' ? args[0] : null;
    const res = await env.CTL.fetch('http://ctl/kv', { method: 'POST', body: JSON.stringify({ phase, op, key }) });
    const answer = await res.json();
    if (answer.fail) throw new Error(answer.fail);
  };
  const wrap = (op) => async (...args) => {
    await report('before', op, args);
    try {
      return await kv[op](...args);
    } finally {
      await report('after', op, args);
    }
  };
  return {
    get: wrap('get'),
    getWithMetadata: wrap('getWithMetadata'),
    put: wrap('put'),
    delete: wrap('delete'),
    list: wrap('list'),
  };
}
