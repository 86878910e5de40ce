// `tls.acme.cluster` checked by the real `lb-native validate`: the etcd endpoints are URLs,
// the key file exists, is mode 0600 and holds 32 bytes; each problem with file, line and
// path, and what was expected.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, it } from 'vitest';

import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);

const dir = mkdtempSync(join(tmpdir(), 'lb-acme-cluster-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function keyFile(name: string, bytes: number, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(bytes, 7));
  chmodSync(path, mode);
  return path;
}

function config(name: string, cluster: string[]): string {
  return file(name, [
    'backends: [127.0.0.1:9001]',
    'tls:',
    '  acme:',
    '    email: ops@example.com',
    '    directory: https://acme.example.net/directory',
    '    domains: [example.com]',
    `    storage: ${join(dir, `${name}-storage`)}`,
    '    cluster:',
    ...cluster.map((line) => `      ${line}`),
  ]);
}

describe.concurrent('lb-native validate: tls.acme.cluster', () => {
  it('accepts etcd endpoints and a 32-byte 0600 key file', async ({ expect }) => {
    const key = keyFile('good.key', 32, 0o600);
    const good = config('good.yaml', [
      'etcd: { endpoints: [http://127.0.0.1:2379, https://etcd-2.example.net:2379], prefix: /lb/acme/ }',
      `keyFile: ${key}`,
    ]);
    expect(await runCli(['validate', good])).toMatchObject({
      code: 0,
      stdout: 'ok: 1 backend, mode http, acme for example.com\n',
      stderr: '',
    });
  });

  it('refuses TLS-ALPN-01 with a cluster: its answers are not shared between balancers', async ({ expect }) => {
    const path = file('alpn.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    directory: https://acme.example.net/directory',
      '    domains: [example.com]',
      `    storage: ${join(dir, 'alpn-storage')}`,
      '    challenge: tls-alpn-01',
      '    cluster:',
      '      etcd: { endpoints: [http://127.0.0.1:2379] }',
      `      keyFile: ${keyFile('alpn.key', 32, 0o600)}`,
    ]);
    const result = await runCli(['validate', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${path}:8: tls.acme.challenge: expected 'http-01' with tls.acme.cluster (TLS-ALPN-01 answers are not shared between balancers), got 'tls-alpn-01'\n`,
    );
  });

  it('refuses a key file readable by others, of the wrong size, or missing', async ({ expect }) => {
    const open = config('open.yaml', [
      'etcd: { endpoints: [http://127.0.0.1:2379] }',
      `keyFile: ${keyFile('open.key', 32, 0o644)}`,
    ]);
    expect(await runCli(['validate', open])).toMatchObject({
      code: 2,
      stderr: `${open}:10: tls.acme.cluster.keyFile: expected a key file with mode 0600 (readable by its owner only), got ${JSON.stringify(join(dir, 'open.key'))} with mode 0644\n`,
    });
    const short = config('short.yaml', [
      'etcd: { endpoints: [http://127.0.0.1:2379] }',
      `keyFile: ${keyFile('short.key', 16, 0o600)}`,
    ]);
    expect(await runCli(['validate', short])).toMatchObject({
      code: 2,
      stderr: `${short}:10: tls.acme.cluster.keyFile: expected a key file of 32 bytes (e.g. head -c 32 /dev/urandom), got ${JSON.stringify(join(dir, 'short.key'))} with 16 bytes\n`,
    });
    const missingPath = join(dir, 'no-such.key');
    const missing = config('missing.yaml', ['etcd: { endpoints: [http://127.0.0.1:2379] }', `keyFile: ${missingPath}`]);
    expect(await runCli(['validate', missing])).toMatchObject({
      code: 2,
      stderr: `${missing}:10: tls.acme.cluster.keyFile: expected a key file of 32 bytes, mode 0600, got ${JSON.stringify(missingPath)}: ENOENT\n`,
    });
  });

  it('names endpoints that are not URLs, a missing key file entry and unknown options', async ({ expect }) => {
    const bad = config('bad.yaml', [
      'etcd:',
      '  endpoints: [http://127.0.0.1:2379, "not a url"]',
      '  prefixx: /x',
      '  leaseTtlSeconds: 1',
    ]);
    const result = await runCli(['validate', bad]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter(Boolean).sort()).toEqual(
      [
        `${bad}:8: tls.acme.cluster.keyFile: expected the path of the cluster key file (32 bytes, mode 0600), got undefined`,
        `${bad}:11: tls.acme.cluster.etcd: unknown option 'prefixx'; expected one of endpoints, prefix, tls, timeoutMs, leaseTtlSeconds`,
        `${bad}:10: tls.acme.cluster.etcd.endpoints[1]: expected an etcd URL like http://127.0.0.1:2379, got 'not a url'`,
        `${bad}:12: tls.acme.cluster.etcd.leaseTtlSeconds: expected an integer from 2 to 600, got 1`,
      ].sort(),
    );
  });
});
