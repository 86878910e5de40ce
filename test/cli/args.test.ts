import { describe, expect, it } from 'vitest';

import { type StartArgs, describeConfigIssue, parseArgs, startFlags } from '../../src/cli/args.js';
import { nativeOptions } from '../../src/config/native-options.js';
import { validateOptions } from '../../src/config/schema.js';
import { LbConfigError, LbUsageError } from '../../src/errors.js';

function start(...argv: string[]): StartArgs {
  const parsed = parseArgs(['start', ...argv]);
  if (parsed.command !== 'start') throw new Error(`expected start, got ${parsed.command}`);
  return parsed;
}

describe('parseArgs', () => {
  it('turns the documented command line into options the schema accepts', () => {
    const args = start(
      '--listen',
      '127.0.0.1:8080',
      '--backend',
      '127.0.0.1:9001',
      '--backend',
      '127.0.0.1:9002',
      '--backend',
      '127.0.0.1:9003,weight=3,state=drain',
      '--strategy',
      'round-robin',
      '--workers',
      '2',
      '--backlog',
      '511',
      '--connect-timeout',
      '100',
      '--response-timeout',
      '200',
      '--client-head-timeout',
      '300',
      '--keep-alive-timeout',
      '400',
      '--backend-idle-timeout',
      '500',
      '--max-connections',
      '1000',
      '--max-body',
      '1048576',
      '--forwarded',
      'forwarded',
      '--trust-forwarded',
      '--log-level',
      'debug',
    );
    expect(args.options).toEqual({
      listen: '127.0.0.1:8080',
      backends: ['127.0.0.1:9001', '127.0.0.1:9002', { address: '127.0.0.1:9003', weight: 3, state: 'drain' }],
      strategy: 'round-robin',
      workers: 2,
      backlog: 511,
      timeouts: { connectMs: 100, responseMs: 200, clientHeadMs: 300, keepAliveMs: 400, backendIdleMs: 500 },
      limits: { maxClientConnections: 1000, maxBodyBytes: 1048576 },
      forwarded: { mode: 'forwarded', trustIncoming: true },
      logging: { level: 'debug' },
    });
    expect(args.logLevel).toBe('debug');
    expect(args.demo).toBe(false);
    expect(args.listenGiven).toBe(true);
    const { logging: _logging, ...options } = args.options;
    const config = validateOptions(options);
    expect(config.backends[2]).toMatchObject({ weight: 3, state: 'drain' });
    expect(config.limits.maxHeadBytes).toBe(16384);
  });

  it('maps the flags of modes, strategies, limits, health, outliers and retries', () => {
    const args = start(
      '--backend',
      '127.0.0.1:9001,public-url=https://web1.example.com,weight=2',
      '--mode',
      'redirect',
      '--redirect-status',
      '308',
      '--strategy',
      'header-hash',
      '--hash-header',
      'x-tenant',
      '--cookie-name',
      'sticky',
      '--client-body-timeout',
      '11',
      '--tunnel-idle-timeout',
      '12',
      '--max-start-line',
      '1024',
      '--max-head-bytes',
      '4096',
      '--max-header-count',
      '50',
      '--health-check',
      '/healthz',
      '--health-interval',
      '100',
      '--health-timeout',
      '50',
      '--health-rise',
      '1',
      '--health-fall',
      '4',
      '--health-expect',
      '200,204',
      '--health-host',
      'web1.example.com',
      '--outlier-failures',
      '3',
      '--outlier-ejection-time',
      '1000',
      '--outlier-max-percent',
      '30',
      '--slow-start',
      '5000',
      '--max-tries',
      '2',
      '--retry-budget',
      '10',
      '--retry-min-per-second',
      '5',
    );
    expect(args.options).toEqual({
      backends: [{ address: '127.0.0.1:9001', publicUrl: 'https://web1.example.com', weight: 2 }],
      mode: 'redirect',
      redirectStatus: 308,
      strategy: 'header-hash',
      hashHeader: 'x-tenant',
      cookieName: 'sticky',
      timeouts: { clientBodyMs: 11, tunnelIdleMs: 12 },
      limits: { maxStartLine: 1024, maxHeadBytes: 4096, maxHeaderCount: 50 },
      healthCheck: {
        type: 'http',
        path: '/healthz',
        intervalMs: 100,
        timeoutMs: 50,
        rise: 1,
        fall: 4,
        expectStatus: '200,204',
        host: 'web1.example.com',
      },
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionPercent: 30, slowStartMs: 5000 },
      retries: { maxTries: 2, budgetPercent: 10, minPerSecond: 5 },
    });
    const config = validateOptions(args.options);
    expect(config.backends[0]?.publicUrl).toBe('https://web1.example.com');
    expect(config.healthCheck?.expectStatus).toBe('200,204');
    expect(start('--backend', 'a:1', '--mode', 'tcp', '--health-check', 'tcp').options.healthCheck).toEqual({ type: 'tcp' });
  });

  it('--demo needs no --backend; defaults: info logging, listen not given', () => {
    const args = start('--demo');
    expect(args).toMatchObject({ demo: true, listenGiven: false, logLevel: 'info', options: {} });
  });

  it('recognises help and version anywhere', () => {
    expect(parseArgs(['start', '--backend', '1.2.3.4:5', '--help'])).toEqual({ command: 'help', topic: 'start' });
    expect(parseArgs(['--help'])).toEqual({ command: 'help', topic: undefined });
    expect(parseArgs(['-v'])).toEqual({ command: 'version' });
  });

  it('records which flag set which option path', () => {
    const args = start('--backend', 'a:1', '--backend', 'b:2,weight=2', '--connect-timeout', '9');
    expect(args.sources).toEqual([
      { path: 'backends[0]', flag: '--backend', value: 'a:1' },
      { path: 'backends[1]', flag: '--backend', value: 'b:2,weight=2' },
      { path: 'timeouts.connectMs', flag: '--connect-timeout', value: '9' },
    ]);
  });

  it('throws LbUsageError with the flag in the message', () => {
    expect(() => start('--backend', 'a:1', '--weight', '3')).toThrow(LbUsageError);
    expect(() => start('--backend', 'a:1,weight')).toThrow("--backend 'a:1,weight': weight: expected weight=VALUE");
    expect(() => start('--backend', 'a:1,weight=2,weight=3')).toThrow(
      "--backend 'a:1,weight=2,weight=3': weight given more than once",
    );
    expect(() => start('--backend', 'a:1,tls=yes')).toThrow("--backend 'a:1,tls=yes': tls takes no value");
    expect(() => start('--backend', 'a:1,tls-sni=x,tls-sni=y')).toThrow(
      "--backend 'a:1,tls-sni=x,tls-sni=y': tls-sni given more than once",
    );
  });

  it('reads TLS towards a backend: tls alone, or any tls-* option', () => {
    const backends = (...flags: string[]) => start(...flags.flatMap((flag) => ['--backend', flag])).options.backends;
    expect(backends('b.test:443,tls', 'c.test:443,tls-ca=ca.pem,tls-sni=c.example,tls-verify=false,weight=2')).toEqual([
      { address: 'b.test:443', tls: {} },
      { address: 'c.test:443', tls: { ca: 'ca.pem', sni: 'c.example', verify: false }, weight: 2 },
    ]);
  });
});

describe('describeConfigIssue', () => {
  function issueLine(...argv: string[]): string {
    const args = start(...argv);
    try {
      validateOptions(args.options);
    } catch (error) {
      if (!(error instanceof LbConfigError) || !error.issues[0]) throw error;
      return describeConfigIssue(error.issues[0], args.sources);
    }
    throw new Error('expected a config error');
  }

  it('names the flag and quotes its value unless the message already shows it', () => {
    expect(issueLine('--backend', '127.0.0.1:70000')).toBe("--backend '127.0.0.1:70000': port must be 1-65535, got 70000");
    expect(issueLine('--backend', 'a:1', '--strategy', 'fastest')).toBe(
      "--strategy: expected one of round-robin, weighted-round-robin, least-connections, random, p2c, peak-ewma, ip-hash, header-hash, uri-hash, cookie, got 'fastest'",
    );
    expect(issueLine('--backend', 'a:1', '--backlog', '70000')).toBe('--backlog: expected an integer from 0 to 65535, got 70000');
  });

  it('each flag of a native option takes the range of the options table, and says so naming the flag', () => {
    const flagged = nativeOptions.flatMap((row) => {
      const flag = startFlags.find((f) => f.path === row.path);
      return flag && row.integer ? [{ row, flag: flag.name }] : [];
    });
    expect(flagged.length).toBeGreaterThan(20);
    for (const { row, flag } of flagged) {
      // maxStartLine may not exceed maxHeadBytes: give the one not under test room.
      const room =
        flag === '--max-start-line'
          ? ['--max-head-bytes', '1048576']
          : flag === '--max-head-bytes'
            ? ['--max-start-line', '16']
            : [];
      const above = row.max === Number.MAX_SAFE_INTEGER ? row.max + 2 : row.max + 1;
      const range = row.max === Number.MAX_SAFE_INTEGER ? `an integer >= ${row.min}` : `an integer from ${row.min} to ${row.max}`;
      expect(issueLine('--backend', 'a:1', ...room, flag, String(above))).toBe(`${flag}: expected ${range}, got ${above}`);
      const args = start('--backend', 'a:1', ...room, flag, String(row.max));
      const [section, key] = row.path.split('.');
      const config = validateOptions(args.options) as unknown as Record<string, Record<string, unknown>>;
      expect(key === undefined ? config[section!] : config[section!]?.[key]).toBe(row.max);
    }
  });

  it('names the part of a backend flag that is wrong, as it was written', () => {
    expect(issueLine('--backend', 'a:1,weight=999')).toBe(
      "--backend 'a:1,weight=999': weight: expected an integer from 1 to 256, got 999",
    );
    expect(issueLine('--backend', 'a:1,public-url=http://x', '--mode', 'tcp')).toBe(
      "--backend 'a:1,public-url=http://x': public-url: only applies in redirect mode; mode is 'tcp'",
    );
  });

  it('falls back to the option path when no flag set the value', () => {
    expect(describeConfigIssue({ path: 'limits.maxStartLine', message: 'too big' }, [])).toBe('limits.maxStartLine: too big');
    expect(describeConfigIssue({ path: '', message: 'rejected' }, [])).toBe('rejected');
  });
});
