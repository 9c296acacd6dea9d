// `npm run dev` itself (scripts/dev.sh): started as a new user would, on free
// ports with its own local KV, then the printed curl lines run as printed and
// the demo opened in Chromium at the printed URL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, screenshot } from './support.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function portOpen(port) {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Pids of this test's dev.sh processes still alive (Linux /proc: its PORT in their environment). */
function leftovers() {
  const mine = `PORT=${port}\0`;
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(`\0${mine}`)
        && /dev\.sh|wrangler|workerd|server\.mjs/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
    } catch {
      return false; // gone meanwhile, or not ours to read
    }
  });
}

let dev;
let out = '';
let port;
let demoPort;
let persist;
let exited;

/** Resolves with the output once `re` matches it (rejects if dev.sh exits first). */
function waitFor(re, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${re} within ${ms} ms; output:\n${out}`)); }, ms);
    const check = () => { if (re.test(out)) { cleanup(); resolve(out); } };
    const gone = (code) => { cleanup(); reject(new Error(`dev.sh exited (${code}) before ${re}; output:\n${out}`)); };
    const cleanup = () => { clearTimeout(timer); dev.stdout.off('data', check); dev.off('exit', gone); };
    dev.stdout.on('data', check);
    dev.once('exit', gone);
    check();
  });
}

before(async () => {
  port = await freePort();
  demoPort = await freePort();
  persist = mkdtempSync(path.join(tmpdir(), 'edge-session-dev-'));
  dev = spawn('bash', ['scripts/dev.sh'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), DEMO_PORT: String(demoPort), PERSIST_TO: persist },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, stopped as a whole below
  });
  dev.stdout.setEncoding('utf8');
  dev.stderr.setEncoding('utf8');
  dev.stdout.on('data', (d) => { out += d; });
  dev.stderr.on('data', (d) => { out += d; });
  exited = new Promise((resolve) => dev.once('exit', (code, signal) => resolve({ code, signal })));
  // A build (when src/ changed since the last one) fits in this too.
  await waitFor(/Ctrl-C stops the Worker and the demo\./, 8 * 60_000);
});

const within = (p, ms, what) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

after(async () => {
  // Whatever a failed test left running: dev.sh's group, then any process of it left over.
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    try { process.kill(-dev.pid, 'SIGTERM'); } catch {}
    await within(exited, 10_000, 'dev.sh exits').catch(() => { try { process.kill(-dev.pid, 'SIGKILL'); } catch {} });
  }
  for (const pid of port ? leftovers() : []) { try { process.kill(Number(pid), 'SIGKILL'); } catch {} }
  dev?.stdout.destroy();
  dev?.stderr.destroy();
  if (persist) rmSync(persist, { recursive: true, force: true });
});

describe('npm run dev', () => {
  test('builds at most once, and prints the URL only once the demo answers through the Worker', async () => {
    const base = `http://127.0.0.1:${port}`;
    assert.ok((out.match(/building the Worker/g) || []).length <= 1, out);
    assert.doesNotMatch(out, /restarting build|changed, restarting/i, 'no second build by wrangler');
    const serving = out.indexOf('[dev] serving after');
    assert.ok(serving > 0, out);
    assert.ok(out.indexOf(`Open ${base}/`) > serving, 'the URL comes with the "serving" line, not before');
    assert.match(out, /\[dev\] serving after \d+\.\d s/);
    assert.doesNotMatch(out, /ENOTFOUND|Unable to fetch the `Request\.cf`/, 'no download of Request.cf (offline-safe)');
    // It said it serves: it does, at once.
    const home = await fetch(`${base}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /A session handler at the edge/);
    const guarded = await fetch(`${base}/app?x=1`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(guarded.status, 302);
    assert.equal(guarded.headers.get('location'), '/login?next=%2Fapp%3Fx%3D1');
  });

  test('the printed curl lines work as printed', async () => {
    // The first block creates a session with the admin key...
    const admin = /^ {4}(curl -s -X POST .*\/auth\/admin\/sessions \\\n.*\\\n.*)$/m.exec(out);
    assert.ok(admin, out);
    const created = JSON.parse(execFileSync('bash', ['-c', admin[1]], { encoding: 'utf8' }));
    assert.equal(created.session.userId, 'alice');
    assert.equal(created.session.label, 'curl');
    assert.match(created.token, /^es1\./);
    assert.equal(created.session.client.country, null, 'no placeholder country recorded');
    // ...the second extracts a token with node -e and lists its sessions.
    const self = /^ {4}(TOKEN=\$\([\s\S]*?\n {4}curl -s [^\n]*\/auth\/sessions [^\n]*)$/m.exec(out);
    assert.ok(self, out);
    const listed = JSON.parse(execFileSync('bash', ['-c', self[1].replace(/^ {4}/gm, '')], { encoding: 'utf8' }));
    assert.ok(listed.sessions.length >= 2, JSON.stringify(listed));
    assert.ok(listed.sessions.every((s) => s.userId === 'alice'));
    assert.equal(listed.sessions.filter((s) => s.current).length, 1);
  });

  test('the printed URL shows the demo in Chromium, and signing in works there', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
      const base = `http://127.0.0.1:${port}`;
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-session="signed-out"]');
      await Promise.all([page.waitForURL(`${base}/login`), page.click('a.button')]);
      await page.fill('#login-form input[name=user]', 'dev-user');
      await Promise.all([page.waitForURL(`${base}/app`), page.click('#login-form button[type=submit]')]);
      await page.waitForSelector('body[data-session="signed-in"]');
      assert.equal(await page.textContent('#origin-user'), 'dev-user');
      const [cookie] = await page.context().cookies();
      assert.equal(cookie?.name, '__Host-session');
      await screenshot(page, 'dev-app');
    } finally {
      await browser.close();
    }
  });

  test('stops everything on SIGTERM (Ctrl-C does the same)', async () => {
    process.kill(-dev.pid, 'SIGTERM');
    const { code, signal } = await within(exited, 15_000, 'dev.sh exits on SIGTERM');
    assert.ok(code === 143 || signal === 'SIGTERM', `exit ${code} ${signal}`);
    // Give the children a moment to go, then nothing listens on either port.
    for (let i = 0; i < 50 && ((await portOpen(port)) || (await portOpen(demoPort))); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await portOpen(port), false, 'wrangler stopped');
    assert.equal(await portOpen(demoPort), false, 'the demo origin stopped');
    for (let i = 0; i < 50 && leftovers().length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(leftovers(), [], 'no process of it left (the source watcher included)');
  });
});
