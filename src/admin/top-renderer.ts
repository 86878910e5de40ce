// `lb-native top`: one screen of text from two stats snapshots (this poll's and the
// previous one), a summary line and a table with a row per backend. Pure: the caller polls
// GET /stats, clears the screen and prints what this returns.
import type { BackendStats, BalancerStats } from '../stats.js';
import { formatBytes } from './byte-units.js';
import { histogramDelta, percentileMs } from './histogram.js';

export interface TopOptions {
  /** Terminal columns; no line is longer. */
  width: number;
}

interface Column {
  title: string;
  width: number;
  align: 'left' | 'right';
}

/** Fixed columns; ADDRESS takes what is left. */
const columns = {
  id: { title: 'ID', width: 4, align: 'right' },
  address: { title: 'BACKEND', width: 0, align: 'left' },
  state: { title: 'STATE', width: 11, align: 'left' },
  weight: { title: 'W', width: 3, align: 'right' },
  rate: { title: 'REQ/S', width: 8, align: 'right' },
  p50: { title: 'P50 ms', width: 7, align: 'right' },
  p99: { title: 'P99 ms', width: 7, align: 'right' },
  errors: { title: 'ERR/S', width: 6, align: 'right' },
  active: { title: 'ACT', width: 5, align: 'right' },
  idle: { title: 'IDLE', width: 5, align: 'right' },
} satisfies Record<string, Column>;

type ColumnName = keyof typeof columns;
const order: ColumnName[] = ['id', 'address', 'state', 'weight', 'rate', 'p50', 'p99', 'errors', 'active', 'idle'];
const minAddress = 12;
const maxAddress = 40;

/**
 * Renders the `top` screen for `now`, with rates over the `elapsedMs` since `previous`.
 * Without `previous` (the first poll) rates show `-` and percentiles cover everything
 * since start. Backends are matched by id; one added since `previous` counts from zero.
 */
export function renderTop(
  now: BalancerStats,
  previous: BalancerStats | undefined,
  elapsedMs: number,
  options: TopOptions,
): string {
  const width = Math.max(20, Math.floor(options.width));
  const seconds = previous && elapsedMs > 0 ? elapsedMs / 1000 : undefined;
  const rate = (current: number, before: number | undefined): string => {
    if (seconds === undefined) return '-';
    const delta = current - (before ?? 0);
    return formatRate((delta < 0 ? current : delta) / seconds);
  };
  const before = new Map((previous?.backends ?? []).map((b) => [b.id, b]));

  const fixed = order.filter((c) => c !== 'address').reduce((sum, c) => sum + columns[c].width + 1, 0);
  const addressWidth = Math.min(maxAddress, Math.max(minAddress, width - fixed - 1));
  const widthOf = (c: ColumnName): number => (c === 'address' ? addressWidth : columns[c].width);
  const line = (cells: Record<ColumnName, string>): string =>
    clip(order.map((c) => pad(cells[c], widthOf(c), columns[c].align)).join(' '), width);

  const totals = [
    'lb-native',
    `req/s ${rate(now.requests, previous?.requests)}`,
    `conns ${now.activeClientConnections}`,
    `5xx/s ${rate(now.responses5xx, previous?.responses5xx)}`,
    `in ${rateBytes(now.bytesFromClients, previous?.bytesFromClients, seconds)}`,
    `out ${rateBytes(now.bytesToClients, previous?.bytesToClients, seconds)}`,
    `backends ${now.backends.length}`,
    `workers ${now.workers}`,
  ];
  const lines = [clip(totals.join('  '), width), ''];
  lines.push(line(Object.fromEntries(order.map((c) => [c, columns[c].title])) as Record<ColumnName, string>));
  for (const b of now.backends) {
    const prev = before.get(b.id);
    const latency = histogramDelta(b.totalTime, prev?.totalTime);
    lines.push(
      line({
        id: String(b.id),
        address: b.address,
        state: stateOf(b, now.workers),
        weight: String(b.weight),
        rate: rate(b.requests, prev?.requests ?? (previous ? 0 : undefined)),
        p50: formatMs(percentileMs(latency, now.latencyBoundsMs, 0.5), now.latencyBoundsMs),
        p99: formatMs(percentileMs(latency, now.latencyBoundsMs, 0.99), now.latencyBoundsMs),
        errors: rate(errorsOf(b), prev ? errorsOf(prev) : previous ? 0 : undefined),
        active: String(b.activeConnections),
        idle: String(b.idleConnections),
      }),
    );
  }
  if (now.backends.length === 0) lines.push(clip('  (no backends)', width));
  return `${lines.join('\n')}\n`;
}

/** Failures a client could have seen: 5xx answers, failed connects, broken backend connections. */
export function errorsOf(b: Pick<BackendStats, 'responses5xx' | 'connectErrors' | 'backendErrors'>): number {
  return b.responses5xx + b.connectErrors + b.backendErrors;
}

/** What to show for a backend: its state unless ready, else `down`, `ejected n/N` or `ready`. */
export function stateOf(b: Pick<BackendStats, 'state' | 'health' | 'ejectedWorkers'>, workers: number): string {
  if (b.state !== 'ready') return b.state;
  if (b.health === 'down') return 'down';
  if (b.ejectedWorkers > 0) return `ejected ${b.ejectedWorkers}/${workers}`;
  return 'ready';
}

function formatRate(perSecond: number): string {
  if (perSecond >= 100_000) return `${(perSecond / 1000).toFixed(0)}k`;
  if (perSecond >= 1000) return perSecond.toFixed(0);
  return perSecond.toFixed(1);
}

/** Milliseconds with 2-3 significant digits; `>X` when past the last histogram bound; `-` without samples. */
function formatMs(ms: number | undefined, boundsMs: readonly number[]): string {
  if (ms === undefined) return '-';
  if (ms === Infinity) return `>${trimNumber(boundsMs[boundsMs.length - 1] ?? 0)}`;
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

function trimNumber(n: number): string {
  return n >= 1000 ? `${n / 1000}s` : String(n);
}

function rateBytes(current: number, before: number | undefined, seconds: number | undefined): string {
  if (seconds === undefined || before === undefined) return '-';
  const delta = current - before;
  return `${formatBytes((delta < 0 ? current : delta) / seconds)}/s`;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const cut = clip(text, width);
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/** At most `width` characters, an ellipsis marking a cut. */
function clip(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}
