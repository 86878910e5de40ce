// `lb-native top`'s screen (renderTop) and the histogram arithmetic behind its
// percentiles: pure functions over hand-made stats snapshots.
import { describe, expect, it } from 'vitest';

import { histogramDelta, percentileMs } from '../../src/admin/histogram.js';
import { renderTop } from '../../src/admin/top-renderer.js';
import { backendStats, balancerStats, boundsMs, histogram } from './fixtures.js';

describe('percentileMs and histogramDelta', () => {
  it('interpolates inside the bucket that holds the quantile', () => {
    // 100 samples, all in (1, 2.5] ms: p50 is halfway through that bucket.
    const counts = histogram([[2.5, 100]]);
    expect(percentileMs(counts, boundsMs, 0.5)).toBeCloseTo(1.75, 6);
    expect(percentileMs(counts, boundsMs, 1)).toBeCloseTo(2.5, 6);
    // 90 fast, 10 slow: p50 among the fast, p99 among the slow.
    const mixed = histogram([
      [0.5, 90],
      [100, 10],
    ]);
    expect(percentileMs(mixed, boundsMs, 0.5)).toBeLessThanOrEqual(0.5);
    expect(percentileMs(mixed, boundsMs, 0.99)).toBeGreaterThan(50);
    expect(percentileMs(mixed, boundsMs, 0.99)).toBeLessThanOrEqual(100);
  });

  it('is undefined without samples and Infinity past the last bound', () => {
    expect(percentileMs(histogram([]), boundsMs, 0.5)).toBeUndefined();
    expect(percentileMs(histogram([[Infinity, 3]]), boundsMs, 0.5)).toBe(Infinity);
  });

  it('takes the difference of two snapshots, or the whole of the newer after a reset', () => {
    expect(histogramDelta([5, 7, 1], [2, 7, 0])).toEqual([3, 0, 1]);
    expect(histogramDelta([1, 0, 0], [2, 7, 0])).toEqual([1, 0, 0]);
    expect(histogramDelta([1, 2], undefined)).toEqual([1, 2]);
  });
});

describe('renderTop', () => {
  const previous = balancerStats({
    requests: 1000,
    bytesFromClients: 10_000,
    bytesToClients: 100_000,
    backends: [
      backendStats(0, { requests: 600, totalTime: histogram([[1, 600]]) }),
      backendStats(1, { requests: 400, responses5xx: 4, totalTime: histogram([[5, 400]]) }),
    ],
  });
  const now = balancerStats({
    requests: 3000,
    activeClientConnections: 7,
    bytesFromClients: 10_000 + 2 * 1024 * 1024,
    bytesToClients: 100_000 + 4 * 1024 * 1024,
    backends: [
      backendStats(0, {
        requests: 1600,
        activeConnections: 3,
        idleConnections: 5,
        weight: 3,
        totalTime: histogram([
          [1, 600 + 990],
          [250, 20],
        ]),
      }),
      backendStats(1, { requests: 1400, responses5xx: 24, connectErrors: 0, state: 'drain', totalTime: histogram([[5, 1400]]) }),
      backendStats(2, { address: 'api.internal:9002', requests: 0, health: 'down' }),
    ],
  });

  it('shows per-backend rates over the interval, percentiles, errors, state and connections', () => {
    const screen = renderTop(now, previous, 2000, { width: 100 });
    const lines = screen.trimEnd().split('\n');
    expect(lines[0]).toContain('req/s 1000 ');
    expect(lines[0]).toContain('conns 7');
    expect(lines[0]).toContain('in 1.0 MiB/s');
    expect(lines[0]).toContain('out 2.0 MiB/s');
    expect(lines[2]).toMatch(/^\s+ID BACKEND\s+STATE\s+W\s+REQ\/S\s+P50 ms\s+P99 ms\s+ERR\/S\s+ACT\s+IDLE$/);
    const row = (id: number) =>
      lines
        .find((l) => new RegExp(`^\\s+${id} `).test(l))!
        .trim()
        .split(/\s+/);
    // id address state weight req/s p50 p99 err/s active idle
    expect(row(0)).toEqual([
      '0',
      '127.0.0.1:9000',
      'ready',
      '3',
      '500.0',
      expect.any(String),
      expect.any(String),
      '0.0',
      '3',
      '5',
    ]);
    const [, , , , , p50, p99] = row(0);
    expect(Number(p50)).toBeGreaterThan(0.5);
    expect(Number(p50)).toBeLessThanOrEqual(1);
    expect(Number(p99)).toBeGreaterThan(1); // the 20 slow ones are 2% of the interval
    expect(row(1)).toEqual([
      '1',
      '127.0.0.1:9001',
      'drain',
      '1',
      '500.0',
      expect.any(String),
      expect.any(String),
      '10.0',
      '0',
      '0',
    ]);
    // A backend with no request in the interval: no percentile.
    expect(row(2)).toEqual(['2', 'api.internal:9002', 'down', '1', '0.0', '-', '-', '0.0', '0', '0']);
  });

  it('shows "-" for rates on the first poll, and percentiles since start', () => {
    const screen = renderTop(now, undefined, 0, { width: 100 });
    const row0 = screen.split('\n').find((l) => /^\s+0 /.test(l))!;
    expect(row0.trim().split(/\s+/).slice(4, 8)).toEqual(['-', expect.stringMatching(/^\d/), expect.stringMatching(/^\d/), '-']);
    expect(screen.split('\n')[0]).toContain('req/s -');
  });

  it('never writes a line longer than the width, cutting long addresses with an ellipsis', () => {
    const long = balancerStats({
      backends: [backendStats(0, { address: 'a-very-long-backend-host-name.some.internal.domain.example:9000' })],
    });
    for (const width of [40, 60, 80, 120, 200]) {
      const lines = renderTop(long, long, 1000, { width }).trimEnd().split('\n');
      for (const line of lines) expect([...line].length).toBeLessThanOrEqual(width);
    }
    expect(renderTop(long, long, 1000, { width: 100 })).toContain('…');
  });

  it('says when a backend is ejected, and when there are no backends', () => {
    const ejected = balancerStats({ backends: [backendStats(4, { ejectedWorkers: 1 })] });
    expect(renderTop(ejected, ejected, 1000, { width: 100 })).toContain('ejected 1/2');
    expect(renderTop(balancerStats(), undefined, 0, { width: 80 })).toContain('(no backends)');
  });

  it('counts a backend added since the previous poll from zero', () => {
    const before = balancerStats({ backends: [] });
    const after = balancerStats({ backends: [backendStats(9, { requests: 50 })] });
    const row = renderTop(after, before, 1000, { width: 100 })
      .split('\n')
      .find((l) => /^\s+9 /.test(l))!;
    expect(row.trim().split(/\s+/)[4]).toBe('50.0');
  });
});
