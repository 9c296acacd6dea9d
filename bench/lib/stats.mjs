// Small statistics and table helpers for bench/run.mjs.
export function quantile(xs, q) {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function summary(xs) {
  const v = xs.filter(Number.isFinite);
  return {
    median: quantile(v, 0.5),
    min: v.length ? Math.min(...v) : NaN,
    max: v.length ? Math.max(...v) : NaN,
    q1: quantile(v, 0.25),
    q3: quantile(v, 0.75),
    n: v.length,
    samples: xs,
  };
}

/** A number with about 3 significant digits. */
export function fmt(x) {
  if (!Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1).replace(/\.0$/, '');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

export function cell(s, unit = '') {
  if (!s || !Number.isFinite(s.median)) return '-';
  if (s.n === 1) return `${fmt(s.median)}${unit}`;
  return `${fmt(s.median)}${unit} [${fmt(s.min)}–${fmt(s.max)}]`;
}

export function table(header, rows) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
