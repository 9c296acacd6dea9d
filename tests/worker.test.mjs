import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, startOrigin } from './support/worker.mjs';
import { createSession, expectProblem } from './support/common.mjs';

test('the built Worker answers a request under Miniflare', async () => {
  const origin = await startOrigin();
  const w = await startWorker({ bindings: { ORIGIN_URL: origin.url } });
  try {
    const { token } = await createSession(w);
    const res = await w.fetch('/', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  } finally {
    await w.dispose();
    await origin.close();
  }
});

test('without ORIGIN_URL on a local server, a guarded request says to set ORIGIN_URL instead of looping into the Worker', async () => {
  const w = await startWorker();
  try {
    const { token } = await createSession(w);
    const p = await expectProblem(await w.fetch('/app', { headers: { authorization: `Bearer ${token}` } }), 503, 'misconfigured');
    assert.match(p.detail, /ORIGIN_URL is not set/);
    await expectProblem(await w.fetch('/'), 503, 'misconfigured', 'also without a token');
    // The API still works.
    const me = await w.fetch('/auth/session', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
  } finally {
    await w.dispose();
  }
});
