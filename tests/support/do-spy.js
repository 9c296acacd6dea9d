// A wrapped binding standing in for the USER_SESSIONS Durable Object
// namespace (Miniflare `wrappedBindings`), loaded into the Worker's isolate:
// every stub fetch is reported to the Node test through CTL, which counts
// it and may tell it to fail (an owner that cannot be reached). The Rust
// `worker` crate checks the binding's constructor name, hence the class name.
class DurableObjectNamespace {
  constructor(env) {
    this.env = env;
    this.inner = env.INNER;
  }
  idFromName(name) { return this.inner.idFromName(name); }
  idFromString(id) { return this.inner.idFromString(id); }
  newUniqueId(options) { return this.inner.newUniqueId(options); }
  get(id, options) { return this.wrap(this.inner.get(id, options)); }
  getByName(name, options) { return this.wrap(this.inner.getByName(name, options)); }
  wrap(stub) {
    const env = this.env;
    return {
      id: stub.id,
      name: stub.name,
      async fetch(input, init) {
        const res = await env.CTL.fetch('http://ctl/do', { method: 'POST', body: JSON.stringify({ phase: 'before', op: 'fetch' }) });
        const answer = await res.json();
        if (answer.fail) throw new Error(answer.fail);
        return stub.fetch(input, init);
      },
    };
  }
}

export default function (env) {
  return new DurableObjectNamespace(env);
}
