// Reloading a running `lb-native start --config` (a real child process) under load: the
// file is rewritten and SIGHUP sent ten times (backends added and removed, weights,
// states, strategies, settings, and one listener move) while eight clients (four
// keep-alive, four opening a new connection per request) send requests back to back.
// Not one request may fail. An invalid file, and changes that cannot apply live, are
// refused and logged while traffic goes on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runCleanups } from '../helpers/cleanup.js';
import { type HttpBackend, startHttpBackend } from '../helpers/http-backend.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, startArgs } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { LoadGenerator, get, oldPortReleased } from './support.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const dir = mkdtempSync(join(tmpdir(), 'lb-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Backend {
  address: string;
  weight?: number;
  state?: string;
}

/** A configuration file's text. */
function config(listen: string, backends: Backend[], extra: string[] = []): string {
  return [
    `listen: ${listen}`,
    'workers: 2',
    'backends:',
    ...backends.flatMap((b) => [
      `  - address: ${b.address}`,
      ...(b.weight ? [`    weight: ${b.weight}`] : []),
      ...(b.state ? [`    state: ${b.state}`] : []),
    ]),
    // Short idle times keep the test's connections moving; retries stay at the default.
    'timeouts: { backendIdleMs: 2000 }',
    ...extra,
    '',
  ].join('\n');
}

/** Writes `text` to `file`, sends SIGHUP, and waits for the next reload-applied or -refused line. */
async function reload(
  cli: CliProcess,
  file: string,
  text: string,
): Promise<{ msg: string; changes?: string[]; errors?: string[] }> {
  writeFileSync(file, text);
  const before = cli.logsOf('reload-applied').length + cli.logsOf('reload-refused').length;
  cli.signal('SIGHUP');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const done = cli.logs().filter((l) => l.msg === 'reload-applied' || l.msg === 'reload-refused');
    if (done.length > before) return done[before] as { msg: string; changes?: string[]; errors?: string[] };
    if (Date.now() > deadline) throw new Error(`no reload line after SIGHUP\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function backends(): Promise<Record<'a' | 'b' | 'c' | 'd', HttpBackend>> {
  const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startHttpBackend(name)));
  return { a: a!, b: b!, c: c!, d: d! };
}

describe('SIGHUP reloads under load', () => {
  it('ten reloads, one of them a listener move: zero failed requests', async () => {
    const { a, b, c, d } = await backends();
    const file = join(dir, 'ten.yaml');
    const port0 = await freePort();
    const listen0 = `127.0.0.1:${port0}`;
    writeFileSync(file, config(listen0, [{ address: a.address }, { address: b.address }]));
    const cli = new CliProcess(['start', '--config', file]);
    const listening = await cli.waitForLog('listening');
    expect(listening).toMatchObject({ address: listen0, workers: 2, backends: 2 });

    const load = new LoadGenerator(port0, { keepAlive: 4, fresh: 4 });
    try {
      await load.waitForRequests(100);
      const steps: Array<{ text: string; expect: string[]; move?: number }> = [];
      const port1 = await freePort();
      const listen1 = `127.0.0.1:${port1}`;
      steps.push(
        {
          text: config(listen0, [{ address: a.address }, { address: b.address }, { address: c.address }]),
          expect: [`backend added: ${c.address}`],
        },
        {
          text: config(
            listen0,
            [{ address: a.address }, { address: b.address, weight: 3 }, { address: c.address }],
            ['strategy: weighted-round-robin'],
          ),
          expect: ['strategy: round-robin -> weighted-round-robin', `backend changed: ${b.address} (weight 1 -> 3)`],
        },
        {
          text: config(
            listen0,
            [{ address: a.address }, { address: b.address, weight: 3 }, { address: c.address }],
            ['strategy: least-connections'],
          ),
          expect: ['strategy: weighted-round-robin -> least-connections'],
        },
        {
          text: config(listen0, [{ address: b.address, weight: 3 }, { address: c.address }], ['strategy: least-connections']),
          expect: [`backend removed (draining): ${a.address}`],
        },
        {
          text: config(
            listen0,
            [{ address: b.address, weight: 3 }, { address: c.address, weight: 2 }, { address: d.address }],
            ['strategy: least-connections'],
          ),
          expect: [`backend added: ${d.address}`, `backend changed: ${c.address} (weight 1 -> 2)`],
        },
        {
          text: config(
            listen0,
            [{ address: b.address, weight: 3 }, { address: c.address, weight: 2 }, { address: d.address }],
            ['strategy: random', 'retries: { budgetPercent: 50 }'],
          ),
          expect: ['strategy: least-connections -> random', 'changed: retries.budgetPercent'],
        },
        {
          text: config(
            listen1,
            [{ address: b.address, weight: 3 }, { address: c.address, weight: 2 }, { address: d.address }],
            ['strategy: random', 'retries: { budgetPercent: 50 }'],
          ),
          expect: [`listen: ${listen0} -> ${listen1}`],
          move: port1,
        },
        {
          text: config(
            listen1,
            [{ address: b.address, weight: 3 }, { address: c.address, weight: 2, state: 'drain' }, { address: d.address }],
            ['strategy: random', 'retries: { budgetPercent: 50 }'],
          ),
          expect: [`backend changed: ${c.address} (state ready -> drain)`],
        },
        {
          text: config(
            listen1,
            [{ address: a.address }, { address: b.address, weight: 3 }, { address: d.address }],
            ['strategy: p2c', 'retries: { budgetPercent: 50 }'],
          ),
          expect: ['strategy: random -> p2c', `backend added: ${a.address}`, `backend removed (draining): ${c.address}`],
        },
        {
          text: config(listen1, [{ address: a.address }, { address: b.address }, { address: d.address }]),
          expect: [
            'strategy: p2c -> round-robin',
            `backend changed: ${b.address} (weight 3 -> 1)`,
            'changed: retries.budgetPercent',
          ],
        },
      );
      for (const step of steps) {
        if (step.move !== undefined) load.holdNewConnections();
        const line = await reload(cli, file, step.text);
        expect(line.msg, JSON.stringify(line)).toBe('reload-applied');
        expect([...(line.changes ?? [])].sort()).toEqual([...step.expect].sort());
        if (step.move !== undefined) {
          expect(await cli.waitForLog('listening', (l) => l.address === listen1)).toMatchObject({ workers: 2 });
          load.moveTo(step.move);
        }
        await load.waitForRequests(150);
      }
      const stats = await load.stop();
      expect(stats.failed, stats.failures.join('\n')).toBe(0);
      expect(stats.ok).toBeGreaterThan(1_500);
      for (const name of ['a', 'b', 'c', 'd']) expect(stats.byBackend[name] ?? 0).toBeGreaterThan(0);
      expect(cli.logsOf('reload-applied')).toHaveLength(10);
      expect(
        cli
          .logsOf('backend-removed')
          .map((l) => l.backend)
          .sort(),
      ).toEqual([a.address, c.address].sort());
      // The old port is let go once its grace period ends; the new one serves a, b and d.
      await oldPortReleased(port0);
      const seen = new Set<string>();
      for (let i = 0; i < 6; i += 1) seen.add((await get(port1)).backend);
      expect([...seen].sort()).toEqual(['a', 'b', 'd']);
    } finally {
      await load.stop();
    }
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  }, 60_000);

  it('refuses an invalid file, and what cannot change live, and logs why; traffic goes on', async () => {
    const { a, b } = await backends();
    const file = join(dir, 'invalid.yaml');
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const good = config(listen, [{ address: a.address }]);
    writeFileSync(file, good);
    const cli = new CliProcess(['start', '--config', file]);
    await cli.waitForLog('listening');
    const load = new LoadGenerator(port, { keepAlive: 2, fresh: 2 });
    try {
      await load.waitForRequests(50);
      const invalid = await reload(cli, file, config(listen, [{ address: a.address }, { address: '127.0.0.1:70000' }]));
      expect(invalid).toMatchObject({
        msg: 'reload-refused',
        level: 'error',
        errors: [`${file}:5: backends[1].address: port must be 1-65535, got 70000`],
      });
      await load.waitForRequests(50);

      const broken = await reload(cli, file, 'backends: [\n');
      expect(broken.msg).toBe('reload-refused');
      expect(broken.errors?.[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: not valid YAML: `));
      await load.waitForRequests(50);

      const live = await reload(
        cli,
        file,
        config(listen, [{ address: b.address }], ['mode: tcp']).replace('workers: 2', 'workers: 1'),
      );
      expect(live).toMatchObject({
        msg: 'reload-refused',
        errors: [
          `${file}:2: workers: cannot change while running (2 running, got 1); restart lb-native to change it`,
          `${file}:6: mode: cannot change while running (running in http mode, got 'tcp'); restart lb-native to change it`,
        ],
      });
      await load.waitForRequests(50);
      // Still the old configuration: only a answers.
      expect(Object.keys(load.stats.byBackend)).toEqual(['a']);

      // A good file afterwards applies.
      const fixed = await reload(cli, file, config(listen, [{ address: b.address }]));
      expect(fixed).toMatchObject({
        msg: 'reload-applied',
        changes: [`backend added: ${b.address}`, `backend removed (draining): ${a.address}`],
      });
      await load.waitForRequests(50);
      const stats = await load.stop();
      expect(stats.failed, stats.failures.join('\n')).toBe(0);
      expect(stats.byBackend.b).toBeGreaterThan(0);
    } finally {
      await load.stop();
    }
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('without --config, SIGHUP is refused (and does not end the process)', async () => {
    const a = await startHttpBackend('a');
    const cli = new CliProcess(startArgs(a.address));
    const { port } = await cli.waitForLog('listening');
    cli.signal('SIGHUP');
    expect(await cli.waitForLog('reload-refused')).toMatchObject({
      errors: ['nothing to reload: lb-native was started without --config'],
    });
    expect((await get(Number(port))).status).toBe(200);
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });
});
