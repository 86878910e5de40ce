// What the dashboard shows, computed without a browser (dashboard/script.ts's frameOf,
// the same function the page runs), and how the page's script is put together: from
// histogram.ts's own functions, not a copy of them.
import { describe, expect, it } from 'vitest';

import { dashboardCsp, dashboardHtml } from '../../src/admin/dashboard-page.js';
import { type Sample, certificateCells, formatMs, formatRate, frameOf } from '../../src/admin/dashboard/script.js';
import { histogramDelta, percentileMs, sumHistograms } from '../../src/admin/histogram.js';
import { backendStats, balancerStats, boundsMs, histogram } from './fixtures.js';

/** A sample at `at` ms: totals from `requests` and one backend with `totalTime` and `errors`. */
function sample(at: number, requests: number, totalTime: number[], errors = 0): Sample {
  return {
    at,
    stats: balancerStats({
      requests,
      responses5xx: errors,
      bytesFromClients: requests * 100,
      bytesToClients: requests * 1000,
      backends: [backendStats(0, { requests, responses5xx: errors, totalTime })],
    }),
  };
}

describe('frameOf', () => {
  it('on the first sample shows no rate and no percentile, however much has been counted since start', () => {
    const first = sample(
      1_000,
      5_000,
      histogram([
        [10, 4_000],
        [100, 1_000],
      ]),
      300,
    );
    const frame = frameOf([first]);
    expect(frame).toMatchObject({
      requestRate: null,
      errorRate: null,
      bytesInRate: null,
      bytesOutRate: null,
      p50: undefined,
      p99: undefined,
      windowSeconds: null,
    });
    expect(frame.backends.get(0)).toEqual({ requestRate: null, errorRate: null, p50: undefined, p95: undefined, p99: undefined });
    // What the cells then read.
    expect(formatRate(frame.requestRate)).toBe('\u2013');
    expect(formatMs(frame.p99, boundsMs)).toBe('\u2013');
  });

  it('from the second sample on: rates against the previous sample, percentiles over the window since the oldest', () => {
    const before = histogram([[10, 4_000]]);
    const samples = [
      sample(1_000, 4_000, before, 10),
      sample(
        2_000,
        4_100,
        histogram([
          [10, 4_050],
          [100, 50],
        ]),
        12,
      ),
      sample(
        3_000,
        4_300,
        histogram([
          [10, 4_050],
          [100, 250],
        ]),
        20,
      ),
    ];
    const frame = frameOf(samples);
    // Per second: the last second only.
    expect(frame.requestRate).toBe(200);
    expect(frame.errorRate).toBe(8);
    expect(frame.bytesInRate).toBe(20_000);
    // The window: the 300 requests since the oldest sample (50 at <=10 ms, 250 at <=100 ms),
    // not the 4,300 since start.
    const window = histogramDelta(samples[2]!.stats.backends[0]!.totalTime, before);
    expect(frame.p50).toBe(percentileMs(window, boundsMs, 0.5));
    expect(frame.p99).toBe(percentileMs(window, boundsMs, 0.99));
    expect(frame.p50).toBeGreaterThan(50);
    expect(frame.windowSeconds).toBe(2);
    expect(frame.backends.get(0)).toEqual({
      requestRate: 200,
      errorRate: 8,
      p50: percentileMs(window, boundsMs, 0.5),
      p95: percentileMs(window, boundsMs, 0.95),
      p99: percentileMs(window, boundsMs, 0.99),
    });
  });

  it('counts a backend added since the previous sample from zero', () => {
    const previous = sample(1_000, 10, histogram([[1, 10]]));
    const now = sample(2_000, 30, histogram([[1, 30]]));
    now.stats.backends.push(backendStats(1, { requests: 5, totalTime: histogram([[5, 5]]) }));
    const frame = frameOf([previous, now]);
    expect(frame.backends.get(1)?.requestRate).toBe(5);
    expect(frame.backends.get(1)?.p99).toBe(percentileMs(histogram([[5, 5]]), boundsMs, 0.99));
    const all = sumHistograms([histogram([[1, 20]]), histogram([[5, 5]])], boundsMs.length + 1);
    expect(frame.p99).toBe(percentileMs(all, boundsMs, 0.99));
  });
});

describe('the page script', () => {
  const script = dashboardHtml.slice(
    dashboardHtml.indexOf('<script>') + '<script>'.length,
    dashboardHtml.lastIndexOf('</script>'),
  );

  it("computes with histogram.ts's own functions, as written there", () => {
    for (const fn of [histogramDelta, percentileMs, sumHistograms]) expect(script).toContain(fn.toString());
    expect(script).toContain(frameOf.toString());
    // Each is defined once: no second implementation beside them.
    for (const name of ['histogramDelta', 'percentileMs', 'sumHistograms', 'frameOf']) {
      expect(script.split(`function ${name}(`).length - 1, name).toBe(1);
    }
  });

  it('is the one inline script the Content-Security-Policy allows, and parses', async () => {
    const { createHash } = await import('node:crypto');
    expect(dashboardCsp).toContain(`script-src 'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`);
    expect(script).not.toContain('</script');
    // Parsed, not run (running needs a browser: test/admin/dashboard.test.ts).
    expect(() => new Function(script)).not.toThrow();
  });
});

describe('certificateCells', () => {
  it('shows a certificate not issued yet with dashes, and an order under way', () => {
    const { cells, bad } = certificateCells({ domains: ['shop.test'], ordering: true, failures: 0 });
    expect(cells).toEqual({
      names: ['shop.test', ''],
      issuer: ['\u2013', ''],
      days: ['\u2013', ''],
      expires: ['\u2013', ''],
      next: ['ordering now', ''],
      result: ['\u2013', '\u2013'],
    });
    expect(bad).toEqual({ days: false, result: false });
  });

  it('takes the CN of the issuer, flags 14 days or fewer and a failed order, shortens a long error', () => {
    const error = `connect ECONNREFUSED ${'x'.repeat(80)}`;
    const { cells, bad } = certificateCells({
      domains: ['a.test', 'b.test'],
      issuer: 'C=US\nO=Example\nCN=Example R3',
      notAfter: '2030-01-02T03:04:05.000Z',
      daysLeft: 14,
      nextAttemptAt: '2029-12-31T23:59:00.000Z',
      ordering: false,
      failures: 3,
      lastResult: { at: '2029-12-31T23:00:00.000Z', ok: false, error },
    });
    expect(cells.names[0]).toBe('a.test b.test');
    expect(cells.issuer).toEqual(['Example R3', 'C=US\nO=Example\nCN=Example R3']);
    expect(cells.days[0]).toBe('14.0');
    expect(cells.expires[0]).toBe('2030-01-02 03:04 UTC');
    expect(cells.next[0]).toBe('2029-12-31 23:59 UTC');
    expect(cells.result[0]).toHaveLength(60);
    expect(cells.result[0]).toMatch(/^failed \u00d73: connect ECONNREFUSED x+\u2026$/);
    expect(cells.result[1]).toBe(`failed \u00d73: ${error}`);
    expect(bad).toEqual({ days: true, result: true });
  });
});
