// Issue 16: `kill -HUP $(pidof lb-native)`, as the README says, signalled nothing: the
// process was named `node`. `lb-native start` names itself lb-native (comm and cmdline),
// so pidof finds it; the PID it finds takes SIGHUP as a reload.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { externalProgramEnv } from '../helpers/external-env.js';
import { runCleanups } from '../helpers/cleanup.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, startArgs } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

describe('the lb-native process', () => {
  it('is named lb-native, and pidof lb-native finds it', async () => {
    const a = await startHttpBackend('a');
    const cli = new CliProcess(startArgs(a.address));
    await cli.waitForLog('listening');
    const pid = cli.child.pid!;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8')).toBe('lb-native\n');
    // Other lb-native processes (other test files) may be running: ours is among those found.
    const found = spawnSync('pidof', ['lb-native'], { encoding: 'utf8', env: externalProgramEnv() });
    expect(found.status).toBe(0);
    expect(found.stdout.trim().split(/\s+/).map(Number)).toContain(pid);
    cli.signal('SIGHUP');
    await cli.waitForLog('reload-requested');
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });
});
