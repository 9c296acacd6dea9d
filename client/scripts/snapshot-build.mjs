// Copies the built Worker (all of ../build: the entry index.js, the glue it
// imports and index_bg.wasm) into .cache/build, so one test run uses one
// build even if ../build is rebuilt meanwhile. Run at the start of `npm test`;
// test/support/worker.mjs calls it too when .cache/build is missing (a single
// test file run by hand).
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const source = path.resolve(pkg, '..', 'build');
export const target = path.join(pkg, '.cache', 'build');

export function snapshotBuild() {
  for (const f of ['index.js', 'index_bg.wasm']) {
    if (!existsSync(path.join(source, f))) {
      throw new Error(`${path.join(source, f)} is missing: run \`npm run build\` at the repo root first`);
    }
  }
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  cpSync(source, target, { recursive: true });
  return target;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  snapshotBuild();
  const kb = (statSync(path.join(target, 'index_bg.wasm')).size / 1024).toFixed(0);
  console.log(`Worker build copied to .cache/build (wasm ${kb} KiB)`);
}
