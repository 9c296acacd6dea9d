// The floor of the benchmark (bench/run.mjs): what any KV-backed guard pays
// at least. It finds the session id in the cookie or bearer token with no
// checks at all, makes the one KV read, and forwards the request to
// ORIGIN_URL unchanged. Not a guard: it verifies nothing.
export default {
  async fetch(request, env) {
    const auth = request.headers.get('authorization');
    let token = auth && auth.startsWith('Bearer ') ? auth.slice(7) : null;
    if (!token) {
      const m = /(?:^|;\s*)__Host-session=([^;]*)/.exec(request.headers.get('cookie') || '');
      token = m && m[1];
    }
    const id = token && token.split('.')[2];
    if (!id || (await env.SESSIONS.get(`s:${id}`)) === null) {
      return new Response('unauthorized', { status: 401 });
    }
    const url = new URL(request.url);
    return fetch(new URL(url.pathname + url.search, env.ORIGIN_URL), {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    });
  },
};
