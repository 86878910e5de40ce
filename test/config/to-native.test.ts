import { describe, expect, it } from 'vitest';

import { type BalancerConfig, validateOptions } from '../../src/config/schema.js';
import { type LiveState, toNativeConfig } from '../../src/config/to-native.js';

/** Live state for `config`'s backends, numbered by position, all healthy. */
function live(config: BalancerConfig, listenHost: string, hosts: string[], workers: number): LiveState {
  return {
    listeners: config.listeners.map((l) => ({ host: listenHost, port: l.listen.port })),
    workers,
    strategy: config.strategy,
    backends: config.backends.map((b, id) => ({ id, config: b, host: hosts[id] ?? '', healthy: true })),
  };
}

describe('toNativeConfig', () => {
  it('maps every option onto NativeConfig, numbering backends by position', () => {
    const config = validateOptions({
      listen: '0.0.0.0:8080',
      backends: ['127.0.0.1:9001', { address: 'db.test:9002', weight: 3, state: 'drain' }],
      strategy: 'header-hash',
      hashHeader: 'x-tenant',
      backlog: 128,
      timeouts: { responseMs: 1234, tunnelIdleMs: 99 },
      limits: { maxClientConnections: 10 },
      pool: { tcpKeepAliveIdleSec: 7 },
      forwarded: { mode: 'forwarded', trustIncoming: true },
      headers: { underscores: 'keep' },
      outlierDetection: { consecutiveFailures: 2 },
      retries: { maxTries: 2 },
    });
    const native = toNativeConfig(config, live(config, '0.0.0.0', ['127.0.0.1', '10.0.0.7'], 3));
    expect(native).toEqual({
      listeners: [{ listenHost: '0.0.0.0', listenPort: 8080 }],
      backlog: 128,
      bodies: { spliceMinBytes: 65536, maxPipes: 256 },
      workers: 3,
      mode: 'http',
      strategy: 'header-hash',
      hashHeader: 'x-tenant',
      cookieName: 'lb_backend',
      backends: [
        { id: 0, host: '127.0.0.1', port: 9001, weight: 1, state: 'ready', healthy: true },
        { id: 1, host: '10.0.0.7', port: 9002, weight: 3, state: 'drain', healthy: true },
      ],
      timeouts: {
        connectMs: 5000,
        responseMs: 1234,
        clientHeadMs: 10000,
        keepAliveMs: 60000,
        backendIdleMs: 4000,
        clientBodyMs: 60000,
        clientBodyTotalMs: 300000,
        tunnelIdleMs: 99,
      },
      limits: { maxStartLine: 8192, maxHeadBytes: 16384, maxHeaderCount: 100, maxBodyBytes: 0, maxClientConnections: 10 },
      pool: {
        maxIdlePerBackend: 64,
        surplusIdleMs: 1000,
        tcpKeepAliveIdleSec: 7,
        tcpKeepAliveIntervalSec: 10,
        tcpKeepAliveCount: 3,
      },
      forwarded: { mode: 'forwarded', trustIncoming: true },
      headers: { underscores: 'keep' },
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 30000, maxEjectionPercent: 50, slowStartMs: 0 },
      retries: { maxTries: 2, budgetPercent: 20, minPerSecond: 10 },
      accessLogSampleRate: 0,
      protection: { allow: [], deny: [], maxConnectionsPerClient: 0, rateLimitKeys: 65536, rateLimits: [] },
      queue: { maxPending: 1024, timeoutMs: 5000 },
      http2: true,
      http2c: false,
      http2Limits: {
        maxConcurrentStreams: 100,
        maxHeaderListBytes: 16384,
        maxHeaderFields: 100,
        maxHeaderBlockBytes: 65536,
        maxContinuationFrames: 8,
        stallTimeoutMs: 30000,
        streamResetBurst: 200,
        streamResetsPerSecond: 50,
        settingsBurst: 32,
        settingsPerSecond: 4,
        pingBurst: 32,
        pingsPerSecond: 4,
        priorityBurst: 512,
        prioritiesPerSecond: 128,
        emptyDataBurst: 64,
        emptyDataPerSecond: 16,
        windowUpdateBurst: 1024,
        windowUpdatesPerSecond: 256,
      },
    });
    expect(native).not.toHaveProperty('xForwardedFor');
  });

  it('always sends forwarded, never the old xForwardedFor', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001'] });
    const native = toNativeConfig(config, live(config, '127.0.0.1', ['127.0.0.1'], 1));
    expect(native.forwarded).toEqual({ mode: 'x-forwarded', trustIncoming: false });
    expect(native).not.toHaveProperty('xForwardedFor');
  });

  it('redirect mode: status and each backend’s public URL (default http:// and the address as given)', () => {
    const config = validateOptions({
      mode: 'redirect',
      redirectStatus: 308,
      backends: [{ address: '10.0.0.5:8080', publicUrl: 'https://web1.example.com/' }, 'web2.internal:8080', '[::1]:81'],
    });
    const native = toNativeConfig(config, live(config, '127.0.0.1', ['10.0.0.5', '10.0.0.6', '::1'], 1));
    expect(native.mode).toBe('redirect');
    expect(native.redirectStatus).toBe(308);
    expect(native.proxyProtocol).toBeUndefined();
    expect(native.backends.map((b) => b.publicUrl)).toEqual([
      'https://web1.example.com',
      'http://web2.internal:8080',
      'http://[::1]:81',
    ]);
  });

  it('tcp mode: the PROXY protocol version, no public URLs', () => {
    const config = validateOptions({ mode: 'tcp', proxyProtocol: 'v1', backends: ['127.0.0.1:5432'] });
    const native = toNativeConfig(config, live(config, '127.0.0.1', ['127.0.0.1'], 1));
    expect(native).toMatchObject({ mode: 'tcp', proxyProtocol: 'v1' });
    expect(native.redirectStatus).toBeUndefined();
    expect(native.backends[0]?.publicUrl).toBeUndefined();
  });

  it('gives native code fresh objects, never the validated config’s own', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001'] });
    const native = toNativeConfig(config, live(config, '127.0.0.1', ['127.0.0.1'], 1));
    native.timeouts.connectMs = 1;
    expect(config.timeouts.connectMs).toBe(5000);
  });

  it('takes the live strategy, ids and health, not the options’', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001', '127.0.0.1:9002'], strategy: 'random' });
    const [first, second] = config.backends;
    const native = toNativeConfig(config, {
      listeners: [{ host: '127.0.0.1', port: 4321 }],
      workers: 2,
      strategy: 'p2c',
      backends: [
        { id: 7, config: second!, host: '127.0.0.1', healthy: false },
        { id: 3, config: first!, host: '127.0.0.1', healthy: true },
      ],
    });
    expect(native.strategy).toBe('p2c');
    expect(native.listeners).toEqual([{ listenHost: '127.0.0.1', listenPort: 4321 }]);
    expect(native.backends.map((b) => [b.id, b.port, b.healthy])).toEqual([
      [7, 9002, false],
      [3, 9001, true],
    ]);
  });
});
