// The generated types follow openapi.json, and openapi.json is what the
// Worker serves.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PROBLEM_CODES } from '../dist/index.js';
import { startWorker } from './support/worker.mjs';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const specPath = path.resolve(pkg, '..', 'openapi.json');
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const script = path.join(pkg, 'scripts', 'generate.mjs');

test('src/schema.ts is what openapi-typescript makes of ../openapi.json', () => {
  execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' });
});

test('the check fails when the document changes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'edge-session-drift-'));
  try {
    const changed = structuredClone(spec);
    changed.components.schemas.Session.properties.extra = { type: 'string' };
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(changed));
    const r = spawnSync(process.execPath, [script, '--check', '--spec', file], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /out of date/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PROBLEM_CODES are the document\'s codes', () => {
  assert.deepEqual([...PROBLEM_CODES], spec.components.schemas.Problem.properties.code.enum);
});

test('the Worker serves this document at {prefix}/openapi.json', async () => {
  const w = await startWorker();
  try {
    const res = await w.fetch(`${w.base}/auth/openapi.json`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), spec);
  } finally {
    await w.dispose();
  }
});
