// The options added for modes, strategies, forwarded headers, passive and active health
// and retries: defaults, accepted values, and one precise message per mistake.
import { describe, expect, it } from 'vitest';

import { parsePublicUrl } from '../../src/config/address.js';
import { completeHealthCheck, effectiveHealthCheck, validateOptions } from '../../src/config/schema.js';
import { LbConfigError } from '../../src/errors.js';

const base = { backends: ['127.0.0.1:9001'] };

function message(options: unknown): string {
  try {
    validateOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(LbConfigError);
    return (error as LbConfigError).message;
  }
  throw new Error('expected the options to be rejected');
}

describe('mode and the options of one mode', () => {
  it('accepts the three modes and their own options', () => {
    expect(validateOptions({ ...base, mode: 'redirect', redirectStatus: 302 })).toMatchObject({
      mode: 'redirect',
      redirectStatus: 302,
    });
    expect(validateOptions({ ...base, mode: 'tcp', proxyProtocol: 'v2' })).toMatchObject({ mode: 'tcp', proxyProtocol: 'v2' });
    expect(validateOptions({ ...base, mode: 'tcp' }).proxyProtocol).toBe('none');
    expect(validateOptions({ ...base, proxyProtocol: 'none' }).proxyProtocol).toBe('none');
  });

  it('refuses an option of another mode instead of ignoring it', () => {
    expect(message({ ...base, redirectStatus: 301 })).toBe("redirectStatus: only applies in redirect mode; mode is 'http'");
    expect(message({ ...base, mode: 'redirect', proxyProtocol: 'v1' })).toBe(
      "proxyProtocol: only applies in tcp mode; mode is 'redirect'",
    );
    expect(message({ backends: [{ address: '127.0.0.1:1', publicUrl: 'http://a.example' }], mode: 'tcp' })).toBe(
      "backends[0].publicUrl: only applies in redirect mode; mode is 'tcp'",
    );
  });

  it('bad values', () => {
    expect(message({ ...base, mode: 'udp' })).toBe("mode: expected one of http, redirect, tcp, got 'udp'");
    expect(message({ ...base, mode: 'redirect', redirectStatus: 300 })).toBe(
      'redirectStatus: expected one of 301, 302, 303, 307, 308, got 300',
    );
    expect(message({ ...base, mode: 'redirect', redirectStatus: '307' })).toBe(
      "redirectStatus: expected one of 301, 302, 303, 307, 308, got '307'",
    );
    expect(message({ ...base, mode: 'tcp', proxyProtocol: 'v3' })).toBe("proxyProtocol: expected one of none, v1, v2, got 'v3'");
  });

  it('strategies that need an HTTP request are refused where there is none', () => {
    expect(message({ ...base, mode: 'tcp', strategy: 'uri-hash' })).toBe(
      "strategy: 'uri-hash' needs the request target, which tcp mode does not have",
    );
    expect(message({ ...base, mode: 'redirect', strategy: 'cookie' })).toBe(
      "strategy: 'cookie' needs a cookie set on a proxied response, which redirect mode does not have",
    );
    expect(validateOptions({ ...base, mode: 'redirect', strategy: 'uri-hash' }).strategy).toBe('uri-hash');
    expect(validateOptions({ ...base, mode: 'tcp', strategy: 'ip-hash' }).strategy).toBe('ip-hash');
  });
});

describe('publicUrl', () => {
  it('keeps the origin only: lower-case host, no default port, no trailing slash', () => {
    expect(parsePublicUrl('https://WEB1.example.com/')).toEqual({ ok: true, url: 'https://web1.example.com' });
    expect(parsePublicUrl('http://10.0.0.5:80')).toEqual({ ok: true, url: 'http://10.0.0.5' });
    expect(parsePublicUrl('http://[::1]:8080')).toEqual({ ok: true, url: 'http://[::1]:8080' });
    const config = validateOptions({
      mode: 'redirect',
      backends: [{ address: '10.0.0.5:8080', publicUrl: 'https://web1.example.com:8443/' }],
    });
    expect(config.backends[0]?.publicUrl).toBe('https://web1.example.com:8443');
  });

  it.for([
    ['ftp://a.example.com', "'ftp://a.example.com' is not an http(s) URL"],
    ['a.example.com', "'a.example.com' is not an http(s) URL"],
    ['https://a.example.com/app', "'https://a.example.com/app' has a path"],
    ['https://a.example.com/?x=1', "'https://a.example.com/?x=1' has a query or fragment"],
    ['https://a.example.com#top', "'https://a.example.com#top' has a query or fragment"],
    ['https://user:pw@a.example.com', "'https://user:pw@a.example.com' has credentials"],
    ['https://', "'https://' is not a valid URL"],
  ] as const)('refuses %s', ([url, start]) => {
    const text = message({ mode: 'redirect', backends: [{ address: '127.0.0.1:1', publicUrl: url }] });
    expect(text.startsWith(`backends[0].publicUrl: ${start}`), text).toBe(true);
    expect(text).toContain('expected an absolute http(s) URL with no path');
  });
});

describe('strategy settings and forwarded headers', () => {
  it('hashHeader and cookieName', () => {
    expect(validateOptions({ ...base, hashHeader: 'X-Tenant', cookieName: 'srv.id-1' })).toMatchObject({
      hashHeader: 'X-Tenant',
      cookieName: 'srv.id-1',
    });
    expect(message({ ...base, hashHeader: 'x tenant' })).toBe(
      "hashHeader: expected a header name (letters, digits, '-', ...), got 'x tenant'",
    );
    expect(message({ ...base, cookieName: 'a;b' })).toBe("cookieName: expected 1-64 letters, digits, '_', '-' or '.', got 'a;b'");
    expect(message({ ...base, cookieName: 'x'.repeat(65) })).toContain('cookieName: expected 1-64 letters');
  });

  it('forwarded: each field defaults on its own', () => {
    expect(validateOptions({ ...base, forwarded: { trustIncoming: true } }).forwarded).toEqual({
      mode: 'x-forwarded',
      trustIncoming: true,
    });
    expect(validateOptions({ ...base, forwarded: { mode: 'none' } }).forwarded).toEqual({ mode: 'none', trustIncoming: false });
    expect(message({ ...base, forwarded: { mode: 'xff' } })).toBe(
      "forwarded.mode: expected one of x-forwarded, forwarded, none, got 'xff'",
    );
    expect(message({ ...base, forwarded: true })).toBe('forwarded: expected an object { mode?, trustIncoming? }, got true');
  });

  it('the old xForwardedFor option is gone', () => {
    expect(message({ ...base, xForwardedFor: false })).toContain("unknown option 'xForwardedFor'");
  });
});

describe('timeouts, outlier detection, retries', () => {
  it('accept their ranges', () => {
    const config = validateOptions({
      ...base,
      timeouts: { clientBodyMs: 5, tunnelIdleMs: 7 },
      outlierDetection: { consecutiveFailures: 0, slowStartMs: 10000 },
      retries: { maxTries: 1, budgetPercent: 0, minPerSecond: 0 },
    });
    expect(config.timeouts).toMatchObject({ clientBodyMs: 5, tunnelIdleMs: 7 });
    expect(config.outlierDetection).toEqual({
      consecutiveFailures: 0,
      baseEjectionMs: 30000,
      maxEjectionPercent: 50,
      slowStartMs: 10000,
    });
    expect(config.retries).toEqual({ maxTries: 1, budgetPercent: 0, minPerSecond: 0 });
  });

  it('name the field and the range', () => {
    expect(message({ ...base, timeouts: { tunnelIdleMs: 0 } })).toBe(
      'timeouts.tunnelIdleMs: expected an integer from 1 to 2147483647, got 0',
    );
    expect(message({ ...base, outlierDetection: { maxEjectionPercent: 101 } })).toBe(
      'outlierDetection.maxEjectionPercent: expected an integer from 0 to 100, got 101',
    );
    expect(message({ ...base, retries: { maxTries: 5 } })).toBe('retries.maxTries: expected an integer from 1 to 4, got 5');
    expect(message({ ...base, retries: { tries: 2 } })).toBe(
      "retries: unknown option 'tries'; expected one of maxTries, budgetPercent, minPerSecond",
    );
  });

  it('limits stay within what the data path accepts', () => {
    expect(message({ ...base, limits: { maxHeaderCount: 257 } })).toBe(
      'limits.maxHeaderCount: expected an integer from 1 to 256, got 257',
    );
    expect(message({ ...base, limits: { maxStartLine: 65537, maxHeadBytes: 1048576 } })).toBe(
      'limits.maxStartLine: expected an integer from 16 to 65536, got 65537',
    );
  });
});

describe('healthCheck', () => {
  it('absent means no checks; {} means every default', () => {
    expect(validateOptions(base).healthCheck).toBeUndefined();
    expect(validateOptions({ ...base, healthCheck: {} }).healthCheck).toEqual({
      type: 'http',
      path: '/',
      intervalMs: 2000,
      timeoutMs: 1000,
      rise: 2,
      fall: 3,
      expectStatus: '200-399',
    });
  });

  it('expectStatus: a code, a range or a list, normalised', () => {
    const check = (expectStatus: unknown) =>
      validateOptions({ ...base, healthCheck: { expectStatus } }).healthCheck?.expectStatus;
    expect(check(200)).toBe('200');
    expect(check('200-299, 404')).toBe('200-299,404');
    expect(check('204-204')).toBe('204');
    expect(message({ ...base, healthCheck: { expectStatus: '2xx' } })).toBe(
      "healthCheck.expectStatus: '2xx' is not a status code or range; expected codes 100-599, e.g. '200-399' or '200,204'",
    );
    expect(message({ ...base, healthCheck: { expectStatus: '399-200' } })).toBe(
      "healthCheck.expectStatus: range '399-200' ends before it starts",
    );
    expect(message({ ...base, healthCheck: { expectStatus: '099' } })).toBe(
      'healthCheck.expectStatus: status 99 is out of range; expected codes 100-599',
    );
  });

  it('each field says what it expected', () => {
    expect(message({ ...base, healthCheck: { type: 'icmp' } })).toBe("healthCheck.type: expected one of http, tcp, got 'icmp'");
    expect(message({ ...base, healthCheck: { path: 'health' } })).toBe(
      "healthCheck.path: expected a path starting with '/' (no spaces, at most 2048 characters), got 'health'",
    );
    expect(message({ ...base, healthCheck: { path: '/a b' } })).toContain("healthCheck.path: expected a path starting with '/'");
    expect(message({ ...base, healthCheck: { intervalMs: 5 } })).toBe(
      'healthCheck.intervalMs: expected an integer from 10 to 86400000, got 5',
    );
    expect(message({ ...base, healthCheck: { rise: 0 } })).toBe('healthCheck.rise: expected an integer from 1 to 1000, got 0');
    expect(message({ ...base, healthCheck: { host: 'a b' } })).toBe(
      "healthCheck.host: expected a host name (or host:port), got 'a b'",
    );
    expect(message({ ...base, healthCheck: { type: 'tcp', expectStatus: '200' } })).toBe(
      "healthCheck.expectStatus: only applies to http checks; type is 'tcp'",
    );
    expect(message({ ...base, healthCheck: true })).toBe('healthCheck: expected an object of health check settings, got true');
  });

  it('a backend may override fields of the balancer check, or turn it off', () => {
    const config = validateOptions({
      backends: [
        '127.0.0.1:1',
        { address: '127.0.0.1:2', healthCheck: false },
        { address: '127.0.0.1:3', healthCheck: { path: '/ready', fall: 1 } },
      ],
      healthCheck: { path: '/healthz', intervalMs: 500 },
    });
    const [a, b, c] = config.backends.map((backend) => effectiveHealthCheck(config.healthCheck, backend.healthCheck));
    expect(a).toEqual(config.healthCheck);
    expect(b).toBeUndefined();
    expect(c).toMatchObject({ path: '/ready', fall: 1, intervalMs: 500, rise: 2 });
    // A backend's own check without a balancer-wide one starts from the defaults.
    expect(effectiveHealthCheck(undefined, { type: 'tcp' })).toEqual(completeHealthCheck({ type: 'tcp' }));
    expect(effectiveHealthCheck(undefined, undefined)).toBeUndefined();
    expect(message({ backends: [{ address: '127.0.0.1:1', healthCheck: 'on' }] })).toBe(
      "backends[0].healthCheck: expected false or an object of health check settings, got 'on'",
    );
  });
});
