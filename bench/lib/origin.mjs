// The benchmark's origin, a child process of bench/run.mjs: a Node HTTP
// server on 127.0.0.1 answering every request with a small fixed body.
// GET /__last answers the method, URL and headers of the last other request
// (to check what a guard forwarded).
import { createServer } from 'node:http';

const BODY = 'hello from the origin\n';
let last = null;
const server = createServer((req, res) => {
  if (req.url === '/__last') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(last));
    return;
  }
  if (process.env.RECORD === '1' || !last) last = { method: req.method, url: req.url, headers: req.headers };
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', url: `http://127.0.0.1:${server.address().port}` }));
process.on('message', (m) => {
  if (m.cmd === 'record') {
    process.env.RECORD = m.on ? '1' : '0';
    if (m.on) last = null;
    process.send({ id: m.id, result: null });
  }
});
process.on('disconnect', () => process.exit(0));
