// The scheduled (cron) handler: index entries whose session is gone are
// removed, live ones kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startWorker } from './support/worker.mjs';

const b64url = (s) => Buffer.from(s, 'utf8').toString('base64url');

test('the cron run removes index entries of sessions that are gone and keeps live ones', async () => {
  const w = await startWorker();
  try {
    const admin = { authorization: `Bearer ${w.env.ADMIN_KEY}`, 'content-type': 'application/json' };
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const res = await w.fetch('/auth/admin/sessions', { method: 'POST', headers: admin, body: JSON.stringify({ userId: 'carol' }) });
      assert.equal(res.status, 201);
      ids.push((await res.json()).session.id);
    }
    const kv = await w.kv();
    const userPrefix = `u:${b64url('carol')}:`;
    const { keys } = await kv.list({ prefix: userPrefix });
    assert.equal(keys.length, 3);

    // An index entry whose session record never existed, made an hour ago
    // (older than the cleanup's grace for eventually consistent KV).
    const orphanId = randomBytes(32).toString('base64url');
    const hourAgo = Date.now() - 3600_000;
    const metadata = { ...keys[0].metadata, ca: hourAgo, ls: hourAgo };
    await kv.put(`${userPrefix}${orphanId}`, '', { metadata, expirationTtl: 3600 });

    const listed = async () => {
      const res = await w.fetch('/auth/admin/users/carol/sessions', { headers: admin });
      return (await res.json()).sessions.map((s) => s.id).sort();
    };
    assert.deepEqual(await listed(), [...ids, orphanId].sort(), 'listings read only the index');

    const worker = await w.mf.getWorker();
    const result = await worker.scheduled({ cron: '*/15 * * * *' });
    assert.equal(result.outcome, 'ok');

    assert.equal(await kv.get(`${userPrefix}${orphanId}`), null, 'the orphan is gone');
    assert.deepEqual(await listed(), [...ids].sort(), 'live sessions stay');
    for (const id of ids) assert.notEqual(await kv.get(`s:${id}`), null);
  } finally {
    await w.dispose();
  }
});
