// Configuration files: YAML and JSON, `${VAR}` substitution, command-line overrides, and
// messages naming the file, the line, the exact path and what was expected.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import {
  ConfigFileError,
  type LoadConfigOptions,
  loadConfigFile,
  mergeOverrides,
  parseConfigText,
} from '../../src/config/file.js';
import { redactConfig } from '../../src/config/redact.js';
import { LbConfigError } from '../../src/errors.js';
import { validateOptions } from '../../src/config/schema.js';
import { balancerConfigWith, settingsFrom } from '../../src/service/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'lb-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines of the ConfigFileError that parsing `text` as `name` throws. */
function problems(name: string, text: string, options: LoadConfigOptions = {}): string[] {
  try {
    parseConfigText(name, text, options);
  } catch (error) {
    if (error instanceof ConfigFileError) return [...error.lines];
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('configuration files: what is accepted', () => {
  it('takes every option createBalancer takes, plus admin, logging and discovery', () => {
    const { config, raw } = parseConfigText(
      'lb.yaml',
      yaml(
        'listen: 0.0.0.0:80',
        'workers: 2',
        'mode: http',
        'strategy: header-hash',
        'hashHeader: x-tenant',
        'backends:',
        '  - 10.0.0.5:8080',
        '  - address: 10.0.0.6:8080',
        '    weight: 3',
        '    state: drain',
        '    healthCheck: false',
        'healthCheck: { path: /healthz, intervalMs: 500 }',
        'outlierDetection: { consecutiveFailures: 2 }',
        'retries: { maxTries: 2 }',
        'timeouts: { connectMs: 1000 }',
        'limits: { maxBodyBytes: 1048576 }',
        'pool: { maxIdlePerBackend: 8 }',
        'forwarded: { mode: forwarded, trustIncoming: true }',
        'admin: { listen: "10.0.0.1:9100", token: s3cret-token }',
        'logging: { level: debug, access: { sampleRate: 0.25 } }',
      ),
    );
    expect(config).toMatchObject({
      workers: 2,
      strategy: 'header-hash',
      hashHeader: 'x-tenant',
      healthCheck: { type: 'http', path: '/healthz', intervalMs: 500, rise: 2 },
      timeouts: { connectMs: 1000, responseMs: 60_000 },
      admin: { listen: '10.0.0.1:9100', token: 's3cret-token' },
      logging: { level: 'debug', access: { sampleRate: 0.25 } },
    });
    expect(config.backends?.[1]).toMatchObject({ weight: 3, state: 'drain', healthCheck: false });
    // What the balancer gets: the same options, the sample rate moved to its option.
    const settings = settingsFrom({ file: 'lb.yaml', raw, config });
    expect(settings.logLevel).toBe('debug');
    expect(settings.admin).toEqual({ listen: '10.0.0.1:9100', token: 's3cret-token' });
    const options = balancerConfigWith(settings, []);
    expect(options.accessLogSampleRate).toBe(0.25);
    expect(options.backends.map((b) => b.address.text)).toEqual(['10.0.0.5:8080', '10.0.0.6:8080']);
    // Validated once, by the file schema: what the balancer gets is what createBalancer would make of it.
    const { admin: _admin, logging: _logging, ...shared } = raw;
    expect(options).toEqual(validateOptions({ ...shared, accessLogSampleRate: 0.25 }));
    expect(settings.redacted).toMatchObject({ admin: { listen: '10.0.0.1:9100', token: '[redacted]' } });
  });

  it('needs no backends when a discovery section supplies them', () => {
    const { config } = parseConfigText(
      'lb.yaml',
      yaml('discovery:', '  dns: { name: api.internal, type: A, port: 8080, resolver: "127.0.0.1:53" }'),
    );
    expect(config.backends).toBeUndefined();
    expect(config.discovery?.dns).toEqual({ name: 'api.internal', type: 'A', port: 8080, resolver: '127.0.0.1:53' });
    const etcd = parseConfigText(
      'lb.yaml',
      yaml('backends: [10.0.0.5:80]', 'discovery:', '  etcd: { endpoints: [http://127.0.0.1:2379], prefix: /lb/web/ }'),
    );
    expect(settingsFrom(etcd).discovery).toMatchObject({ source: 'etcd', owns: 'discovered' });
  });

  it('tls takes certificate files, acme, or both: files make the listener TLS, acme goes to the service', () => {
    const load = (...tls: string[]) => settingsFrom(parseConfigText('lb.yaml', yaml('backends: [10.0.0.5:80]', 'tls:', ...tls)));
    const acme = '  acme: { email: ops@example.com, domains: [www.example.com], storage: /var/lib/lb-native/acme }';
    const files = '  certificates: [{ cert: site.pem, key: site.key }]';

    const onlyFiles = load(files, '  hsts: { maxAgeSeconds: 600 }');
    expect(onlyFiles.balancer.listeners[0]?.tls).toEqual({
      certificates: [{ cert: 'site.pem', key: 'site.key' }],
      hsts: { maxAgeSeconds: 600, includeSubDomains: false },
    });
    expect(onlyFiles.acme).toBeUndefined();

    const onlyAcme = load(acme);
    expect(onlyAcme.balancer.listeners[0]?.tls).toBeUndefined();
    expect(onlyAcme.acme?.config).toMatchObject({ email: 'ops@example.com', domains: ['www.example.com'] });

    const both = load(files, acme);
    expect(both.balancer.listeners[0]?.tls?.certificates).toHaveLength(1);
    expect(both.balancer.listeners[0]?.tls?.acmeCertificate).toBe(true);
    expect(both.acme?.config.domains).toEqual(['www.example.com']);

    expect(problems('lb.yaml', yaml('backends: [10.0.0.5:80]', 'tls: {}'))).toEqual([
      'lb.yaml:2: tls: expected certificates (files), acme, or both',
    ]);
  });

  it('discovered backends join the fixed ones once per address, validated where they enter', () => {
    const settings = settingsFrom(
      parseConfigText(
        'lb.yaml',
        yaml('backends: ["[::1]:9001"]', 'discovery:', '  dns: { name: api.internal, type: AAAA, port: 9001 }'),
      ),
    );
    const config = balancerConfigWith(settings, [
      { address: '[0:0::1]:9001', weight: 5 },
      { address: '10.0.0.7:9001', weight: 3, state: 'drain' },
      { address: '10.0.0.7:09001' },
    ]);
    expect(config.backends.map((b) => [b.address.text, b.weight, b.state])).toEqual([
      ['[::1]:9001', 1, 'ready'],
      ['10.0.0.7:9001', 3, 'drain'],
    ]);
    let error: unknown;
    try {
      balancerConfigWith(settings, [{ address: '10.0.0.8:9001', weight: 0 }, { address: 'bad host:9001' }]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LbConfigError);
    expect((error as LbConfigError).issues).toEqual([
      { path: 'backends[1].weight', message: 'expected an integer from 1 to 256, got 0' },
      { path: 'backends[2].address', message: "'bad host' is not a valid host name or IP address" },
    ]);
    const none = settingsFrom(parseConfigText('lb.yaml', yaml('discovery:', '  dns: { name: api.internal, type: A, port: 80 }')));
    expect(() => balancerConfigWith(none, [])).toThrow('backends: expected at least one backend');
  });

  it('reads JSON, from a .json file strictly', () => {
    const { config } = parseConfigText('lb.json', '{\n\t"listen": "127.0.0.1:0",\n\t"backends": ["127.0.0.1:9001"]\n}\n');
    expect(config.listeners[0]?.listen.port).toBe(0);
    // The trailing comma itself is named (line 2), not the brace after it.
    expect(problems('lb.json', '{\n  "backends": ["127.0.0.1:9001"],\n}\n')).toEqual([
      "lb.json:2: not valid JSON: a comma before '}': JSON allows no trailing comma (column 33)",
    ]);
    expect(problems('lb.json', '{"backends": ["127.0.0.1:9001"], "workers": "2"}')).toEqual([
      "lb.json:1: workers: expected an integer from 1 to 1024, got '2'",
    ]);
  });

  it('reads a file from disk; a missing one is named', async () => {
    const file = join(dir, 'disk.yaml');
    writeFileSync(file, yaml('backends:', '  - 127.0.0.1:9001'));
    expect((await loadConfigFile(file)).config.backends?.length).toBe(1);
    await expect(loadConfigFile(join(dir, 'missing.yaml'))).rejects.toThrow(
      `${join(dir, 'missing.yaml')}: cannot read the configuration file: no such file`,
    );
  });
});

describe('configuration files: messages name the file, the line, the path and what was expected', () => {
  it('the example from the brief: a backend port out of range', () => {
    expect(
      problems(
        'lb.yaml',
        yaml('listen: 127.0.0.1:8080', 'backends:', '  - 127.0.0.1:9001', '  - 127.0.0.1:9002', '  - 127.0.0.1:70000'),
      ),
    ).toEqual(['lb.yaml:5: backends[2].address: port must be 1-65535, got 70000']);
  });

  it('reports every problem, in file order', () => {
    expect(
      problems(
        'lb.yaml',
        yaml(
          'listen: 127.0.0.1:80800',
          'strategy: fastest',
          'backends:',
          '  - address: 127.0.0.1:9001',
          '    weight: 0',
          '    colour: blue',
          'timeouts:',
          '  connectMs: 5s',
          'logging: { level: loud }',
          'frobnicate: true',
        ),
      ),
    ).toEqual([
      'lb.yaml:1: listen: port must be 0-65535, got 80800',
      "lb.yaml:2: strategy: expected one of round-robin, weighted-round-robin, least-connections, random, p2c, peak-ewma, ip-hash, header-hash, uri-hash, cookie, got 'fastest'",
      'lb.yaml:5: backends[0].weight: expected an integer from 1 to 256, got 0',
      "lb.yaml:6: backends[0]: unknown option 'colour'; expected one of address, weight, state, publicUrl, healthCheck, maxConnections, tls",
      "lb.yaml:8: timeouts.connectMs: expected an integer from 1 to 2147483647, got '5s'",
      "lb.yaml:9: logging.level: expected one of error, warn, info, debug, got 'loud'",
      "lb.yaml:10: unknown option 'frobnicate'; expected one of listen, listeners, strategy, mode, redirectStatus, proxyProtocol, hashHeader, cookieName, workers, backlog, timeouts, limits, pool, bodies, forwarded, headers, outlierDetection, retries, healthCheck, protection, queue, tls, http2, http2c, http2Limits, httpsRedirect, backends, admin, logging, discovery",
    ]);
  });

  it('http2Limits: each field named with its line and range; unset fields keep their defaults', () => {
    const { config } = parseConfigText(
      'lb.yaml',
      yaml('backends: [127.0.0.1:1]', 'http2Limits:', '  maxConcurrentStreams: 250', '  stallTimeoutMs: 0'),
    );
    expect(config.http2Limits).toMatchObject({ maxConcurrentStreams: 250, stallTimeoutMs: 0, pingBurst: 32 });
    expect(
      problems(
        'lb.yaml',
        yaml('backends: [127.0.0.1:1]', 'http2Limits:', '  maxConcurrentStreams: 0', '  pingsPerSecond: -1', '  maxStreams: 5'),
      ),
    ).toEqual([
      'lb.yaml:3: http2Limits.maxConcurrentStreams: expected an integer from 1 to 100000, got 0',
      'lb.yaml:4: http2Limits.pingsPerSecond: expected an integer from 0 to 1000000, got -1',
      expect.stringMatching(/^lb\.yaml:5: http2Limits: unknown option 'maxStreams'; expected one of maxConcurrentStreams, /),
    ]);
  });

  it('mode conflicts, missing backends, duplicate addresses', () => {
    expect(problems('lb.yaml', yaml('mode: tcp', 'strategy: cookie', 'backends: [127.0.0.1:1]'))).toEqual([
      "lb.yaml:2: strategy: 'cookie' needs a cookie set on a proxied response, which tcp mode does not have",
    ]);
    expect(problems('lb.yaml', yaml('listen: 127.0.0.1:8080'))).toEqual([
      'lb.yaml: backends: missing: give at least one backend, or a discovery section',
    ]);
    expect(problems('lb.yaml', yaml('backends: []'))).toEqual([
      'lb.yaml:1: backends: expected at least one backend (or a discovery section)',
    ]);
    expect(problems('lb.yaml', yaml('backends:', '  - 127.0.0.1:1', '  - 127.0.0.1:1'))).toEqual([
      'lb.yaml:3: backends[1].address: same address as backends[0]',
    ]);
  });

  it('admin, logging and discovery sections', () => {
    expect(problems('lb.yaml', yaml('backends: [127.0.0.1:1]', 'admin: { listen: "0.0.0.0:9100" }'))).toEqual([
      'lb.yaml:2: admin.token: required when the admin API listens on a non-loopback address (0.0.0.0:9100): set admin.token (or --admin-token), or listen on 127.0.0.1',
    ]);
    expect(problems('lb.yaml', yaml('backends: [127.0.0.1:1]', 'logging:', '  access: { sampleRate: 1.5 }'))).toEqual([
      'lb.yaml:3: logging.access.sampleRate: expected a number from 0 to 1, got 1.5',
    ]);
    expect(problems('lb.yaml', yaml('discovery:', '  dns:', '    name: api.internal', '    type: A'))).toEqual([
      "lb.yaml:2: discovery.dns.port: required for type A: the backends' port",
    ]);
    expect(problems('lb.yaml', yaml('discovery:', '  dns: { name: a.b, type: MX }'))).toEqual([
      "lb.yaml:2: discovery.dns.type: expected one of A, AAAA, SRV, got 'MX'",
    ]);
    expect(
      problems(
        'lb.yaml',
        yaml('discovery:', '  dns: { name: a.b, type: A, port: 80 }', '  etcd: { endpoints: [x], prefix: /p/ }'),
      ),
    ).toEqual(['lb.yaml:3: discovery.etcd: give one discovery source, dns or etcd, not both']);
    expect(problems('lb.yaml', yaml('discovery:', '  etcd:', '    endpoints: []', '    prefix: /lb/'))).toEqual([
      'lb.yaml:3: discovery.etcd.endpoints: expected at least one etcd URL',
    ]);
  });

  it('never shows the value of a secret', () => {
    const lines = problems(
      'lb.yaml',
      yaml('backends: [127.0.0.1:1]', 'admin: { listen: "127.0.0.1:9100", token: "has spaces in it" }'),
    );
    expect(lines).toEqual(['lb.yaml:2: admin.token: must be visible ASCII characters only, no spaces (the value is not shown)']);
    const numeric = problems('lb.yaml', yaml('backends: [127.0.0.1:1]', 'admin: { listen: "127.0.0.1:9100", token: 12345678 }'));
    expect(numeric).toEqual(['lb.yaml:2: admin.token: expected a string, got a number (the value is not shown)']);
    const etcd = problems(
      'lb.yaml',
      yaml('discovery:', '  etcd: { endpoints: [x], prefix: /p/, auth: { username: u, password: 987654 } }'),
    );
    expect(etcd.join('\n')).not.toContain('987654');
  });

  it('YAML syntax errors and files that are not a mapping', () => {
    expect(problems('lb.yaml', yaml('backends:', '  - 127.0.0.1:1', 'backends:', '  - 127.0.0.1:2'))).toEqual([
      'lb.yaml:3: not valid YAML: Map keys must be unique',
    ]);
    expect(problems('lb.yaml', yaml('backends: [127.0.0.1:1'))[0]).toMatch(/^lb\.yaml:2: not valid YAML: /);
    expect(problems('lb.yaml', '')).toEqual([
      'lb.yaml: the file is empty; expected a mapping of options (listen, backends, ...)',
    ]);
    expect(problems('lb.yaml', yaml('- 127.0.0.1:1'))).toEqual([
      'lb.yaml:1: expected a mapping of options (listen, backends, ...) at the top level',
    ]);
  });
});

describe('environment variables', () => {
  const env = { LB_TOKEN: 'tok-123', LB_PORT: '9443', LB_WORKERS: '3', EMPTY: '' };

  it('fills ${VAR} and ${VAR:-default} inside strings', () => {
    const { config } = parseConfigText(
      'lb.yaml',
      yaml(
        'listen: 127.0.0.1:${LB_PORT}',
        'backends: ["${LB_HOST:-127.0.0.1}:9001"]',
        'admin: { listen: "127.0.0.1:${ADMIN_PORT:-9100}", token: "${LB_TOKEN}" }',
        'hashHeader: x-${EMPTY:-tenant}',
        'healthCheck: { path: "/p$${NOT_A_VAR}" }',
      ),
      { env },
    );
    expect(config.listeners[0]?.listen.port).toBe(9443);
    expect(config.backends?.[0]?.address.text).toBe('127.0.0.1:9001');
    expect(config.admin).toEqual({ listen: '127.0.0.1:9100', token: 'tok-123' });
    expect(config.hashHeader).toBe('x-tenant');
    expect(config.healthCheck?.path).toBe('/p${NOT_A_VAR}');
  });

  it('an unquoted value that is one reference takes the type its value reads as', () => {
    // (Block style: inside { } or [ ], a bare ${...} is not valid YAML.)
    const { config } = parseConfigText(
      'lb.yaml',
      yaml('workers: ${LB_WORKERS}', 'backends: [127.0.0.1:1]', 'forwarded:', '  trustIncoming: ${TRUST:-true}'),
      { env },
    );
    expect(config.workers).toBe(3);
    expect(config.forwarded.trustIncoming).toBe(true);
    // Quoted, it stays a string, and the schema says so.
    expect(problems('lb.yaml', yaml('workers: "${LB_WORKERS}"', 'backends: [127.0.0.1:1]'), { env })).toEqual([
      "lb.yaml:1: workers: expected an integer from 1 to 1024, got '3'",
    ]);
  });

  it('a missing variable without a default is an error naming it; so is a malformed reference', () => {
    expect(
      problems('lb.yaml', yaml('backends: [127.0.0.1:1]', 'admin:', '  listen: 127.0.0.1:9100', '  token: ${LB_ADMIN_TOKEN}'), {
        env,
      }),
    ).toEqual([
      'lb.yaml:4: admin.token: environment variable LB_ADMIN_TOKEN is not set (write ${LB_ADMIN_TOKEN:-default} to give a default)',
    ]);
    expect(problems('lb.yaml', yaml('backends: ["${1BAD}:80"]'), { env })).toEqual([
      "lb.yaml:1: backends[0]: '${1BAD}' is not a variable reference; expected ${NAME} or ${NAME:-default} (write $$ for a literal $)",
    ]);
    expect(problems('lb.yaml', yaml('backends: ["${OPEN:80"]'), { env })).toEqual([
      "lb.yaml:1: backends[0]: unclosed '${'; expected ${NAME} or ${NAME:-default}",
    ]);
  });

  it('a variable cannot change the structure of the file', () => {
    // The value is one string, newline and all: no `workers` option appears.
    expect(
      problems('lb.yaml', yaml('backends: [127.0.0.1:1]', 'hashHeader: ${INJECT}'), { env: { INJECT: 'x\nworkers: 99' } }),
    ).toEqual(["lb.yaml:2: hashHeader: expected a header name (letters, digits, '-', ...), got 'x\nworkers: 99'"]);
    expect(problems('lb.yaml', yaml('backends: ["${B}"]'), { env: { B: '127.0.0.1:1", "127.0.0.1:2' } })).toEqual([
      'lb.yaml:1: backends[0].address: IPv6 addresses need brackets, e.g. [::1]:8080',
    ]);
  });
});

describe('command-line overrides', () => {
  const describe_ = (issue: { path: string; message: string }) =>
    issue.path === 'workers' ? `--workers: ${issue.message}` : undefined;

  it('win over the file: objects merge, lists are replaced', () => {
    const { config } = parseConfigText(
      'lb.yaml',
      yaml('workers: 4', 'timeouts: { connectMs: 100, responseMs: 200 }', 'backends: [127.0.0.1:1, 127.0.0.1:2]'),
      {
        overrides: { values: { workers: 1, timeouts: { connectMs: 5 }, backends: ['127.0.0.1:3'] } },
      },
    );
    expect(config.workers).toBe(1);
    expect(config.timeouts).toMatchObject({ connectMs: 5, responseMs: 200 });
    expect(config.backends?.map((b) => b.address.text)).toEqual(['127.0.0.1:3']);
    expect(mergeOverrides({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: 3 }, d: [2] })).toEqual({ a: { b: 3, c: 2 }, d: [2] });
  });

  it('an overridden value that is invalid is reported in the words of its flag', () => {
    expect(
      problems('lb.yaml', yaml('workers: 4', 'backends: [127.0.0.1:1]', 'backlog: -1'), {
        overrides: { values: { workers: 0 }, describe: describe_ },
      }),
    ).toEqual([
      '--workers: expected an integer from 1 to 1024, got 0',
      'lb.yaml:3: backlog: expected an integer from 0 to 65535, got -1',
    ]);
  });
});

describe('redaction', () => {
  it('replaces the admin token and the etcd credentials, and nothing else', () => {
    const config = {
      listen: '127.0.0.1:80',
      admin: { listen: '127.0.0.1:9100', token: 'tok' },
      discovery: { etcd: { endpoints: ['x'], prefix: '/p/', auth: { username: 'u', password: 'p' } } },
    };
    expect(redactConfig(config)).toEqual({
      listen: '127.0.0.1:80',
      admin: { listen: '127.0.0.1:9100', token: '[redacted]' },
      discovery: { etcd: { endpoints: ['x'], prefix: '/p/', auth: { username: '[redacted]', password: '[redacted]' } } },
    });
    expect(config.admin.token).toBe('tok');
    expect(redactConfig({ backends: ['a:1'] })).toEqual({ backends: ['a:1'] });
  });
});
