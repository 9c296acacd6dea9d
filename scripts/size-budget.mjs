// The wasm's size budget (checked by `npm test` after the build): the built
// build/index_bg.wasm, raw and gzip -9, against bench/budget.json. A change
// that must grow the wasm raises the budget in the same commit and says why
// in its message; one that shrinks it may lower the budget. The budget is the
// size measured after the last merge, rounded up to the next KiB: measure it
// on the merged tree, since two branches that each fit can together exceed it.
//
//   node scripts/size-budget.mjs          check (exit 1 when over)
//   node scripts/size-budget.mjs --show   print the figures only
import { readFileSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const budget = JSON.parse(readFileSync(path.join(root, 'bench/budget.json'), 'utf8'));
const wasm = readFileSync(path.join(root, 'build/index_bg.wasm'));
const measured = {
  wasmRawBytes: wasm.length,
  wasmGzipBytes: gzipSync(wasm, { level: constants.Z_BEST_COMPRESSION }).length,
};

let over = false;
for (const [name, bytes] of Object.entries(measured)) {
  const limit = budget[name];
  if (typeof limit !== 'number') throw new Error(`bench/budget.json has no number ${name}`);
  const line = `${name}: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB), budget ${limit} (${((bytes / limit) * 100).toFixed(1)}%)`;
  if (bytes > limit) {
    over = true;
    console.log(`[size] OVER ${line}`);
  } else {
    console.log(`[size] ${line}`);
  }
}
if (over && !process.argv.includes('--show')) {
  console.log('[size] the wasm grew past bench/budget.json: shrink it, or raise the budget in the same commit and say why');
  process.exit(1);
}
