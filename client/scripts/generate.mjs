// Generates src/schema.ts from ../openapi.json with openapi-typescript.
//   node scripts/generate.mjs          writes src/schema.ts
//   node scripts/generate.mjs --check  regenerates into a temporary file and
//                                      fails (exit 1) when it differs from the
//                                      committed src/schema.ts (drift check for CI)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
// --spec FILE: another document (the drift test uses it).
const specArg = process.argv.indexOf('--spec');
const spec = specArg > 0 ? path.resolve(process.argv[specArg + 1]) : path.resolve(pkg, '..', 'openapi.json');
const committed = path.join(pkg, 'src', 'schema.ts');
const bin = path.join(pkg, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
// `type: object` without properties (meta) becomes Record<string, unknown>,
// not Record<string, never>.
const FLAGS = ['--empty-objects-unknown'];

function generate(out) {
  execFileSync(process.execPath, [bin, spec, '-o', out, ...FLAGS], { stdio: ['ignore', 'ignore', 'inherit'] });
}

if (!process.argv.includes('--check')) {
  generate(committed);
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), 'edge-session-schema-'));
try {
  const fresh = path.join(dir, 'schema.ts');
  generate(fresh);
  const want = readFileSync(fresh, 'utf8');
  const have = existsSync(committed) ? readFileSync(committed, 'utf8') : '';
  if (want !== have) {
    const a = have.split('\n');
    const b = want.split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    console.error(`src/schema.ts is out of date with ${path.relative(pkg, spec)} (first difference at line ${i + 1}):`);
    console.error(`  committed: ${JSON.stringify(a[i] ?? '<end of file>')}`);
    console.error(`  generated: ${JSON.stringify(b[i] ?? '<end of file>')}`);
    console.error('Run `npm run generate` in client/ and commit the result.');
    process.exit(1);
  }
  console.log(`src/schema.ts matches ${path.relative(pkg, spec)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
