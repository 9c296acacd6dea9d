// Copies what the benchmark runs into one scratch folder, so that a rebuild
// of build/ during a run (or another engineer's build) cannot change it.
import { cpSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export const TARGETS = ['rust', 'js', 'floor'];

/**
 * Lays out `dir`:
 *   rust/index.js + index_bg.wasm       (copy of the build)
 *   js/worker.js, floor/worker.js
 *   loop-<target>/driver.js, memkv.js, target.js + the target's files
 * Returns {load: {target: scriptPath}, loop: {target: scriptPath}}.
 */
export function stage({ benchDir, buildDir, dir }) {
  for (const f of ['index.js', 'index_bg.wasm']) {
    if (!existsSync(path.join(buildDir, f))) throw new Error(`${path.join(buildDir, f)} is missing: run npm run build first`);
  }
  rmSync(dir, { recursive: true, force: true });
  const files = {
    rust: [[path.join(buildDir, 'index.js'), 'index.js'], [path.join(buildDir, 'index_bg.wasm'), 'index_bg.wasm']],
    js: [[path.join(benchDir, 'js-guard', 'worker.js'), 'worker.js']],
    floor: [[path.join(benchDir, 'floor', 'worker.js'), 'worker.js']],
  };
  const main = { rust: 'index.js', js: 'worker.js', floor: 'worker.js' };
  const load = {};
  const loop = {};
  for (const t of TARGETS) {
    for (const kind of ['load', 'loop']) {
      const d = path.join(dir, kind === 'load' ? t : `loop-${t}`);
      mkdirSync(d, { recursive: true });
      for (const [from, to] of files[t]) cpSync(from, path.join(d, to));
      if (kind === 'load') {
        load[t] = path.join(d, main[t]);
      } else {
        cpSync(path.join(benchDir, 'lib', 'loop-driver.js'), path.join(d, 'driver.js'));
        cpSync(path.join(benchDir, 'lib', 'memkv.js'), path.join(d, 'memkv.js'));
        writeFileSync(path.join(d, 'target.js'), `export { default } from './${main[t]}';\n`);
        loop[t] = path.join(d, 'driver.js');
      }
    }
  }
  return { load, loop, wasm: path.join(dir, 'rust', 'index_bg.wasm') };
}
