// Schemathesis against the built Worker (issue 13): for each consistency mode,
// starts build/index.js in Miniflare (tests/support/worker.mjs) in front of a
// local origin on 127.0.0.1, points schemathesis (pinned, installed by
// scripts/setup.sh into .venv-schemathesis) at the OpenAPI document the Worker
// itself serves (GET /auth/openapi.json, contract: the API documents itself),
// with every check, a fixed seed, and tests/schemathesis/hooks.py giving each
// operation its credential. Then reads schemathesis's NDJSON report and
// prints, per mode, the operations tested, the cases run by phase and the
// checks run.
//
// Fails (exit 1) when schemathesis fails or errs in any mode, when an
// operation of the document was not tested, or when no case ran. Its last
// line is `schemathesis: N passed, M failed`, counting (mode, operation) pairs.
//
// Usage: node tests/schemathesis/run.mjs [eventual] [strong]
// Env: SCHEMATHESIS_MAX_EXAMPLES (default 100), SCHEMATHESIS_SEED (default 13).
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOrigin, startWorker } from '../support/worker.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const st = path.join(root, '.venv-schemathesis', 'bin', 'st');
const MAX_EXAMPLES = process.env.SCHEMATHESIS_MAX_EXAMPLES || '100';
const WORKERS = process.env.SCHEMATHESIS_WORKERS || '1';
const SEED = process.env.SCHEMATHESIS_SEED || '13';
const modes = process.argv.slice(2).length ? process.argv.slice(2) : ['eventual', 'strong'];

if (!existsSync(st)) {
  console.error(`[schemathesis] ${st} is missing: run bash scripts/setup.sh`);
  process.exit(1);
}

/** Runs `cmd args` with `env`, its output passed through; answers the exit code. */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (e) => {
      console.error(`[schemathesis] cannot start ${cmd}: ${e.message}`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** What the NDJSON report says: operations and their cases, checks, failures. */
function readReport(dir) {
  const file = readdirSync(dir).find((f) => f.endsWith('.ndjson'));
  if (!file) return null;
  const perOperation = new Map(); // label -> {cases, statuses}
  const phases = {};
  const checks = {};
  let selected = 0;
  let failures = 0;
  let errors = 0;
  for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line);
    const [kind] = Object.keys(event);
    const e = event[kind];
    if (kind === 'LoadingFinished') selected = e.statistic?.operations?.selected ?? 0;
    if (kind === 'NonFatalError' || kind === 'FatalError') errors++;
    if (kind !== 'ScenarioFinished') continue;
    const { recorder } = e;
    const cases = Object.keys(recorder.cases || {}).length;
    phases[e.phase] = (phases[e.phase] || 0) + cases;
    for (const list of Object.values(recorder.checks || {})) {
      for (const c of list) {
        checks[c.name] = (checks[c.name] || 0) + 1;
        if (c.status === 'failure') failures++;
      }
    }
    // Stateful scenarios chain several operations: credit each request to its operation.
    for (const [id, interaction] of Object.entries(recorder.interactions || {})) {
      const value = recorder.cases?.[id]?.value;
      const label = e.phase === 'stateful' && value ? `${value.method} ${value.path}` : recorder.label;
      const op = perOperation.get(label) || { cases: 0, phases: {}, statuses: {} };
      op.cases++;
      op.phases[e.phase] = (op.phases[e.phase] || 0) + 1;
      const status = interaction.response?.status_code ?? 'none';
      op.statuses[status] = (op.statuses[status] || 0) + 1;
      perOperation.set(label, op);
    }
  }
  return { selected, perOperation, phases, checks, failures, errors };
}

const documented = (doc) => Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item)
  .filter((m) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(m))
  .map((m) => `${m.toUpperCase()} ${p}`));

let passed = 0;
let failed = 0;
for (const mode of modes) {
  const started = Date.now();
  const origin = await startOrigin();
  // With an assertion key, so that the JWKS it serves has one to check against its schema.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ASSERTION_KEYS = `a1:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}`;
  // The service's rate limits bound, so that every admin call goes through
  // them, with limits the run never reaches: schemathesis sends wrong admin
  // keys from one address (ignored_auth), and wrangler.toml's 10 a minute
  // would answer every later call 429 (documented, but then nothing else is
  // tested). tests/policy.test.mjs checks the 429s themselves.
  const unreached = { simple: { limit: 1_000_000, period: 60 } };
  const ratelimits = { RL_ADMIN: unreached, RL_CREATE: unreached };
  const w = await startWorker({ strong: mode === 'strong', bindings: { ORIGIN_URL: origin.url, ASSERTION_KEYS }, ratelimits });
  const reportDir = mkdtempSync(path.join(tmpdir(), `schemathesis-${mode}-`));
  let code;
  let operations = [];
  try {
    const served = await w.fetch('/auth/openapi.json');
    operations = documented(await served.json());
    console.log(`[schemathesis] ${mode}: Worker at ${w.base}, ${operations.length} operations in the served openapi.json`);
    code = await run(st, [
      '--config-file', path.join(here, 'schemathesis.toml'),
      'run', `${w.base}/auth/openapi.json`,
      '--url', w.base,
      // Every operation, GET /auth/openapi.json included (schemathesis leaves
      // out the one serving the document unless a filter names it).
      '--include-path-regex', '^/auth/',
      '--checks', 'all',
      '--seed', SEED,
      '--max-examples', MAX_EXAMPLES,
      '--workers', WORKERS,
      '--generation-database', 'none', // every run starts from the seed alone
      '--request-timeout', '30',
      '--no-color',
      '--report', 'ndjson', '--report-dir', reportDir,
    ], {
      SCHEMATHESIS_HOOKS: 'hooks',
      PYTHONPATH: here,
      EDGE_SESSION_URL: w.base,
      EDGE_SESSION_ADMIN_KEY: w.env.ADMIN_KEY,
      PYTHONDONTWRITEBYTECODE: '1',
    });
  } finally {
    await w.dispose();
    await origin.close();
  }
  const report = readReport(reportDir);
  rmSync(reportDir, { recursive: true, force: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!report) {
    console.log(`[schemathesis] ${mode}: no report (exit ${code})`);
    failed += operations.length || 1;
    continue;
  }
  const untested = operations.filter((op) => !(report.perOperation.get(op)?.cases > 0));
  const totalCases = Object.values(report.phases).reduce((a, b) => a + b, 0);
  console.log(`[schemathesis] ${mode}: exit ${code}, ${report.perOperation.size} operations tested of ${operations.length}, ${totalCases} cases (${Object.entries(report.phases).map(([k, v]) => `${k} ${v}`).join(', ')}), ${report.failures} check failures, ${report.errors} errors, ${seconds} s`);
  console.log(`[schemathesis] ${mode}: checks run: ${Object.entries(report.checks).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  for (const op of operations) {
    const o = report.perOperation.get(op);
    console.log(`[schemathesis] ${mode}:   ${op}: ${o ? `${o.cases} cases (${Object.entries(o.phases).map(([k, v]) => `${k} ${v}`).join(', ')}), statuses ${JSON.stringify(o.statuses)}` : 'NOT TESTED'}`);
  }
  const ok = code === 0 && report.errors === 0 && untested.length === 0 && totalCases > 0;
  if (ok) passed += operations.length;
  else {
    failed += Math.max(1, untested.length + (code === 0 ? 0 : 1));
    if (untested.length) console.log(`[schemathesis] ${mode}: not tested: ${untested.join(', ')}`);
  }
}
console.log(`schemathesis: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
