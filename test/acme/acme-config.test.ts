// `tls.acme` in a configuration file, checked by the real `lb-native validate`: names,
// e-mail and directory URL by the schema, each problem with file, line and path; the
// storage folder by creating and writing it (0700).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, it } from 'vitest';

import { ensureBuilt, runCli } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);

const dir = mkdtempSync(join(tmpdir(), 'lb-acme-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe.concurrent('lb-native validate: tls.acme', () => {
  it('accepts a good section, creates the storage folder 0700 and names the domains', async ({ expect }) => {
    const storage = join(dir, 'good-storage');
    const good = file('good.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    directory: https://acme.example.net/directory',
      '    domains: [example.com, WWW.Example.com.]',
      `    storage: ${storage}`,
    ]);
    expect(await runCli(['validate', good])).toMatchObject({
      code: 0,
      stdout: 'ok: 1 backend, mode http, acme for example.com www.example.com\n',
      stderr: '',
    });
    expect(statSync(storage).mode & 0o777).toBe(0o700);
  });

  it('names file, line and path for each bad value', async ({ expect }) => {
    const bad = file('bad.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: not-an-address',
      '    directory: http://acme.example.net/directory',
      '    domains:',
      '      - example.com',
      '      - "*.example.com"',
      '      - bad_name.example.com',
      '      - example.com',
      `    storage: ${join(dir, 's')}`,
    ]);
    const result = await runCli(['validate', bad]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `${bad}:4: tls.acme.email: expected an e-mail address like ops@example.com, got 'not-an-address'`,
      `${bad}:5: tls.acme.directory: expected an https:// URL (ACME runs over HTTPS only), got "http://acme.example.net/directory"`,
      `${bad}:8: tls.acme.domains[1]: wildcard names need the DNS-01 challenge, which lb-native does not answer, got "*.example.com"`,
      `${bad}:9: tls.acme.domains[2]: expected a DNS name like www.example.com, got "bad_name.example.com"`,
      `${bad}:10: tls.acme.domains[3]: example.com is listed twice`,
    ]);
  });

  it('names missing fields and unknown options', async ({ expect }) => {
    const bad = file('missing.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    domain: [a.example.com]',
    ]);
    const result = await runCli(['validate', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${bad}:5: tls.acme: unknown option 'domain'; expected one of email, directory, domains, storage, challenge, cluster`,
    );
  });

  it('refuses a storage folder it cannot create or write, naming the path', async ({ expect }) => {
    const notAFolder = join(dir, 'plain-file');
    writeFileSync(notAFolder, 'x');
    const bad = file('storage.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    domains: [example.com]',
      `    storage: ${join(notAFolder, 'acme')}`,
    ]);
    const result = await runCli(['validate', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `${bad}:6: tls.acme.storage: expected a folder lb-native can create and write (keys and certificates go there), got "${join(notAFolder, 'acme')}": ENOTDIR\n`,
    );
  });

  it('checks tls.acme.challenge: one of http-01 and tls-alpn-01, and tls-alpn-01 only where a TLS listener names acme', async ({
    expect,
  }) => {
    const unknown = file('challenge-unknown.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    domains: [example.com]',
      `    storage: ${join(dir, 'c1')}`,
      '    challenge: dns-01',
    ]);
    const unknownResult = await runCli(['validate', unknown]);
    expect(unknownResult.code).toBe(2);
    expect(unknownResult.stderr).toBe(`${unknown}:7: tls.acme.challenge: expected one of http-01, tls-alpn-01, got 'dns-01'\n`);

    const plainOnly = file('challenge-plain.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    domains: [example.com]',
      `    storage: ${join(dir, 'c2')}`,
      '    challenge: tls-alpn-01',
    ]);
    const plainResult = await runCli(['validate', plainOnly]);
    expect(plainResult.code).toBe(2);
    expect(plainResult.stderr).toBe(
      `${plainOnly}:7: tls.acme.challenge: tls-alpn-01 is answered on a TLS listener, and tls: { acme } alone keeps this one plain; use http-01, or give listeners: [...] with a TLS listener naming acme\n`,
    );

    const onTls = file('challenge-tls.yaml', [
      'backends: [127.0.0.1:9001]',
      'listeners:',
      '  - listen: 127.0.0.1:0',
      '    tls:',
      '      acme:',
      '        email: ops@example.com',
      '        domains: [example.com]',
      `        storage: ${join(dir, 'c3')}`,
      '        challenge: tls-alpn-01',
    ]);
    expect(await runCli(['validate', onTls])).toMatchObject({ code: 0, stderr: '' });
  });

  it('issue 18: a storage folder it cannot write, in the listeners form, is named with its line by validate and start', async ({
    expect,
  }) => {
    const notAFolder = join(dir, 'plain-file-listeners');
    writeFileSync(notAFolder, 'x');
    const storage = join(notAFolder, 'acme');
    const bad = file('storage-listeners.yaml', [
      'backends: [127.0.0.1:9001]',
      'listeners:',
      '  - listen: 127.0.0.1:0',
      '  - listen: 127.0.0.1:0',
      '    tls:',
      '      acme:',
      '        email: ops@example.com',
      '        domains: [example.com]',
      `        storage: ${storage}`,
    ]);
    const expected = `${bad}:9: listeners[1].tls.acme.storage: expected a folder lb-native can create and write (keys and certificates go there), got "${storage}": ENOTDIR`;
    const validated = await runCli(['validate', bad]);
    expect(validated.code).toBe(2);
    expect(validated.stderr).toBe(`${expected}\n`);
    const started = await runCli(['start', '--config', bad]);
    expect(started.code).toBe(1);
    expect(started.stderr).toBe(`lb-native: ${expected}\n`);
  });

  it('lb-native certs: exit 2 for a file without tls.acme, and says when the storage holds none', async ({ expect }) => {
    const none = file('no-acme.yaml', ['backends: [127.0.0.1:9001]']);
    expect(await runCli(['certs', none])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `${none}: tls.acme: missing: no ACME section, so no certificates to list\n`,
    });
    const storage = join(dir, 'empty-storage');
    const empty = file('empty.yaml', [
      'backends: [127.0.0.1:9001]',
      'tls:',
      '  acme:',
      '    email: ops@example.com',
      '    domains: [example.com]',
      `    storage: ${storage}`,
    ]);
    expect(await runCli(['certs', empty])).toMatchObject({ code: 0, stdout: `no certificates in ${storage}\n`, stderr: '' });
    expect(await runCli(['certs'])).toMatchObject({ code: 2 });
  });
});
