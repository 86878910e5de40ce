// Open file descriptors of this process (the balancer's workers run inside it), so a test
// can check that everything it opened was closed again. Every test file is checked as a
// whole by test/setup/fd-check.ts; tests may also check their own finer-grained counts.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { waitUntil } from './wait.js';

/** fd number -> what it points to ("socket:[123]", "anon_inode:[eventpoll]", a path). */
export function fdSnapshot(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // The directory's own fd, closed by the time we look: not ours to count.
    }
  }
  return out;
}

export function openFdCount(): number {
  return fdSnapshot().size;
}

/** The fds open now that were not open (as the same thing) in `baseline`. */
export function fdsNewSince(baseline: Map<number, string>): Map<number, string> {
  const added = new Map<number, string>();
  for (const [fd, target] of fdSnapshot()) {
    if (baseline.get(fd) !== target) added.set(fd, target);
  }
  return added;
}

/** "socket:[123]" -> "socket", "anon_inode:[eventfd]" stays, a path -> "file". */
export function fdKind(target: string): string {
  if (target.startsWith('/')) return 'file';
  return target.replace(/:\[\d+\]$/, '');
}

const tcpStates = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
];

/** inode -> "tcp 127.0.0.1:40000 -> 127.0.0.1:8080 ESTABLISHED" etc., from /proc/self/net. */
function socketTable(): Map<string, string> {
  const table = new Map<string, string>();
  const port = (hexAddr: string): number => parseInt(hexAddr.split(':')[1] ?? '0', 16);
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/self/net/${proto}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const state = proto.startsWith('tcp') ? ` ${tcpStates[parseInt(f[3]!, 16)] ?? f[3]}` : '';
      table.set(f[9]!, `${proto} port ${port(f[1]!)} -> port ${port(f[2]!)}${state}`);
    }
  }
  try {
    for (const line of readFileSync('/proc/self/net/unix', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 7) continue;
      table.set(f[6]!, `unix${f[7] ? ` ${f[7]}` : ''}`);
    }
  } catch {
    // no unix table: the socket is described by its inode only
  }
  return table;
}

/** One line per fd: "fd 23 -> socket:[4711] (tcp port 40000 -> port 8080 ESTABLISHED)". */
export function describeFds(fds: Map<number, string>): string {
  const sockets = socketTable();
  return [...fds]
    .map(([fd, target]) => {
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const detail = inode ? sockets.get(inode) : undefined;
      return `fd ${fd} -> ${target}${detail ? ` (${detail})` : ''}`;
    })
    .join('\n');
}

/**
 * Waits until every fd open in the process was already open (as the same thing) in
 * `baseline` (closing is asynchronous: workers close sockets on their own threads, child
 * processes' pipes close when they exit). On timeout, fails with the fds that are new since
 * the baseline, counted by kind, and each one with what it points to.
 */
export async function expectFdsBackToBaseline(
  baseline: Map<number, string>,
  { timeoutMs = 5_000 }: { timeoutMs?: number } = {},
): Promise<void> {
  try {
    await waitUntil('open fds back to the baseline', () => fdsNewSince(baseline).size === 0, { timeoutMs, intervalMs: 20 });
  } catch {
    const added = fdsNewSince(baseline);
    const kinds: Record<string, number> = {};
    for (const target of added.values()) kinds[fdKind(target)] = (kinds[fdKind(target)] ?? 0) + 1;
    throw new Error(
      `fd leak: ${added.size} fd(s) opened and not closed within ${timeoutMs} ms ` +
        `(baseline ${baseline.size} open fds, now ${openFdCount()}); new ones by kind: ${JSON.stringify(kinds)}\n` +
        describeFds(added),
    );
  }
}
