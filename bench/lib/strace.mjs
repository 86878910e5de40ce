// Syscall counting: `strace -c -f -p PID...` attached to the proxy for one short wrk run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, sleep } from './procs.mjs';

/**
 * Parse `strace -c` summary: total calls and the busiest syscalls.
 * @param {string} text
 */
export function parseStraceSummary(text) {
  /** @type {Array<{ calls: number, errors: number, name: string }>} */
  const rows = [];
  /** @type {{ calls: number, errors: number, name: string } | null} */
  let total = null;
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)?\s*(\S+)\s*$/.exec(line);
    if (!m) continue;
    const row = { calls: Number(m[4]), errors: m[5] ? Number(m[5]) : 0, name: /** @type {string} */ (m[6]) };
    if (row.name === 'total') total = row;
    else rows.push(row);
  }
  rows.sort((a, b) => b.calls - a.calls);
  return { total: total?.calls ?? rows.reduce((a, r) => a + r.calls, 0), top: rows.slice(0, 10) };
}

/**
 * Attach strace to `pids` (all their threads, and children they fork), run `work()`
 * (which returns {requests}), detach, and return calls per request.
 * @template {{ requests: number }} R
 * @param {number[]} pids
 * @param {() => Promise<R>} work
 */
export async function straceCount(pids, work) {
  const dir = mkdtempSync(join(tmpdir(), 'lbbench-strace-'));
  const out = join(dir, 'strace.txt');
  const args = ['-c', '-f', '-o', out];
  for (const p of pids) args.push('-p', String(p));
  const rec = startChild('strace', args, { name: 'strace' });
  // wait until strace reports every pid attached (or gives up)
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const attached = (rec.err.match(/attached/g) || []).length;
    if (attached >= pids.length) break;
    if (rec.exited) break;
    await sleep(20);
  }
  if (rec.exited) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`strace could not attach: ${rec.err.trim().slice(-300)}`);
  }
  await sleep(100);
  /** @type {R | undefined} */
  let res;
  try {
    res = await work();
  } finally {
    try {
      process.kill(/** @type {number} */ (rec.pid), 'SIGINT'); // strace detaches and writes the summary
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        process.kill(/** @type {number} */ (rec.pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await rec.done;
    clearTimeout(t);
  }
  let text = '';
  try {
    text = readFileSync(out, 'utf8');
  } catch {
    /* none */
  }
  rmSync(dir, { recursive: true, force: true });
  // work() returned (a throw would have left this function already).
  const done = /** @type {R} */ (res);
  const s = parseStraceSummary(text);
  return {
    calls: s.total,
    requests: done.requests,
    per_req: done.requests ? s.total / done.requests : null,
    top: s.top.map((r) => ({ name: r.name, per_req: done.requests ? r.calls / done.requests : null, errors: r.errors })),
    wrk: done,
  };
}
