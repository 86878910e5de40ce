// `lb-native top`: polls GET /stats on the admin API and shows renderTop's screen,
// refreshed in place every --interval ms until q or Ctrl-C. With --once: two samples one
// interval apart (rates need both), one screen, no clearing, then exit (0, or 1 if the
// admin API cannot be asked).
import { renderTop } from '../admin/index.js';
import type { BalancerStats } from '../stats.js';
import { AdminUnreachableError, adminRequest, errorMessage } from './admin-client.js';
import type { TopArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

const clearScreen = '\x1b[H\x1b[2J';

async function poll(args: TopArgs): Promise<BalancerStats> {
  const response = await adminRequest(args, 'GET', '/stats', Math.max(2_000, args.intervalMs));
  if (response.status !== 200) throw new AdminUnreachableError(`GET /stats: ${errorMessage(response)}`);
  return response.body as BalancerStats;
}

function width(): number {
  return process.stdout.columns ?? 100;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runOnce(args: TopArgs): Promise<number> {
  try {
    const first = await poll(args);
    const firstAt = Date.now();
    await sleep(args.intervalMs);
    const second = await poll(args);
    process.stdout.write(`${renderTop(second, first, Date.now() - firstAt, { width: width() })}\n`);
    return exitCodes.ok;
  } catch (error) {
    if (!(error instanceof AdminUnreachableError)) throw error;
    process.stderr.write(`lb-native: ${error.message}\n`);
    return exitCodes.failure;
  }
}

/**
 * Calls `quit` when q (or Ctrl-C, which raw mode delivers as a byte) is typed on a
 * terminal; returns a function that gives the terminal back as it was.
 */
function watchKeys(quit: () => void): () => void {
  const input = process.stdin;
  if (!input.isTTY) return () => undefined;
  input.setRawMode(true);
  const onData = (data: Buffer) => {
    if (data.includes(0x71 /* q */) || data.includes(0x51 /* Q */) || data.includes(0x03 /* Ctrl-C */)) quit();
  };
  input.on('data', onData);
  input.resume();
  return () => {
    input.off('data', onData);
    input.setRawMode(false);
    input.pause();
  };
}

export async function runTop(args: TopArgs): Promise<number> {
  if (args.once) return runOnce(args);
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const releaseKeys = watchKeys(stop);
  let previous: { stats: BalancerStats; at: number } | undefined;
  try {
    while (!stopped) {
      let frame: string;
      try {
        const stats = await poll(args);
        const at = Date.now();
        frame = renderTop(stats, previous?.stats, previous ? at - previous.at : 0, { width: width() });
        previous = { stats, at };
      } catch (error) {
        if (!(error instanceof AdminUnreachableError)) throw error;
        frame = `lb-native top: ${error.message}; retrying every ${args.intervalMs} ms`;
        previous = undefined;
      }
      if (stopped) break;
      // libuv's raw mode keeps the terminal's output newline translation (ONLCR) on.
      process.stdout.write(`${clearScreen}${frame}\n`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, args.intervalMs);
      });
    }
  } finally {
    releaseKeys();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return exitCodes.ok;
}
