// The names build's wasm, by crate: `twiggy top` grouped by the crate that
// owns each function (the type's crate for `<T as Trait>::f`), plus the
// serde share across crates. The name section is left out of the total.
//
//   node scripts/wasm-crates.mjs [bench/.cache/build-names/index_bg.wasm] [--top=25]
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const wasm = args.find((a) => !a.startsWith('--')) ?? 'bench/.cache/build-names/index_bg.wasm';
const top = Number((args.find((a) => a.startsWith('--top=')) ?? '--top=25').slice(6));
const rows = JSON.parse(
  execFileSync('twiggy', ['top', '-n', '1000000', '-f', 'json', wasm], { maxBuffer: 1 << 28 }),
);

// `<&mut serde_json::de::Deserializer<R> as …>::f` -> serde_json; `core[hash]::…` -> core.
function crateOf(name) {
  if (name.startsWith('data segment')) return '(data)';
  if (name.startsWith('import ') || name.startsWith('export ')) return '(imports/exports)';
  if (/^["a-z ]*(section|subsection|table|elem|type\[)/.test(name) || name.startsWith('"')) return '(sections)';
  if (name.startsWith('core::ptr::drop_in_place')) return 'drop glue';
  const m = name.replace(/^[<&*(\[ ]+|^(mut|dyn|const) /g, '').replace(/^[<&*(\[ ]+|^(mut|dyn|const) /g, '')
    .match(/^([A-Za-z_][A-Za-z0-9_]*)/);
  return m ? m[1] : '(other)';
}

const byCrate = new Map();
let total = 0;
let serde = 0;
for (const { name, shallow_size: size } of rows) {
  if (name.includes('"function names" subsection') || name.startsWith('Σ') || name.startsWith('...')) continue;
  total += size;
  if (/serde/.test(name)) serde += size;
  const crate = crateOf(name);
  const entry = byCrate.get(crate) ?? { bytes: 0, items: 0 };
  entry.bytes += size;
  entry.items += 1;
  byCrate.set(crate, entry);
}
const pct = (b) => ((b / total) * 100).toFixed(1).padStart(5);
console.log(`${wasm}: ${total} B without the name section`);
for (const [crate, { bytes, items }] of [...byCrate].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  console.log(`${String(bytes).padStart(8)} ${pct(bytes)}%  ${String(items).padStart(5)}  ${crate}`);
}
console.log(`${String(serde).padStart(8)} ${pct(serde)}%         (any symbol naming serde, across crates)`);
