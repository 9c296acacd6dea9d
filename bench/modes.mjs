// The time of a guarded request in each consistency mode, side by side in
// one run: two Miniflare Workers from the same build (SESSION_CONSISTENCY
// eventual, strong), one local origin, rounds alternating. Latency as the
// client sees it (sequential requests, keep-alive), median per round.
//   node bench/modes.mjs [--rounds=5] [--n=300]
import { performance } from 'node:perf_hooks';
import { startOrigin, startWorker } from '../tests/support/worker.mjs';
import { createSession } from '../tests/support/common.mjs';

const arg = (name, dflt) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const ROUNDS = arg('rounds', 5);
const N = arg('n', 300);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const origin = await startOrigin(() => ({ body: 'ok' }));
const modes = {};
for (const mode of ['eventual', 'strong']) {
  const w = await startWorker({ strong: mode === 'strong', bindings: { ORIGIN_URL: origin.url } });
  const { token } = await createSession(w, { userId: `bench-${mode}` });
  modes[mode] = { w, token, rounds: [] };
}
const once = async ({ w, token }) => {
  const t = performance.now();
  const res = await w.fetch('/app', { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return performance.now() - t;
};
for (const m of Object.values(modes)) for (let i = 0; i < 50; i++) await once(m); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? ['strong', 'eventual'] : ['eventual', 'strong'];
  for (const mode of order) {
    const times = [];
    for (let i = 0; i < N; i++) times.push(await once(modes[mode]));
    modes[mode].rounds.push(median(times));
  }
}
const ev = modes.eventual.rounds;
const st = modes.strong.rounds;
const ratios = st.map((s, i) => s / ev[i]);
const fmt = (xs) => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`;
console.log(`guarded request latency, ms (median of ${N} sequential requests per round, ${ROUNDS} rounds; median [min–max] over rounds)`);
console.log(`  eventual (1 KV read):             ${fmt(ev)}`);
console.log(`  strong   (1 Durable Object call):  ${fmt(st)}`);
console.log(`  strong / eventual:                ${median(ratios).toFixed(2)}× [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`);
for (const m of Object.values(modes)) await m.w.dispose();
await origin.close();
