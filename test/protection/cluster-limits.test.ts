// Cluster-wide rate limits on real processes: two lb-native CLI processes, each with its
// own backend, sharing one redis-server started here. Clients hammer both with the same
// key. The combined count the backends see stays within the documented accuracy
// (docs/protection.md, "Across balancers"): burst + rate x T + N x W x (burst + rate x D),
// D the longest gap between two exchanges the balancers report plus a margin for Redis's
// round trip. Redis killed by its PID: each balancer says so (log line, metric) and holds
// its local share; Redis started again: both say so and the cluster limit holds again.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { CliProcess, ensureBuilt, killSpawnedAfterEach } from '../helpers/cli.js';
import { runCleanups } from '../helpers/cleanup.js';
import { configFiles } from '../helpers/config-files.js';
import { type HttpBackend, startHttpBackend } from '../helpers/http-backend.js';
import { delay } from '../helpers/wait.js';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { connectFrom } from './support.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const { write } = configFiles('lb-cluster-limits-');

const rate = 10;
const burst = 6;
const peers = 2;
const workers = 1;
const intervalMs = 100;
const localShare = 0.5;
/** Allowance for Redis's round trip and the install, on top of the exchange gap. */
const roundTripMarginMs = 100;

interface Box {
  cli: CliProcess;
  backend: HttpBackend;
  port: number;
  admin: string;
}

async function startBox(name: string, redis: RedisServer): Promise<Box> {
  const backend = await startHttpBackend(name);
  const file = write(`${name}.yaml`, [
    'listen: 127.0.0.1:0',
    `workers: ${workers}`,
    `backends: [${backend.address}]`,
    'admin:',
    '  listen: 127.0.0.1:0',
    'protection:',
    '  rateLimits:',
    `    - { name: per-key, key: header, header: x-key, rate: ${rate}, burst: ${burst}, cluster: true }`,
    '  cluster:',
    `    redis: ${redis.url}`,
    `    intervalMs: ${intervalMs}`,
    `    peers: ${peers}`,
    '    prefix: "lb-test:"',
  ]);
  const cli = new CliProcess(['start', '--config', file]);
  const listening = await cli.waitForLog('listening', () => true, 20_000);
  const admin = await cli.waitForLog('admin-listening', () => true, 20_000);
  return {
    cli,
    backend,
    port: Number(new URL(String(listening.url)).port),
    admin: String(admin.url).replace(/\/$/, ''),
  };
}

async function adminJson(box: Box, path: string): Promise<Record<string, unknown>> {
  const reply = await fetch(`${box.admin}${path}`, { signal: AbortSignal.timeout(5_000) });
  return (await reply.json()) as Record<string, unknown>;
}

async function adminText(box: Box, path: string): Promise<string> {
  const reply = await fetch(`${box.admin}${path}`, { signal: AbortSignal.timeout(5_000) });
  return reply.text();
}

/** Keep-alive clients sending the same key to every box for `ms`; returns the 200s and 429s each box answered. */
async function hammer(boxes: Box[], ms: number, key: string): Promise<Array<{ ok: number; limited: number }>> {
  const until = Date.now() + ms;
  const tallies = boxes.map(() => ({ ok: 0, limited: 0 }));
  await Promise.all(
    boxes.flatMap((box, index) =>
      [0, 1].map(async () => {
        const client = await connectFrom(box.port, '127.0.0.1');
        while (Date.now() < until) {
          const reply = await client.get('/', { 'x-key': key });
          if (reply.status === 200) tallies[index]!.ok += 1;
          else if (reply.status === 429) tallies[index]!.limited += 1;
          else throw new Error(`unexpected status ${reply.status}`);
          await delay(3);
        }
        client.socket.destroy();
      }),
    ),
  );
  return tallies;
}

async function maxGapMs(boxes: Box[]): Promise<number> {
  const states = await Promise.all(boxes.map((box) => adminJson(box, '/protection')));
  return Math.max(...states.map((s) => Number((s.clusterState as { maxExchangeGapMs: number }).maxExchangeGapMs)));
}

/** The documented bound for a run of `seconds` (docs/protection.md, "Across balancers"). */
function clusterBound(seconds: number, gapMs: number): number {
  const d = (gapMs + roundTripMarginMs) / 1000;
  return burst + rate * seconds + peers * workers * (burst + rate * d);
}

describe('cluster-wide rate limits on Redis', () => {
  it('two balancers hold one combined limit; Redis killed: local shares and an event; Redis back: the cluster limit again', async () => {
    const redis = await startRedisServer();
    const boxes = [await startBox('east', redis), await startBox('west', redis)];

    // 1. Both boxes, one key: the combined admissions stay within the documented bound,
    //    well under what two boxes on their own would let through.
    const seconds = 4;
    const before = boxes.map((box) => box.backend.requests);
    const tallies = await hammer(boxes, seconds * 1000, 'tenant-a');
    await delay(2 * intervalMs); // the last counts reach Redis
    const admitted = boxes.reduce((sum, box, i) => sum + box.backend.requests - before[i]!, 0);
    expect(admitted).toBe(tallies[0]!.ok + tallies[1]!.ok);
    const gapMs = await maxGapMs(boxes);
    const bound = clusterBound(seconds, gapMs);
    const alone = peers * (burst + rate * seconds);
    // The bound means something only if the exchanges ran often enough (a box so loaded
    // that the gap approaches a second would make it as loose as no cluster at all).
    expect(bound, `exchange gap ${gapMs} ms`).toBeLessThan(alone);
    expect(admitted, `admitted ${admitted}, bound ${bound.toFixed(1)}, gap ${gapMs} ms`).toBeLessThanOrEqual(bound);
    expect(admitted).toBeGreaterThanOrEqual(rate * seconds * 0.6); // limited, not starved
    expect(tallies[0]!.limited + tallies[1]!.limited).toBeGreaterThan(0);
    const limitedByCluster = await Promise.all(
      boxes.map(async (box) => ((await adminJson(box, '/protection')).clusterState as { limited: number }).limited),
    );
    expect(limitedByCluster.some((n) => n > 0)).toBe(true);

    // 2. Redis killed by its PID: each box logs the event, sets the gauge, and applies its
    //    local share (rate x 0.5, burst x 0.5) on its own.
    for (const box of boxes) expect(box.cli.logsOf('cluster-limits-degraded')).toEqual([]);
    await redis.stop();
    await Promise.all(boxes.map((box) => box.cli.waitForLog('cluster-limits-degraded', () => true, 10_000)));
    for (const box of boxes) {
      expect(await adminText(box, '/metrics')).toMatch(/^lb_protection_cluster_degraded 1$/m);
    }
    const downSeconds = 3;
    const downBefore = boxes.map((box) => box.backend.requests);
    await hammer(boxes, downSeconds * 1000, 'tenant-b');
    const localRate = rate * localShare;
    const localBurst = Math.round(burst * localShare);
    for (const [i, box] of boxes.entries()) {
      const served = box.backend.requests - downBefore[i]!;
      // One worker per box: its local bucket is exact (plus one token of clock rounding).
      expect(served, `box ${i} while Redis was down`).toBeLessThanOrEqual(localBurst + localRate * downSeconds + 1);
      expect(served).toBeGreaterThanOrEqual(localRate * downSeconds * 0.5);
    }

    // 3. Redis back on the same port (empty): both boxes log the recovery, the gauge is 0,
    //    and one combined limit holds again.
    await redis.restart();
    await Promise.all(boxes.map((box) => box.cli.waitForLog('cluster-limits-restored', () => true, 15_000)));
    for (const box of boxes) {
      expect(await adminText(box, '/metrics')).toMatch(/^lb_protection_cluster_degraded 0$/m);
    }
    const againSeconds = 3;
    const againBefore = boxes.map((box) => box.backend.requests);
    await hammer(boxes, againSeconds * 1000, 'tenant-c');
    await delay(2 * intervalMs);
    const again = boxes.reduce((sum, box, i) => sum + box.backend.requests - againBefore[i]!, 0);
    const againBound = clusterBound(againSeconds, await maxGapMs(boxes));
    expect(again, `admitted ${again}, bound ${againBound.toFixed(1)}`).toBeLessThanOrEqual(againBound);
    expect(again).toBeGreaterThanOrEqual(rate * againSeconds * 0.6);

    for (const box of boxes) box.cli.signal('SIGTERM');
    await Promise.all(boxes.map((box) => box.cli.waitForExit()));
  }, 90_000);
});
