// Process CPU time from /proc: utime + stime of every thread of a process
// (fields 14 and 15 of /proc/<pid>/stat, in clock ticks).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let tck = 100;
try {
  tck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {}
export const CLK_TCK = tck;

function stat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may hold spaces and parens: fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' '); // fields[0] is field 3 (state)
  return { comm, ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

/** CPU seconds (utime + stime of /proc/<pid>/stat) the process has used so far: 1/CLK_TCK resolution. */
export function cpuTicksSeconds(pid) {
  const s = stat(pid);
  return (s.utime + s.stime) / CLK_TCK;
}

/**
 * CPU seconds the process's live threads have run, from the nanosecond
 * counters of /proc/<pid>/task/<tid>/schedstat (first field). Null where the
 * kernel has no schedstat. Threads that exited are missing from the sum.
 */
export function cpuPreciseSeconds(pid) {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {}
    }
  } catch {
    return null;
  }
  return ns > 0 ? ns / 1e9 : null;
}

/** {precise, ticks}: both readings at once (see above). */
export function cpu(pid) {
  return { precise: cpuPreciseSeconds(pid), ticks: cpuTicksSeconds(pid) };
}

/** CPU seconds used between two readings of `cpu()`: the precise one when both have it. */
export function cpuDelta(a, b) {
  return a.precise !== null && b.precise !== null ? b.precise - a.precise : b.ticks - a.ticks;
}

/** Back-compat name: the best reading available, in seconds. */
export function cpuSeconds(pid) {
  const c = cpu(pid);
  return c.precise ?? c.ticks;
}

/** All descendants of `root` (pid, comm, exe). */
export function descendants(root) {
  const all = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      all.push({ pid: Number(name), ...stat(name) });
    } catch {}
  }
  const out = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift();
    for (const c of all.filter((x) => x.ppid === p)) {
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${c.pid}/exe`);
      } catch {}
      out.push({ pid: c.pid, comm: c.comm, exe });
      queue.push(c.pid);
    }
  }
  return out;
}

/** The pid of the workerd process started under `root` (Miniflare spawns it). */
export function findWorkerd(root = process.pid, exclude = new Set()) {
  const found = descendants(root).filter((p) => p.comm === 'workerd' && !exclude.has(p.pid));
  if (found.length !== 1) {
    throw new Error(`expected one workerd under pid ${root}, found ${JSON.stringify(found)}`);
  }
  return found[0];
}
