// No client-sent X-Session-* header reaches the origin, whatever bytes its
// name holds and however many a request carries (contract §6). Sent over a
// raw socket, since no HTTP client library writes such names; the origin
// records the exact bytes it gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startWorker } from './support/worker.mjs';
import { createSession, RULES } from './support/guard.mjs';

/** An origin on a raw socket: the exact bytes of every request head it got. */
async function startRawOrigin() {
  const heads = [];
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      heads.push(buf.subarray(0, end));
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    heads,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** `GET path` on a raw socket with `lines` (Buffers) as extra header lines: the status line. */
function rawGet(base, path, lines) {
  const { hostname, port, host } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0]));
    const crlf = Buffer.from('\r\n');
    socket.write(Buffer.concat([
      Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n`),
      ...lines.flatMap((l) => [l, crlf]),
      Buffer.from('Connection: close\r\n\r\n'),
    ]));
  });
}

/** Header names of a raw request head (bytes as latin1), lower-cased. */
function headerNames(head) {
  return head.toString('latin1').split('\r\n').slice(1).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
}

test('a name holding bytes outside ASCII (X-Session-User\\xff) is not forwarded', async () => {
  // workerd accepts such names and hands them to JS with U+FFFD for each
  // byte, so no delete by name matches them: the plan has the Worker
  // rebuild the headers, leaving out every name that is not a token.
  const origin = await startRawOrigin();
  const w = await startWorker({ bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES) } });
  try {
    const { token } = await createSession(w, { userId: 'alice' });
    const spoofs = [
      Buffer.from('X-Session-User\xff: admin', 'latin1'),
      Buffer.from('X-Session-Meta\xc2\xa0: eyJyb2xlcyI6WyJhZG1pbiJdfQ', 'latin1'),
      Buffer.from('x_session_id\x80: forged', 'latin1'),
    ];
    for (const [path, auth] of [['/public/x', []], ['/app/x', [Buffer.from(`Authorization: Bearer ${token}`)]]]) {
      const before = origin.heads.length;
      const status = await rawGet(w.base, path, [...spoofs, ...auth]);
      assert.match(status, / 200 /, `${path}: ${status}`);
      assert.equal(origin.heads.length, before + 1, `${path} forwarded once`);
      const names = headerNames(origin.heads.at(-1)).filter((n) => n.replace(/_/g, '-').startsWith('x-session-'));
      const ours = path === '/app/x' ? ['x-session-auth-time', 'x-session-id', 'x-session-meta', 'x-session-user'] : [];
      assert.deepEqual(names.sort(), ours, `${path}: client x-session-* names forwarded: ${JSON.stringify(names)}`);
    }
  } finally {
    await w.dispose();
    await origin.close();
  }
});

test('thousands of spoofed and unreadable headers: none forwarded, the request served', async () => {
  // More removals than MAX_DELETES take the one-pass rebuild, not a delete each.
  const origin = await startRawOrigin();
  const w = await startWorker({ bindings: { ORIGIN_URL: origin.url, GUARD_RULES: JSON.stringify(RULES) } });
  try {
    const { token } = await createSession(w, { userId: 'alice' });
    const lines = [];
    for (let i = 0; i < 1500; i++) {
      lines.push(Buffer.from(`X-Session-N${i}: forged`));
      lines.push(Buffer.from(`X-Junk-${i}: a\x01b`, 'latin1'));
    }
    lines.push(Buffer.from('X-Kept: yes'));
    lines.push(Buffer.from(`Authorization: Bearer ${token}`));
    const status = await rawGet(w.base, '/app/x', lines);
    assert.match(status, / 200 /, status);
    const names = headerNames(origin.heads.at(-1));
    assert.deepEqual(names.filter((n) => n.startsWith('x-session-')).sort(),
      ['x-session-auth-time', 'x-session-id', 'x-session-meta', 'x-session-user']);
    assert.equal(names.filter((n) => n.startsWith('x-junk-')).length, 0, 'unreadable headers forwarded');
    assert.ok(names.includes('x-kept'), 'an ordinary header was dropped');
    assert.ok(!names.includes('authorization'), 'the bearer token was forwarded');
  } finally {
    await w.dispose();
    await origin.close();
  }
});
