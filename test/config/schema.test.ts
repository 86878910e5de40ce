import { afterEach, describe, expect, it } from 'vitest';

import { defaults } from '../../src/config/defaults.js';
import { type BalancerOptions, formatPath, validateOptions } from '../../src/config/schema.js';
import { availableStrategies, strategies } from '../../src/config/strategies.js';
import { LbConfigError } from '../../src/errors.js';
import { loadNative } from '../../src/native.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';

afterEach(runCleanups);

/** The LbConfigError that validating `options` throws. */
function configError(options: unknown): LbConfigError {
  try {
    validateOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(LbConfigError);
    return error as LbConfigError;
  }
  throw new Error('expected the options to be rejected');
}

describe('validateOptions: valid options', () => {
  it('fills every default from defaults.ts', () => {
    const config = validateOptions({ backends: ['127.0.0.1:9001'] });
    expect(config.listeners).toEqual([{ listen: { text: '127.0.0.1:8080', host: '127.0.0.1', port: 8080, kind: 'ipv4' } }]);
    expect(config.strategy).toBe('round-robin');
    expect(config.workers).toBeUndefined();
    expect(config.backlog).toBe(0);
    expect(config.mode).toBe('http');
    expect(config.redirectStatus).toBe(307);
    expect(config.proxyProtocol).toBe('none');
    expect(config.hashHeader).toBe('x-session-id');
    expect(config.cookieName).toBe('lb_backend');
    expect(config.forwarded).toEqual({ mode: 'x-forwarded', trustIncoming: false });
    expect(config.outlierDetection).toEqual({
      consecutiveFailures: 5,
      baseEjectionMs: 30000,
      maxEjectionPercent: 50,
      slowStartMs: 0,
    });
    expect(config.retries).toEqual({ maxTries: 3, budgetPercent: 20, minPerSecond: 10 });
    expect(config.healthCheck).toBeUndefined();
    expect(config.timeouts).toEqual({
      connectMs: 5000,
      responseMs: 60000,
      clientHeadMs: 10000,
      keepAliveMs: 60000,
      backendIdleMs: 4000,
      clientBodyMs: 60000,
      clientBodyTotalMs: 300000,
      tunnelIdleMs: 3600000,
    });
    expect(config.limits).toEqual({
      maxStartLine: 8192,
      maxHeadBytes: 16384,
      maxHeaderCount: 100,
      maxBodyBytes: 0,
      maxClientConnections: 0,
    });
    expect(config.pool).toEqual({
      maxIdlePerBackend: 64,
      surplusIdleMs: 1000,
      tcpKeepAliveIdleSec: 30,
      tcpKeepAliveIntervalSec: 10,
      tcpKeepAliveCount: 3,
    });
    expect(config.backends).toEqual([
      { address: { text: '127.0.0.1:9001', host: '127.0.0.1', port: 9001, kind: 'ipv4' }, weight: 1, state: 'ready' },
    ]);
  });

  it('keeps the backend idle timeout below Node’s 5 s server keep-alive timeout', () => {
    expect(defaults.timeouts.backendIdleMs).toBeLessThan(5000);
  });

  it('accepts the documented example: strings and objects mixed, IPv6, port 0', () => {
    const options: BalancerOptions = {
      listen: '[::1]:0',
      backends: ['127.0.0.1:9001', { address: '127.0.0.1:9002', weight: 3 }, { address: 'backend.test:80', state: 'drain' }],
      strategy: 'round-robin',
      workers: 2,
      timeouts: { connectMs: 250 },
      limits: { maxBodyBytes: 1_000_000 },
      pool: { maxIdlePerBackend: 0 },
      forwarded: { mode: 'forwarded' },
    };
    const config = validateOptions(options);
    expect(config.listeners[0]?.listen).toMatchObject({ host: '::1', port: 0, kind: 'ipv6' });
    expect(config.backends.map((b) => [b.address.text, b.weight, b.state])).toEqual([
      ['127.0.0.1:9001', 1, 'ready'],
      ['127.0.0.1:9002', 3, 'ready'],
      ['backend.test:80', 1, 'drain'],
    ]);
    expect(config.workers).toBe(2);
    expect(config.timeouts.connectMs).toBe(250);
    expect(config.timeouts.responseMs).toBe(60000);
    expect(config.limits.maxBodyBytes).toBe(1_000_000);
    expect(config.pool.maxIdlePerBackend).toBe(0);
    expect(config.forwarded).toEqual({ mode: 'forwarded', trustIncoming: false });
  });

  it('accepts a readonly (as const) backends array', () => {
    const backends = ['127.0.0.1:9001', '127.0.0.1:9002'] as const;
    expect(validateOptions({ backends }).backends).toHaveLength(2);
  });
});

describe('validateOptions: errors name the exact path and what was expected', () => {
  it('backend port out of range', () => {
    const error = configError({ backends: ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:70000'] });
    expect(error.code).toBe('LB_ERR_CONFIG');
    expect(error.issues).toEqual([{ path: 'backends[2].address', message: 'port must be 1-65535, got 70000' }]);
    expect(error.message).toBe('backends[2].address: port must be 1-65535, got 70000');
  });

  it('backend object fields', () => {
    expect(configError({ backends: [{ address: '127.0.0.1:1', weight: 0 }] }).message).toBe(
      'backends[0].weight: expected an integer from 1 to 256, got 0',
    );
    expect(configError({ backends: [{ address: '127.0.0.1:1', weight: 1.5 }] }).message).toBe(
      'backends[0].weight: expected an integer from 1 to 256, got 1.5',
    );
    expect(configError({ backends: [{ address: '127.0.0.1:1', state: 'down' }] }).message).toBe(
      "backends[0].state: expected one of ready, drain, maint, got 'down'",
    );
    expect(configError({ backends: [{ address: 9001 }] }).message).toBe(
      'backends[0].address: expected an address like 127.0.0.1:9001, got 9001',
    );
    expect(configError({ backends: [{ address: '127.0.0.1:1', wieght: 2 }] }).message).toBe(
      "backends[0]: unknown option 'wieght'; expected one of address, weight, state, publicUrl, healthCheck, maxConnections, tls",
    );
    expect(configError({ backends: [42] }).message).toBe(
      'backends[0]: expected an address string or { address, weight?, state?, publicUrl?, healthCheck?, maxConnections?, tls? }, got 42',
    );
  });

  it('no backends, and backends of the wrong type', () => {
    expect(configError({ backends: [] }).message).toBe('backends: expected at least one backend');
    expect(configError({}).message).toBe('backends: expected an array of backends, got undefined');
    expect(configError({ backends: '127.0.0.1:9001' }).message).toBe(
      "backends: expected an array of backends, got '127.0.0.1:9001'",
    );
  });

  it('the same backend address twice', () => {
    expect(configError({ backends: ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9001'] }).issues).toEqual([
      { path: 'backends[2].address', message: 'same address as backends[0]' },
    ]);
  });

  it('strategy: unknown names list every strategy', () => {
    expect(configError({ backends: ['127.0.0.1:1'], strategy: 'fastest' }).message).toBe(
      `strategy: expected one of ${strategies.join(', ')}, got 'fastest'`,
    );
  });

  it('every listed strategy is accepted by the options', () => {
    for (const strategy of strategies) {
      expect(validateOptions({ backends: ['127.0.0.1:1'], strategy }).strategy).toBe(strategy);
    }
  });

  it('the strategies offered are exactly those the addon implements, both ways', () => {
    const native = loadNative().strategies();
    expect(native.length).toBeGreaterThan(0);
    expect(native.filter((name) => !(strategies as readonly string[]).includes(name))).toEqual([]);
    expect(strategies.filter((name) => !native.includes(name))).toEqual([]);
  });

  it('every available strategy is one the native data path runs: the addon itself takes each', async () => {
    // The addon parses the strategy of every configuration it is given (start and each
    // update) and refuses a name it does not implement with LB_ERR_CONFIG, which
    // setStrategy rethrows: so each call below asks the native list.
    const lb = await startBalancer({ backends: ['127.0.0.1:1'], workers: 1, strategy: availableStrategies[0] });
    for (const strategy of availableStrategies) {
      lb.setStrategy(strategy);
      expect(lb.strategy).toBe(strategy);
    }
  });

  it('listen address', () => {
    expect(configError({ backends: ['127.0.0.1:1'], listen: '127.0.0.1:99999' }).message).toBe(
      'listen: port must be 0-65535, got 99999',
    );
    expect(configError({ backends: ['127.0.0.1:1'], listen: 8080 }).message).toBe(
      'listen: expected an address like 127.0.0.1:9001, got 8080',
    );
  });

  it('numbers: type, integer and range in one message', () => {
    const base = { backends: ['127.0.0.1:1'] };
    expect(configError({ ...base, workers: 0 }).message).toBe('workers: expected an integer from 1 to 1024, got 0');
    expect(configError({ ...base, workers: '2' }).message).toBe("workers: expected an integer from 1 to 1024, got '2'");
    expect(configError({ ...base, workers: Number.NaN }).message).toBe('workers: expected an integer from 1 to 1024, got NaN');
    expect(configError({ ...base, timeouts: { connectMs: 0 } }).message).toBe(
      'timeouts.connectMs: expected an integer from 1 to 2147483647, got 0',
    );
    expect(configError({ ...base, limits: { maxBodyBytes: -1 } }).message).toBe(
      'limits.maxBodyBytes: expected an integer >= 0, got -1',
    );
    expect(configError({ ...base, pool: { tcpKeepAliveCount: 500 } }).message).toBe(
      'pool.tcpKeepAliveCount: expected an integer from 1 to 127, got 500',
    );
  });

  it('a start line limit larger than the head limit', () => {
    expect(configError({ backends: ['127.0.0.1:1'], limits: { maxStartLine: 20000 } }).message).toBe(
      'limits.maxStartLine: must not exceed limits.maxHeadBytes (16384), got 20000',
    );
  });

  it('unknown options, at the top level and nested, list the known ones', () => {
    expect(configError({ backends: ['127.0.0.1:1'], workerz: 2 }).issues).toEqual([
      {
        path: '',
        message:
          "unknown option 'workerz'; expected one of listen, listeners, backends, strategy, mode, redirectStatus, proxyProtocol, hashHeader, cookieName, workers, backlog, timeouts, limits, pool, bodies, forwarded, headers, outlierDetection, retries, healthCheck, accessLogSampleRate, protection, queue, tls, http2, http2c, http2Limits, httpsRedirect",
      },
    ]);
    expect(configError({ backends: ['127.0.0.1:1'], timeouts: { connect: 5 } }).message).toBe(
      "timeouts: unknown option 'connect'; expected one of connectMs, responseMs, clientHeadMs, keepAliveMs, backendIdleMs, clientBodyMs, clientBodyTotalMs, tunnelIdleMs",
    );
  });

  it('something other than an object', () => {
    expect(configError(undefined).message).toBe('expected an options object, got undefined');
    expect(configError('127.0.0.1:9001').message).toBe("expected an options object, got '127.0.0.1:9001'");
  });

  it('reports every problem, one per path', () => {
    const error = configError({
      listen: 'nope',
      backends: ['127.0.0.1:70000'],
      workers: -1,
      forwarded: { trustIncoming: 'yes' },
    });
    expect(error.issues.map((i) => i.path)).toEqual(['listen', 'backends[0].address', 'workers', 'forwarded.trustIncoming']);
    expect(error.message.split('\n')).toHaveLength(4);
    expect(error.issues[3]?.message).toBe("expected true or false, got 'yes'");
  });
});

describe('formatPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    expect(formatPath([])).toBe('');
    expect(formatPath(['backends', 2, 'address'])).toBe('backends[2].address');
    expect(formatPath(['timeouts', 'connectMs'])).toBe('timeouts.connectMs');
  });
});
