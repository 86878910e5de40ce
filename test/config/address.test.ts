import { describe, expect, it } from 'vitest';

import { addressKey, formatAddress, isLoopback, parseAddress, resolveHost } from '../../src/config/address.js';
import { LbResolveError } from '../../src/errors.js';

function parsed(text: string, allowPortZero = false) {
  const result = parseAddress(text, { allowPortZero });
  if (!result.ok) throw new Error(`expected '${text}' to parse, got: ${result.message}`);
  return result.address;
}

function failure(text: string, allowPortZero = false): string {
  const result = parseAddress(text, { allowPortZero });
  if (result.ok) throw new Error(`expected '${text}' to be rejected`);
  return result.message;
}

describe('parseAddress', () => {
  it('parses IPv4, bracketed IPv6 and host names', () => {
    expect(parsed('127.0.0.1:9001')).toEqual({ host: '127.0.0.1', port: 9001, kind: 'ipv4' });
    expect(parsed('[::1]:8080')).toEqual({ host: '::1', port: 8080, kind: 'ipv6' });
    expect(parsed('[2001:db8::42]:443')).toEqual({ host: '2001:db8::42', port: 443, kind: 'ipv6' });
    expect(parsed('api.internal:80')).toEqual({ host: 'api.internal', port: 80, kind: 'hostname' });
    expect(parsed('localhost:65535')).toEqual({ host: 'localhost', port: 65535, kind: 'hostname' });
    expect(parsed('my_service-1:3000').kind).toBe('hostname');
  });

  it('rejects ports out of range, saying the range and what it got', () => {
    expect(failure('127.0.0.1:70000')).toBe('port must be 1-65535, got 70000');
    expect(failure('127.0.0.1:0')).toBe('port must be 1-65535, got 0');
    expect(failure('[::1]:65536')).toBe('port must be 1-65535, got 65536');
  });

  it('accepts port 0 only where allowed (listen addresses)', () => {
    expect(parsed('127.0.0.1:0', true).port).toBe(0);
    expect(failure('127.0.0.1:70000', true)).toBe('port must be 0-65535, got 70000');
  });

  it('explains malformed addresses', () => {
    expect(failure('')).toBe('expected host:port, e.g. 127.0.0.1:9001');
    expect(failure('127.0.0.1')).toBe('missing port; expected host:port, e.g. 127.0.0.1:9001');
    expect(failure('127.0.0.1:')).toBe('missing port; expected a port 1-65535');
    expect(failure(':8080')).toBe('missing host; expected host:port, e.g. 127.0.0.1:9001');
    expect(failure('127.0.0.1:http')).toBe("port must be a number 1-65535, got 'http'");
    expect(failure('127.0.0.1:-1')).toBe("port must be a number 1-65535, got '-1'");
    expect(failure('::1:8080')).toBe('IPv6 addresses need brackets, e.g. [::1]:8080');
    expect(failure('[::1:8080')).toBe("missing ']' after the IPv6 address; expected [ipv6]:port");
    expect(failure('[::1]')).toBe('missing port; expected [ipv6]:port, e.g. [::1]:8080');
    expect(failure('[::1]8080')).toBe('expected [ipv6]:port, e.g. [::1]:8080');
    expect(failure('[127.0.0.1]:80')).toBe("'127.0.0.1' is not an IPv6 address; expected [ipv6]:port");
    expect(failure('300.1.2.3:80')).toBe("'300.1.2.3' is not a valid IPv4 address");
    expect(failure('bad host:80')).toBe("'bad host' is not a valid host name or IP address");
    expect(failure('-leading.dash:80')).toBe("'-leading.dash' is not a valid host name or IP address");
  });
});

describe('formatAddress', () => {
  it('brackets IPv6 hosts only', () => {
    expect(formatAddress('127.0.0.1', 80)).toBe('127.0.0.1:80');
    expect(formatAddress('::1', 8080)).toBe('[::1]:8080');
    expect(formatAddress('example.test', 1)).toBe('example.test:1');
  });
});

describe('addressKey', () => {
  it('is the same for every spelling of one address', () => {
    const same = [
      ['[::1]:9001', '[0:0::1]:9001', '[0:0:0:0:0:0:0:1]:9001', '[::0001]:9001'],
      ['[2001:db8::42]:443', '[2001:DB8:0:0::42]:443', '[2001:0db8::0042]:443'],
      ['web.example:8080', 'Web.Example:8080', 'web.example.:8080', 'WEB.EXAMPLE.:8080'],
      ['127.0.0.1:80', '127.0.0.1:080', ' 127.0.0.1:80 '],
    ];
    for (const spellings of same) {
      const keys = new Set(spellings.map((s) => addressKey(s)));
      expect(keys.size, spellings.join(' ')).toBe(1);
    }
    expect(addressKey('[0:0::1]:80')).toBe('[::1]:80');
    expect(addressKey('Web.Example.:8080')).toBe('web.example:8080');
  });

  it('gives a parsed address the key of its text', () => {
    expect(addressKey({ host: '0:0::1', port: 9001 })).toBe(addressKey('[::1]:9001'));
    expect(addressKey(parsed('API.internal.:80'))).toBe(addressKey('api.internal:80'));
  });

  it('tells different addresses apart: another port, host or family; names are not resolved', () => {
    const keys = ['127.0.0.1:80', '127.0.0.1:81', '127.0.0.2:80', '[::1]:80', '[::ffff:127.0.0.1]:80', 'localhost:80'].map((s) =>
      addressKey(s),
    );
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keys text that is not an address by the text itself', () => {
    expect(addressKey('not an address')).toBe('not an address');
    expect(addressKey('127.0.0.1:0')).toBe('127.0.0.1:0');
  });
});

describe('isLoopback', () => {
  it('knows 127.0.0.0/8, ::1 and mapped 127.x in any spelling; not the unspecified or other addresses', () => {
    const yes = [
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '0:0:0:0:0:0:0:1',
      '0::1',
      '[0:0::1]',
      '::ffff:127.0.0.1',
      '::FFFF:7f00:1',
      '[::1]',
    ];
    const no = [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:128.0.0.1',
      'localhost',
      '::2',
      'fe80::1%lo',
    ];
    for (const host of yes) expect(isLoopback(host), host).toBe(true);
    for (const host of no) expect(isLoopback(host), host).toBe(false);
  });
});

describe('resolveHost', () => {
  it('returns numeric addresses unchanged without a lookup', async () => {
    expect(await resolveHost('10.1.2.3', 'backends[0].address')).toBe('10.1.2.3');
    expect(await resolveHost('::1', 'listen')).toBe('::1');
  });

  it('resolves localhost to a loopback address', async () => {
    expect(['127.0.0.1', '::1']).toContain(await resolveHost('localhost', 'listen'));
  });

  it('throws LbResolveError naming the option path and the host', async () => {
    const error = await resolveHost('no-such-host.invalid', 'backends[1].address').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LbResolveError);
    const e = error as LbResolveError;
    expect(e.code).toBe('LB_ERR_RESOLVE');
    expect(e.path).toBe('backends[1].address');
    expect(e.hostname).toBe('no-such-host.invalid');
    expect(e.message).toMatch(/^backends\[1\]\.address: cannot resolve 'no-such-host\.invalid' \(E[A-Z_]+\)$/);
  });
});
