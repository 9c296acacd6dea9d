import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './support/worker.mjs';

test('the built Worker answers a request under Miniflare', async () => {
  const w = await startWorker();
  try {
    const res = await w.fetch('/');
    assert.ok(res.status < 500, `status ${res.status}`);
    await res.arrayBuffer();
  } finally {
    await w.dispose();
  }
});
