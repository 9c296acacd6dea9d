// The built size of the JS a browser loads: dist/*.js as tsc emits them, and
// minified bundles (esbuild, from the repo root's node_modules when present)
// of the whole package and of what a page imports (SessionClient + store).
// `node scripts/size.mjs` prints a table; `--json` prints the figures;
// `--check` also fails when a bundle is over its gzip budget in budget.json
// (run by `npm test`: a change that grows the client raises the budget in
// the same commit and says why).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(pkg, 'dist');
const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const rows = [];

const files = readdirSync(dist).filter((f) => f.endsWith('.js')).sort();
const all = files.map((f) => readFileSync(path.join(dist, f)));
rows.push({ id: 'emitted', what: `dist/*.js as emitted (${files.length} files, with comments)`, raw: all.reduce((n, b) => n + b.length, 0), gzip: all.reduce((n, b) => n + gz(b), 0) });

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('esbuild not found (npm install at the repo root): minified figures skipped');
}
if (esbuild) {
  const bundle = async (id, what, contents) => {
    const r = await esbuild.build({
      stdin: { contents, resolveDir: dist, loader: 'js' },
      bundle: true, minify: true, format: 'esm', target: 'es2022', write: false, legalComments: 'none',
    });
    const out = Buffer.from(r.outputFiles[0].contents);
    rows.push({ id, what, raw: out.length, gzip: gz(out) });
  };
  await bundle('everything', 'everything, minified (export * from index.js)', "export * from './index.js';");
  await bundle('page', 'a page: SessionClient + createSessionStore, minified', "export { SessionClient, SessionApiError } from './index.js'; export { createSessionStore } from './store.js';");
  await bundle('backend', 'a backend: AdminClient, minified', "export { AdminClient, SessionApiError } from './index.js';");
}

if (process.argv.includes('--check')) {
  const budget = JSON.parse(readFileSync(path.join(pkg, 'budget.json'), 'utf8'));
  let over = false;
  for (const [id, limit] of Object.entries(budget)) {
    const row = rows.find((r) => r.id === id);
    if (!row) {
      console.error(`[size] no figure for ${id} (is esbuild installed at the repo root?)`);
      process.exit(1);
    }
    const line = `${row.what}: ${row.gzip} B gzip, budget ${limit}`;
    console.log(`[size] ${row.gzip > limit ? 'OVER ' : ''}${line}`);
    over ||= row.gzip > limit;
  }
  if (over) {
    console.error('[size] the client grew past budget.json: shrink it, or raise the budget in the same commit and say why');
    process.exit(1);
  }
} else if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  for (const r of rows) console.log(`${r.what.padEnd(58)} ${String(r.raw).padStart(6)} B raw  ${String(r.gzip).padStart(6)} B gzip`);
}
