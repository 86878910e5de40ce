// The `protection` section as `createBalancer` and `lb-native validate` check it: every
// problem named by its path, in a file with its line; and the addon refusing what
// TypeScript would have refused, should a bad value get past it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseCidr } from '../../src/config/cidr.js';
import { redactConfig } from '../../src/config/redact.js';
import { validateOptions } from '../../src/config/schema.js';
import { LbConfigError } from '../../src/errors.js';
import { loadNative } from '../../src/native.js';
import { ensureBuilt, runCli } from '../helpers/cli.js';

function issuesOf(protection: unknown): Array<{ path: string; message: string }> {
  try {
    validateOptions({ backends: ['127.0.0.1:9001'], protection });
  } catch (error) {
    if (error instanceof LbConfigError) return error.issues.map(({ path, message }) => ({ path, message }));
    throw error;
  }
  return [];
}

describe('protection options', () => {
  it('fills in the defaults: nothing limited', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001'] });
    expect(config.protection).toEqual({ allow: [], deny: [], maxConnectionsPerClient: 0, rateLimitKeys: 65_536, rateLimits: [] });
  });

  it('names each rate limit after its key and position unless named', () => {
    const config = validateOptions({
      backends: ['127.0.0.1:9001'],
      protection: {
        rateLimits: [
          { key: 'client', rate: 1, burst: 1 },
          { name: 'api', key: 'header', header: 'x-api-key', rate: 0.5, burst: 2 },
        ],
      },
    });
    expect(config.protection.rateLimits.map((r) => r.name)).toEqual(['client-0', 'api']);
  });

  it('names the path and what was expected for each problem', () => {
    expect(
      issuesOf({
        allow: ['10.0.0.1/8', 'example.com'],
        deny: ['10.0.0.0/33'],
        maxConnectionsPerClient: 70_000,
        rateLimits: [
          { key: 'header', rate: 0, burst: 1 },
          { key: 'path', rate: 1, burst: 1.5 },
          { key: 'client', header: 'x', rate: 1, burst: 1, extra: 1 },
        ],
      }),
    ).toEqual([
      { path: 'protection.allow[0]', message: "host bits are set past /8 in '10.0.0.1/8' (did you mean the network address?)" },
      {
        path: 'protection.allow[1]',
        message: "expected an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32, got 'example.com'",
      },
      { path: 'protection.deny[0]', message: "prefix length must be 0-32, got '10.0.0.0/33'" },
      { path: 'protection.maxConnectionsPerClient', message: 'expected an integer from 0 to 65535, got 70000' },
      { path: 'protection.rateLimits[0].rate', message: 'expected requests per second from 0.001 to 1000000, got 0' },
      { path: 'protection.rateLimits[0].header', message: "required for key 'header': the header to count by" },
      { path: 'protection.rateLimits[1].burst', message: 'expected an integer from 1 to 1000000, got 1.5' },
      { path: 'protection.rateLimits[1].pathPrefix', message: "required for key 'path': the prefix to limit" },
      {
        path: 'protection.rateLimits[2]',
        message: "unknown option 'extra'; expected one of name, key, header, pathPrefix, rate, burst, cluster",
      },
      { path: 'protection.rateLimits[2].header', message: "only applies to key 'header'; key is 'client'" },
    ]);
    expect(issuesOf({ rateLimits: [{ key: 'header', rate: 1, burst: 1 }] })).toEqual([
      { path: 'protection.rateLimits[0].header', message: "required for key 'header': the header to count by" },
    ]);
    expect(
      issuesOf({
        rateLimits: [
          { name: 'a', key: 'client', rate: 1, burst: 1 },
          { name: 'a', key: 'path', pathPrefix: 'login', rate: 1, burst: 1 },
        ],
      }),
    ).toEqual([
      { path: 'protection.rateLimits[1].pathPrefix', message: "expected a path starting with '/' (no spaces), got 'login'" },
    ]);
  });

  it('the TypeScript CIDR check agrees with the forms the data path takes', () => {
    for (const ok of [
      '10.0.0.0/8',
      '192.0.2.7',
      '::/0',
      '2001:db8::/32',
      '::ffff:10.0.0.0/104',
      '1:2:3:4:5:6:7:8/128',
      'fe80::/10',
    ])
      expect(parseCidr(ok), ok).toEqual({ ok: true, block: ok });
    for (const bad of ['10.0.0.0/', '2001:db8::1/32', '::ffff:10.0.0.1/104', '10.0.0/8', ' 10.0.0.0/8', '1.2.3.4/x'])
      expect(parseCidr(bad).ok, bad).toBe(false);
  });

  it('the addon refuses a malformed block or rule by its path, should one get past the schema', () => {
    const addon = loadNative();
    const base = {
      listeners: [{ listenHost: '127.0.0.1', listenPort: 0 }],
      backlog: 0,
      workers: 1,
      mode: 'http' as const,
      strategy: 'round-robin' as const,
      backends: [{ id: 0, host: '127.0.0.1', port: 9001, weight: 1, state: 'ready' as const }],
      timeouts: { connectMs: 1000, responseMs: 1000, clientHeadMs: 1000, keepAliveMs: 1000, backendIdleMs: 1000 },
      limits: { maxStartLine: 8192, maxHeadBytes: 16384, maxHeaderCount: 100, maxBodyBytes: 0, maxClientConnections: 0 },
      pool: {
        maxIdlePerBackend: 1,
        surplusIdleMs: 0,
        tcpKeepAliveIdleSec: 30,
        tcpKeepAliveIntervalSec: 10,
        tcpKeepAliveCount: 3,
      },
      forwarded: { mode: 'none' as const, trustIncoming: false },
    };
    const refusal = (protection: unknown): string => {
      const balancer = new addon.Balancer(() => {});
      try {
        balancer.start({ ...base, protection } as never);
      } catch (error) {
        return (error as Error).message;
      }
      balancer.stop(0, () => {});
      return 'started';
    };
    const rules = { allow: [], deny: [], maxConnectionsPerClient: 0, rateLimitKeys: 1024, rateLimits: [] };
    expect(refusal({ ...rules, deny: ['10.0.0.1/8'] })).toBe(
      'protection.deny[0]: host bits are set past the prefix length (did you mean the network address?)',
    );
    expect(refusal({ ...rules, rateLimits: [{ name: 'x', key: 'header', rate: 1, burst: 1 }] })).toBe(
      'protection.rateLimits[0].header: expected a string',
    );
    expect(refusal({ ...rules, rateLimits: [{ name: 'x', key: 'client', rate: 1, burst: 0 }] })).toBe(
      'protection.rateLimits[0].burst: expected an integer from 1 to 1000000',
    );
    expect(refusal({ ...rules, maxConnectionsPerClient: 65_536 })).toBe(
      'protection.maxConnectionsPerClient: expected an integer from 0 to 65535',
    );
    const clusterRule = { name: 'c', key: 'client', rate: 1, burst: 1, cluster: true };
    expect(refusal({ ...rules, rateLimits: [clusterRule] })).toBe(
      'protection.cluster: required by a rate limit with cluster: true',
    );
    expect(refusal({ ...rules, rateLimits: [clusterRule], cluster: { prefix: 'p:', localShare: 0, keys: 1024 } })).toBe(
      'protection.cluster.localShare: expected a number from 0.000001 to 1',
    );
    expect(refusal({ ...rules, circuitBreaker: { maxRequests: -1, maxPendingRequests: 0 } })).toBe(
      'protection.circuitBreaker.maxRequests: expected an integer from 0 to 1000000',
    );
    expect(refusal({ ...rules, rateLimits: [{ ...clusterRule, cluster: 'yes' }] })).toBe(
      'protection.rateLimits[0].cluster: expected true or false',
    );
  });

  it('circuitBreaker: Envoy’s names, defaults 0 (off), bad values named', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001'], protection: { circuitBreaker: { maxRequests: 10 } } });
    expect(config.protection.circuitBreaker).toEqual({ maxRequests: 10, maxPendingRequests: 0 });
    expect(issuesOf({ circuitBreaker: { maxRequests: 1.5, maxPending: 2 } }).map((issue) => issue.path)).toEqual([
      'protection.circuitBreaker.maxRequests',
      'protection.circuitBreaker',
    ]);
  });

  it('cluster: defaults filled in (localShare 1 / peers), a cluster rule without it named, bad values named', () => {
    const config = validateOptions({
      backends: ['127.0.0.1:9001'],
      protection: {
        rateLimits: [{ name: 'api', key: 'header', header: 'x-api-key', rate: 5, burst: 5, cluster: true }],
        cluster: { redis: 'redis://127.0.0.1:6379', peers: 4 },
      },
    });
    expect(config.protection.cluster).toEqual({
      redis: 'redis://127.0.0.1:6379',
      intervalMs: 100,
      prefix: 'lb-native:rl:',
      peers: 4,
      localShare: 0.25,
      keys: 16_384,
      timeoutMs: 1_000,
    });
    // The URL may carry a password: never logged or echoed.
    expect(redactConfig(config).protection.cluster?.redis).toBe('[redacted]');
    expect(issuesOf({ rateLimits: [{ key: 'client', rate: 1, burst: 1, cluster: true }] })).toEqual([
      { path: 'protection.rateLimits[0].cluster', message: 'needs protection.cluster (the Redis the balancers share)' },
    ]);
    expect(
      issuesOf({ cluster: { redis: 'http://127.0.0.1:6379', intervalMs: 10, localShare: 1.5, surprise: 1 } }).map(
        (issue) => issue.path,
      ),
    ).toEqual(
      expect.arrayContaining(['protection.cluster.redis', 'protection.cluster.intervalMs', 'protection.cluster.localShare']),
    );
    // Regression (redis-url-password-in-error): a refused URL is never echoed, it may carry a password.
    const refused = issuesOf({ cluster: { redis: 'redis://ops:s3cret-pass@cache/with/slashes' } });
    expect(refused).toEqual([
      {
        path: 'protection.cluster.redis',
        message: 'expected a URL like redis://[user:password@]host:port[/db] (not shown: it may carry a password)',
      },
    ]);
    expect(JSON.stringify(refused)).not.toContain('s3cret');
  });
});

describe('lb-native validate', () => {
  beforeAll(ensureBuilt, 150_000);
  const dir = mkdtempSync(join(tmpdir(), 'lb-protection-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checks the protection section, naming file, line and path', async () => {
    const path = join(dir, 'lb.yaml');
    writeFileSync(
      path,
      [
        'backends: [127.0.0.1:9001]',
        'protection:',
        '  deny: [10.0.0.0/8, 192.0.2.300]',
        '  rateLimits:',
        '    - { key: client, rate: 10, burst: 0 }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', path]);
    expect(result.stderr).toBe(
      `${path}:3: protection.deny[1]: expected an IP address or CIDR block like 10.0.0.0/8 or 2001:db8::/32, got '192.0.2.300'\n` +
        `${path}:5: protection.rateLimits[0].burst: expected an integer from 1 to 1000000, got 0\n`,
    );
    expect(result.code).toBe(2);
    writeFileSync(path, ['backends: [127.0.0.1:9001]', 'protection:', '  allow: [10.0.0.0/8, "::1"]', ''].join('\n'));
    expect(await runCli(['validate', path])).toMatchObject({ code: 0, stdout: 'ok: 1 backend, mode http\n' });
  });
});
