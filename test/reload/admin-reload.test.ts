// Reloading through the admin API: `lb-native reload` (POST /reload) and POST /reload
// itself, against a real `lb-native start --config` whose admin token comes from an
// environment variable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { get, oldPortReleased } from './support.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const dir = mkdtempSync(join(tmpdir(), 'lb-admin-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const token = 'reload-test-token-5678';

function configText(listen: string, admin: string, backends: string[], extra: string[] = []): string {
  return [
    `listen: ${listen}`,
    'workers: 1',
    `backends: [${backends.join(', ')}]`,
    'admin:',
    `  listen: ${admin}`,
    '  token: ${LB_TEST_ADMIN_TOKEN}',
    ...extra,
    '',
  ].join('\n');
}

async function postReload(admin: string, bearer = token): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://${admin}/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}` },
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('reload through the admin API', () => {
  it('lb-native reload prints what changed, or why it was refused', async () => {
    const [a, b] = await Promise.all([startHttpBackend('a'), startHttpBackend('b')]);
    const file = join(dir, 'cli.yaml');
    const port = await freePort();
    const admin = `127.0.0.1:${await freePort()}`;
    writeFileSync(file, configText(`127.0.0.1:${port}`, admin, [a.address]));
    const cli = new CliProcess(['start', '--config', file], { LB_TEST_ADMIN_TOKEN: token });
    await cli.waitForLog('admin-listening');

    writeFileSync(file, configText(`127.0.0.1:${port}`, admin, [a.address, b.address], ['strategy: least-connections']));
    const applied = await runCli(['reload', '--admin', admin, '--token', token]);
    expect(applied).toMatchObject({ code: 0, stderr: '' });
    expect(applied.stdout).toBe(
      `reloaded: 2 changes\n  strategy: round-robin -> least-connections\n  backend added: ${b.address}\n`,
    );
    const seen = new Set<string>();
    for (let i = 0; i < 4; i += 1) seen.add((await get(port)).backend);
    expect([...seen].sort()).toEqual(['a', 'b']);

    writeFileSync(file, configText(`127.0.0.1:${port}`, admin, [a.address], ['timeouts: { connectMs: -1 }']));
    const refused = await runCli(['reload', '--admin', admin], 15_000, { LB_ADMIN_TOKEN: token });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      `lb-native: reload refused; the running configuration is unchanged:\n  ${file}:7: timeouts.connectMs: expected an integer from 1 to 2147483647, got -1\n`,
    );
    expect(cli.logsOf('reload-refused')).toHaveLength(1);

    const badToken = await runCli(['reload', '--admin', admin, '--token', 'wrong']);
    expect(badToken).toMatchObject({ code: 1, stderr: 'lb-native: reload failed: invalid token\n' });

    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
    expect(cli.stdout).not.toContain(token);
  });

  it('POST /reload applies a listener move, and refuses an admin change', async () => {
    const a = await startHttpBackend('a');
    const file = join(dir, 'post.yaml');
    const port = await freePort();
    const admin = `127.0.0.1:${await freePort()}`;
    writeFileSync(file, configText(`127.0.0.1:${port}`, admin, [a.address]));
    const cli = new CliProcess(['start', '--config', file], { LB_TEST_ADMIN_TOKEN: token });
    await cli.waitForLog('admin-listening');

    const moved = await freePort();
    writeFileSync(file, configText(`127.0.0.1:${moved}`, admin, [a.address]));
    expect(await postReload(admin)).toEqual({
      status: 200,
      body: { ok: true, changes: [`listen: 127.0.0.1:${port} -> 127.0.0.1:${moved}`] },
    });
    expect((await get(moved)).backend).toBe('a');
    await oldPortReleased(port);
    expect(await cli.waitForLog('listening', (l) => l.port === moved)).toMatchObject({ address: `127.0.0.1:${moved}` });

    const otherAdmin = `127.0.0.1:${await freePort()}`;
    writeFileSync(file, configText(`127.0.0.1:${moved}`, otherAdmin, [a.address]));
    const refused = await postReload(admin);
    expect(refused.status).toBe(400);
    expect((refused.body.error as { errors: string[] }).errors).toEqual([
      `${file}: admin.listen: cannot change while running (${admin} now, got ${otherAdmin}); restart lb-native to change it`,
    ]);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });
});
