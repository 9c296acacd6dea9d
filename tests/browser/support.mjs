// What the browser tests share: the demo origin (examples/demo) on a free
// port behind the built Worker in Miniflare, with the demo's configuration,
// and headless Chromium from Debian's package (/usr/bin/chromium).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startWorker } from '../support/worker.mjs';
import { startDemo } from '../../examples/demo/server.mjs';
import { workerVars } from '../../examples/demo/config.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Where the tests write their screenshots (gitignored). */
export const SCREENSHOTS = path.join(root, 'tests', 'browser', 'screenshots');

/**
 * Starts the demo origin, the Worker in front of it and a browser. Answers
 * `{ base, worker, browser, close }`; `close()` stops all three (call it in a
 * finally or an `after`). `fresh`: the seconds of the demo's sensitive page
 * rule (examples/demo/config.mjs; 300 by default).
 */
export async function startStack({ fresh } = {}) {
  for (const f of [path.join(root, 'build', 'index.js'), path.join(root, 'client', 'dist', 'index.js'), path.join(root, 'origin', 'dist', 'index.js')]) {
    if (!existsSync(f)) {
      throw new Error(`${f} is missing: run \`npm run build\`, \`npm --prefix client run build\` and \`npm --prefix origin run build\` first`);
    }
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run setup\` (installs Debian's chromium)`);
  const started = [];
  const close = async () => {
    for (const stop of started.reverse()) await stop().catch(() => {});
  };
  try {
    // The Worker's origins, the only ones the demo's forms may come from:
    // known once the Worker is up (app.test: see below).
    const origins = [];
    const demo = await startDemo({ port: 0, origins, fresh });
    started.push(() => demo.close());
    // The demo's vars (IDENTITY_HEADERS=assertion) with a signing key of this run's.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ASSERTION_KEYS = `demo:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}`;
    const worker = await startWorker({ bindings: { ...workerVars(demo.url, { fresh }), ASSERTION_KEYS } });
    started.push(() => worker.dispose());
    origins.push(new URL(worker.base).origin, new URL(worker.base.replace('127.0.0.1', 'app.test')).origin);
    demo.setWorkerUrl(worker.base);
    // app.test: a host name other than localhost / 127.0.0.1 that reaches the same Worker.
    const browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--host-resolver-rules=MAP app.test 127.0.0.1'],
    });
    started.push(() => browser.close());
    return { base: worker.base, demo, worker, browser, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
