// /proc readers: CPU ticks (utime+stime) and VmRSS of a process tree.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { processTree } from './procs.mjs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* default 100 */
}
export const CLK_TCK = clkTck;

/**
 * utime+stime (ticks) of one process, all its threads included.
 * @param {number} pid
 */
function ticksOf(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 (fields 14/15 in man proc)
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/**
 * Snapshot per-pid CPU ticks for a root pid and its descendants.
 * @param {number} rootPid
 */
export function cpuSnapshot(rootPid) {
  /** @type {Map<number, number>} */
  const m = new Map();
  for (const p of processTree(rootPid)) m.set(p, ticksOf(p));
  return m;
}

/**
 * CPU seconds consumed between two snapshots (processes present in `b`).
 * @param {Map<number, number>} a
 * @param {Map<number, number>} b
 */
export function cpuDeltaSec(a, b) {
  let t = 0;
  for (const [pid, ticks] of b) t += ticks - (a.get(pid) ?? 0);
  return t / CLK_TCK;
}

/**
 * Sum of VmRSS (KiB) over the tree.
 * @param {number} rootPid
 */
export function rssKiB(rootPid) {
  let sum = 0;
  for (const p of processTree(rootPid)) {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) sum += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return sum;
}

/**
 * Open file descriptors over the tree (a sanity check that idle connections are still held).
 * @param {number} rootPid
 */
export function fdCount(rootPid) {
  let n = 0;
  for (const p of processTree(rootPid)) {
    try {
      n += readdirSync(`/proc/${p}/fd`).length;
    } catch {
      /* gone */
    }
  }
  return n;
}

/**
 * The jiffies of /proc/stat's cpu line, in its order: user nice system idle iowait irq
 * softirq steal ... (a Linux /proc/stat always starts with that line).
 * @returns {number[]}
 */
function cpuLine() {
  return /** @type {string} */ (readFileSync('/proc/stat', 'utf8').split('\n')[0]).trim().split(/\s+/).slice(1).map(Number);
}

/**
 * Whole-machine busy fraction between two /proc/stat samples.
 * @typedef {{ idle: number, total: number }} CpuSample
 * @returns {CpuSample}
 */
export function sysCpuSample() {
  const l = cpuLine();
  const idle = /** @type {number} */ (l[3]) + (l[4] || 0);
  const total = l.reduce((a, b) => a + b, 0);
  return { idle, total };
}
/**
 * @param {CpuSample} a
 * @param {CpuSample} b
 */
export function sysBusy(a, b) {
  const dt = b.total - a.total;
  return dt > 0 ? 1 - (b.idle - a.idle) / dt : 0;
}

/**
 * "Other load": CPU time the machine spent in user/system mode that the bench itself
 * (this process, its reaped children such as wrk, its live children) did not account for.
 * Take one snapshot before and one after a run.
 * @typedef {{ busy: number, ours: number, steal: number, t: number }} LoadSnapshot
 * @returns {LoadSnapshot}
 */
export function loadSnapshot() {
  const l = cpuLine();
  // user nice system idle iowait irq softirq steal
  const busy = /** @type {number} */ (l[0]) + /** @type {number} */ (l[1]) + /** @type {number} */ (l[2]);
  let ours = 0;
  for (const pid of processTree(process.pid)) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ours += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      /* raced with exit */
    }
  }
  return { busy, ours, steal: l[7] || 0, t: Date.now() };
}
/**
 * Share of the machine (0..1) used by others between two snapshots, and stolen time.
 * @param {LoadSnapshot} a
 * @param {LoadSnapshot} b
 * @param {number} nproc
 * @returns {{ other: number | null, steal: number | null }}
 */
export function otherLoad(a, b, nproc) {
  const wall = ((b.t - a.t) / 1000) * nproc * CLK_TCK;
  if (wall <= 0) return { other: null, steal: null };
  return { other: Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / wall), steal: (b.steal - a.steal) / wall };
}
