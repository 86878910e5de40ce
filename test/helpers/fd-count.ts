// Open file descriptors of this process (the balancer's workers run inside it), so a suite
// can check that everything it opened was closed again.
import { readdirSync, readlinkSync } from 'node:fs';
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

/**
 * Waits until the process has no more open fds than `baseline` had (closing is
 * asynchronous: workers close sockets on their own threads). On timeout, fails with the
 * fds that are new since the baseline and what they point to.
 */
export async function expectFdsBackToBaseline(
  baseline: Map<number, string>,
  { timeoutMs = 5_000 }: { timeoutMs?: number } = {},
): Promise<void> {
  try {
    await waitUntil(`open fds back to ${baseline.size}`, () => openFdCount() <= baseline.size, { timeoutMs });
  } catch {
    const now = fdSnapshot();
    const extra = [...now].filter(([fd, target]) => baseline.get(fd) !== target);
    const kinds = new Map<string, number>();
    for (const [, target] of extra) {
      const kind = target.replace(/\[\d+\]$/, '[]');
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    throw new Error(
      `fd leak: ${now.size} open fds, baseline ${baseline.size}; new ones by kind: ` +
        JSON.stringify(Object.fromEntries(kinds)),
    );
  }
}
