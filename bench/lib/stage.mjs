// Copies what the benchmark runs into one scratch folder, so that a rebuild
// of build/ during a run (or another engineer's build) cannot change it.
import { cpSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The Workers of a run: `rust-a` is the same build as `rust` with the
 * identity assertion on (bench/run.mjs gives it ASSERTION_KEYS); `rust-b`
 * only when a second Rust build is given.
 */
export function targetsFor(buildDirB) {
  return buildDirB ? ['rust', 'rust-a', 'rust-b', 'js', 'floor'] : ['rust', 'rust-a', 'js', 'floor'];
}

/**
 * Lays out `dir`:
 *   rust/index.js + index_bg.wasm       (copy of the build, with glue.mjs when
 *                                        the build has one; rust-a/ the same)
 *   js/worker.js, floor/worker.js
 *   loop-<target>/driver.js, memkv.js, target.js + the target's files
 *   bare-<target>/ the same with bench/lib/bare-driver.js as driver.js
 * Returns {load, loop: {target: scriptPath}, bare: {target: {dir, modules}}}.
 */
export function stage({ benchDir, buildDir, buildDirB, dir }) {
  for (const d of [buildDir, buildDirB].filter(Boolean)) {
    for (const f of ['index.js', 'index_bg.wasm']) {
      if (!existsSync(path.join(d, f))) throw new Error(`${path.join(d, f)} is missing: run npm run build first`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  // A build's files: its entry, worker-build's bundle when the entry is ours
  // (glue.mjs, since issue 20), the wasm.
  const build = (d) =>
    ['index.js', 'glue.mjs', 'index_bg.wasm'].filter((f) => existsSync(path.join(d, f))).map((f) => [path.join(d, f), f]);
  const files = {
    rust: build(buildDir),
    js: [[path.join(benchDir, 'js-guard', 'worker.js'), 'worker.js']],
    floor: [[path.join(benchDir, 'floor', 'worker.js'), 'worker.js']],
  };
  files['rust-a'] = files.rust;
  const main = { rust: 'index.js', 'rust-a': 'index.js', js: 'worker.js', floor: 'worker.js' };
  if (buildDirB) {
    files['rust-b'] = build(buildDirB);
    main['rust-b'] = 'index.js';
  }
  const load = {};
  const loop = {};
  const bare = {};
  for (const t of targetsFor(buildDirB)) {
    for (const kind of ['load', 'loop', 'bare']) {
      const d = path.join(dir, kind === 'load' ? t : `${kind}-${t}`);
      mkdirSync(d, { recursive: true });
      for (const [from, to] of files[t]) cpSync(from, path.join(d, to));
      if (kind === 'load') {
        load[t] = path.join(d, main[t]);
        continue;
      }
      cpSync(path.join(benchDir, 'lib', `${kind}-driver.js`), path.join(d, 'driver.js'));
      cpSync(path.join(benchDir, 'lib', 'memkv.js'), path.join(d, 'memkv.js'));
      writeFileSync(path.join(d, 'target.js'), `export { default } from './${main[t]}';\n`);
      if (kind === 'loop') {
        loop[t] = path.join(d, 'driver.js');
      } else {
        const js = ['driver.js', 'memkv.js', 'target.js', ...files[t].map(([, to]) => to).filter((f) => /\.m?js$/.test(f))];
        const wasm = files[t].map(([, to]) => to).filter((f) => f.endsWith('.wasm'));
        bare[t] = {
          dir: d,
          modules: [
            ...js.map((name) => ({ name, file: path.join(d, name), type: 'esModule' })),
            ...wasm.map((name) => ({ name, file: path.join(d, name), type: 'wasm' })),
          ],
        };
      }
    }
  }
  return {
    load,
    loop,
    bare,
    wasm: path.join(dir, 'rust', 'index_bg.wasm'),
    wasmB: buildDirB ? path.join(dir, 'rust-b', 'index_bg.wasm') : null,
  };
}
