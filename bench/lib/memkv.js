// An in-memory stand-in for a Workers KV namespace, for the in-process loop
// (bench/lib/loop-driver.js). Same method names and answer shapes as the
// binding: get / getWithMetadata / put / delete / list, each async.
export function memoryKv() {
  const map = new Map(); // key -> {value: string, metadata, expiration}
  const counts = { get: 0, getWithMetadata: 0, put: 0, delete: 0, list: 0 };
  const typed = (value, options) => {
    const type = typeof options === 'string' ? options : options?.type || 'text';
    if (value === null || type === 'text') return value;
    if (type === 'json') return JSON.parse(value);
    const bytes = new TextEncoder().encode(value);
    if (type === 'arrayBuffer') return bytes.buffer;
    if (type === 'stream') return new Blob([bytes]).stream();
    return value;
  };
  return {
    map,
    counts,
    async get(key, options) {
      counts.get++;
      const e = map.get(key);
      return typed(e ? e.value : null, options);
    },
    async getWithMetadata(key, options) {
      counts.getWithMetadata++;
      const e = map.get(key);
      return { value: typed(e ? e.value : null, options), metadata: e ? e.metadata ?? null : null, cacheStatus: null };
    },
    async put(key, value, options = {}) {
      counts.put++;
      map.set(key, { value: String(value), metadata: options.metadata ?? null });
    },
    async delete(key) {
      counts.delete++;
      map.delete(key);
    },
    async list(options = {}) {
      counts.list++;
      const prefix = options.prefix || '';
      const limit = options.limit || 1000;
      const names = [...map.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = options.cursor ? Number(options.cursor) : 0;
      const page = names.slice(start, start + limit);
      const complete = start + limit >= names.length;
      return {
        keys: page.map((name) => ({ name, metadata: map.get(name).metadata ?? undefined })),
        list_complete: complete,
        cursor: complete ? undefined : String(start + limit),
        cacheStatus: null,
      };
    },
  };
}
