// `lb-native validate FILE`: the real binary checks a configuration file without starting
// anything: "ok: N backends, mode M" and exit 0, or one line per problem and exit 2.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { configFiles } from '../helpers/config-files.js';
import { ensureBuilt, packageRoot, runCli, usageError } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);

const { dir, write: file } = configFiles('lb-validate-');

describe.concurrent('lb-native validate', () => {
  it('accepts the shipped example', async ({ expect }) => {
    const result = await runCli(['validate', join(packageRoot, 'examples', 'lb.yaml')]);
    expect(result).toMatchObject({ code: 0, stdout: 'ok: 3 backends, mode http\n', stderr: '' });
  });

  it('says how many backends and which mode, and names a discovery source', async ({ expect }) => {
    const tcp = file('tcp.yaml', ['mode: tcp', 'backends: [127.0.0.1:5432]']);
    expect(await runCli(['validate', tcp])).toMatchObject({ code: 0, stdout: 'ok: 1 backend, mode tcp\n' });
    const dns = file('dns.json', ['{"discovery": {"dns": {"name": "api.internal", "type": "SRV"}}}']);
    expect(await runCli(['validate', dns])).toMatchObject({ code: 0, stdout: 'ok: 0 backends, mode http, dns discovery\n' });
  });

  it('prints one line per problem, with file, line and path, and exits 2', async ({ expect }) => {
    const bad = file('bad.yaml', [
      'listen: 127.0.0.1:8080',
      'backends:',
      '  - 127.0.0.1:9001',
      '  - 127.0.0.1:9002',
      '  - 127.0.0.1:70000',
      'workers: 0',
    ]);
    expect(await runCli(['validate', bad])).toMatchObject(
      usageError(
        [
          `${bad}:5: backends[2].address: port must be 1-65535, got 70000`,
          `${bad}:6: workers: expected an integer from 1 to 1024, got 0`,
        ],
        '',
      ),
    );
  });

  it('substitutes environment variables, and names one that is missing', async ({ expect }) => {
    const withEnv = file('env.yaml', [
      'backends: ["127.0.0.1:${LB_TEST_PORT}"]',
      'admin:',
      '  listen: 127.0.0.1:9100',
      '  token: ${LB_TEST_TOKEN}',
    ]);
    const missing = await runCli(['validate', withEnv], 15_000, { LB_TEST_PORT: '9001' });
    expect(missing).toMatchObject(
      usageError(
        `${withEnv}:4: admin.token: environment variable LB_TEST_TOKEN is not set (write \${LB_TEST_TOKEN:-default} to give a default)`,
        '',
      ),
    );
    const ok = await runCli(['validate', withEnv], 15_000, { LB_TEST_PORT: '9001', LB_TEST_TOKEN: 'abc' });
    expect(ok).toMatchObject({ code: 0, stdout: 'ok: 1 backend, mode http\n' });
  });

  it('a file that does not exist', async ({ expect }) => {
    expect(await runCli(['validate', join(dir, 'nope.yaml')])).toMatchObject(
      usageError(`${join(dir, 'nope.yaml')}: cannot read the configuration file: no such file`, ''),
    );
  });
});

describe('lb-native start --config with an invalid file', () => {
  it('prints the same lines (flags named as flags) and exits 2 without starting', async () => {
    const bad = file('start-bad.yaml', ['backends:', '  - 127.0.0.1:70000', 'timeouts: { connectMs: 0 }']);
    expect(await runCli(['start', '--config', bad, '--workers', '0'])).toMatchObject(
      usageError([
        '--workers: expected an integer from 1 to 1024, got 0',
        `${bad}:2: backends[0].address: port must be 1-65535, got 70000`,
        `${bad}:3: timeouts.connectMs: expected an integer from 1 to 2147483647, got 0`,
      ]),
    );
  });
});

// Issue 16: validate said ok for a file whose backend host does not resolve, start then
// refused it without a line number, and a JSON syntax error had no line and a newline in
// the middle of its message.
describe('host names and JSON syntax', () => {
  const unresolvable = /cannot resolve 'no-such-backend\.invalid' \(E[A-Z_]+\)/.source;

  it('validate resolves the host names the file names, as start would, and names file, line and path', async () => {
    const bad = file('unresolvable.yaml', [
      'listen: 127.0.0.1:0',
      'backends:',
      '  - localhost:9001',
      '  - no-such-backend.invalid:9002',
    ]);
    const result = await runCli(['validate', bad]);
    expect(result.stderr).toMatch(new RegExp(`^${escape(bad)}:4: backends\\[1\\]\\.address: ${unresolvable}\\n$`));
    expect(result).toMatchObject({ code: 2, stdout: '' });
    const good = file('resolvable.yaml', [
      'listen: localhost:0',
      'backends: [localhost:9001]',
      'admin: { listen: "localhost:0" }',
    ]);
    expect(await runCli(['validate', good])).toMatchObject({ code: 0, stdout: 'ok: 1 backend, mode http\n', stderr: '' });
  });

  it("start's refusal of the same file names the file and line too", async () => {
    const bad = file('unresolvable-start.yaml', [
      'listen: 127.0.0.1:0',
      'workers: 1',
      'backends:',
      '  - no-such-backend.invalid:9002',
    ]);
    const result = await runCli(['start', '--config', bad]);
    expect(result.stderr).toMatch(new RegExp(`^lb-native: ${escape(bad)}:4: backends\\[0\\]\\.address: ${unresolvable}\\n$`));
    expect(result).toMatchObject({ code: 1, stdout: '' });
  });

  it('a JSON syntax error names its line and column, in one line', async () => {
    const bad = file('syntax.json', ['{', '  "listen": "127.0.0.1:0",', '  "backends": ["127.0.0.1:9001",]', '}']);
    expect(await runCli(['validate', bad])).toMatchObject(
      usageError(`${bad}:3: not valid JSON: a comma before ']': JSON allows no trailing comma (column 32)`, ''),
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
