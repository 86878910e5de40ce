// `lb-native reload --config FILE` (the systemd unit's ExecReload): asks the admin API the
// file names to reload and waits for the outcome, so that a refused reload fails
// `systemctl reload` (issue 16: ExecReload sent SIGHUP and always succeeded). Real
// processes, a real admin API on a fixed free port.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { configFiles } from '../helpers/config-files.js';
import { runCleanups } from '../helpers/cleanup.js';
import { freePort } from '../helpers/free-port.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli, usageError } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const { dir, write } = configFiles('lb-reload-config-');

describe('lb-native reload --config', () => {
  it('exit 0 with the changes when applied; exit 1 with the reasons when refused, the running configuration kept', async () => {
    const [a, b] = await Promise.all([startHttpBackend('a'), startHttpBackend('b')]);
    const adminPort = await freePort();
    const token = 'reload-config-token';
    const config = join(dir, 'lb.yaml');
    const base = [
      'listen: 127.0.0.1:0',
      'workers: 1',
      'admin:',
      `  listen: 127.0.0.1:${adminPort}`,
      '  token: ${LB_TEST_ADMIN_TOKEN}',
    ];
    write('lb.yaml', [...base, `backends: [${a.address}]`]);
    const env = { LB_TEST_ADMIN_TOKEN: token };
    const cli = new CliProcess(['start', '--config', config], env);
    await cli.waitForLog('admin-listening');

    write('lb.yaml', [...base, `backends: [${a.address}, ${b.address}]`]);
    const applied = await runCli(['reload', '--config', config], 15_000, env);
    expect(applied).toMatchObject({ code: 0, stderr: '', stdout: `reloaded: 1 change\n  backend added: ${b.address}\n` });

    // workers cannot change live: refused by the running lb-native.
    write('lb.yaml', [...base.map((line) => line.replace('workers: 1', 'workers: 2')), `backends: [${a.address}]`]);
    const refused = await runCli(['reload', '--config', config], 15_000, env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^lb-native: reload refused; the running configuration is unchanged:\n {2}.*workers.*\n$/);

    // An invalid file: refused at once, the running lb-native is not even asked.
    write('lb.yaml', [...base, 'backends: [127.0.0.1:70000]']);
    const invalid = await runCli(['reload', '--config', config], 15_000, env);
    expect(invalid).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `lb-native: reload refused; the running configuration is unchanged:\n  ${config}:6: backends[0].address: port must be 1-65535, got 70000\n`,
    });

    cli.signal('SIGTERM');
    const result = await cli.waitForExit();
    expect(result.code).toBe(0);
    expect(cli.logsOf('reload-applied')).toHaveLength(1);
    expect(cli.logsOf('reload-refused')).toHaveLength(1);
  });

  it('a file without an admin section, or with port 0, is named; --config goes without --admin', async () => {
    const none = write('no-admin.yaml', ['backends: [127.0.0.1:9001]']);
    expect(await runCli(['reload', '--config', none])).toMatchObject({
      code: 1,
      stderr: `lb-native: reload refused; the running configuration is unchanged:\n  ${none}: admin: missing: reload --config asks the admin API the file names (admin.listen); add one, or send SIGHUP instead\n`,
    });
    const anyPort = write('port-zero.yaml', ['backends: [127.0.0.1:9001]', 'admin: { listen: "127.0.0.1:0" }']);
    const zero = await runCli(['reload', '--config', anyPort]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain(`${anyPort}: admin.listen: port 0 (any free port) cannot be found again`);
    expect(await runCli(['reload', '--config', none, '--admin', '127.0.0.1:9100'])).toMatchObject(
      usageError('reload: --config takes the admin API and token from the file; give either --config or --admin/--token'),
    );
  });
});
