// `discovery` in a configuration file: the balancer starts with what DNS (dnsmasq) or etcd
// (a real etcd) says, follows it, and a reload re-applies the section: kept as it is, a
// new source restarted, or turned off. Everything on loopback; daemons stopped by PID.
import { Etcd3 } from 'etcd3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { configFiles } from '../helpers/config-files.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';
import { CliProcess, ensureBuilt, killSpawnedAfterEach, runCli } from '../helpers/cli.js';
import { backendsSeen, startBackendsOnePort, startDnsmasq, startEtcd, startNamedBackend } from '../discovery/support.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const { write } = configFiles('lb-reload-discovery-');

/** Sends SIGHUP and waits for the next reload line. */
async function reload(cli: CliProcess): Promise<Record<string, unknown>> {
  const before = cli.logsOf('reload-applied').length + cli.logsOf('reload-refused').length;
  cli.signal('SIGHUP');
  const line = await waitUntil(
    'a reload line',
    () => cli.logs().filter((l) => l.msg === 'reload-applied' || l.msg === 'reload-refused')[before],
    {
      timeoutMs: 10_000,
    },
  );
  if (!line) throw new Error('no reload line');
  return line;
}

describe('discovery.dns in the configuration file', () => {
  it('starts with the resolved backends, follows DNS, and a reload keeps, restarts or stops it', async () => {
    const [two, three] = await startBackendsOnePort(['127.0.0.2', '127.0.0.3']);
    const fixed = await startNamedBackend('127.0.0.1', 'fixed');
    const dns = await startDnsmasq(['127.0.0.2 api.test', '127.0.0.3 other.test']);
    const port = two!.port;
    const dnsSection = (name: string) => [
      'discovery:',
      '  dns:',
      `    name: ${name}`,
      '    type: A',
      `    port: ${port}`,
      `    resolver: "${dns.resolver}"`,
      '    minTtlMs: 100',
      '    maxTtlMs: 300',
    ];
    const file = write('dns.yaml', ['listen: 127.0.0.1:0', 'workers: 1', ...dnsSection('api.test')]);
    const cli = new CliProcess(['start', '--config', file]);
    const listening = await cli.waitForLog('listening');
    expect(listening).toMatchObject({ backends: 1 });
    const lbPort = Number(listening.port);
    expect(await backendsSeen(lbPort, 3)).toEqual(new Set([two!.name]));

    // DNS changes: followed.
    await dns.setHosts(['127.0.0.2 api.test', '127.0.0.3 api.test', '127.0.0.3 other.test']);
    expect(await cli.waitForLog('discovery-update')).toMatchObject({ source: 'dns', added: [three!.address] });
    expect(await backendsSeen(lbPort, 4)).toEqual(new Set([two!.name, three!.name]));

    // Same discovery, another strategy: the discovered backends stay as they are.
    write('dns.yaml', ['listen: 127.0.0.1:0', 'workers: 1', 'strategy: random', ...dnsSection('api.test')]);
    expect(await reload(cli)).toMatchObject({ msg: 'reload-applied', changes: ['strategy: round-robin -> random'] });

    // Another name: queried first, then discovery restarts on it; what it no longer lists drains away.
    write('dns.yaml', ['listen: 127.0.0.1:0', 'workers: 1', ...dnsSection('other.test')]);
    expect(await reload(cli)).toMatchObject({
      msg: 'reload-applied',
      changes: ['strategy: random -> round-robin', `backend removed (draining): ${two!.address}`, 'discovery: dns (restarted)'],
    });
    expect(await backendsSeen(lbPort, 3)).toEqual(new Set([three!.name]));

    // A name that does not resolve: refused, and discovery goes on as before.
    write('dns.yaml', ['listen: 127.0.0.1:0', 'workers: 1', ...dnsSection('missing.test')]);
    const refused = await reload(cli);
    expect(refused).toMatchObject({ msg: 'reload-refused' });
    expect((refused.errors as string[])[0]).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: discovery\\.dns: cannot get the initial backends: `),
    );
    expect(await backendsSeen(lbPort, 2)).toEqual(new Set([three!.name]));

    // No discovery section any more, a fixed backend instead.
    write('dns.yaml', ['listen: 127.0.0.1:0', 'workers: 1', `backends: [${fixed.address}]`]);
    expect(await reload(cli)).toMatchObject({
      msg: 'reload-applied',
      changes: [`backend added: ${fixed.address}`, `backend removed (draining): ${three!.address}`, 'discovery: off'],
    });
    expect(await backendsSeen(lbPort, 2)).toEqual(new Set(['fixed']));
    await dns.setHosts(['127.0.0.2 api.test', '127.0.0.2 other.test']);
    expect(await backendsSeen(lbPort, 2)).toEqual(new Set(['fixed']));

    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });

  it('refuses to start when discovery finds nothing and the file lists no backend', async () => {
    const dns = await startDnsmasq([]);
    const file = write('empty.yaml', [
      'listen: 127.0.0.1:0',
      'discovery:',
      '  dns:',
      '    name: nothing.test',
      '    type: A',
      '    port: 80',
      `    resolver: "${dns.resolver}"`,
      '    timeoutMs: 200',
      '    tries: 1',
    ]);
    const result = await runCli(['start', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lb-native: .*empty\.yaml:3: discovery\.dns: cannot get the initial backends: .+\n$/);
  });
});

describe('discovery.etcd in the configuration file', () => {
  it('starts with the keys under the prefix, and follows puts', async () => {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint, dialTimeout: 3_000 });
    onCleanup(() => client.close());
    const a = await startNamedBackend('127.0.0.1', 'etcd-a');
    const b = await startNamedBackend('127.0.0.1', 'etcd-b');
    await client.put('/lb/test/a').value(a.address);
    const file = write('etcd.yaml', [
      'listen: 127.0.0.1:0',
      'workers: 1',
      'discovery:',
      '  etcd:',
      `    endpoints: [${etcd.endpoint}]`,
      '    prefix: /lb/test/',
    ]);
    const cli = new CliProcess(['start', '--config', file]);
    const lbPort = Number((await cli.waitForLog('listening')).port);
    expect(await backendsSeen(lbPort, 2)).toEqual(new Set(['etcd-a']));
    await client.put('/lb/test/b').value(JSON.stringify({ address: b.address, weight: 2 }));
    await cli.waitForLog('discovery-update', (l) => (l.added as string[]).includes(b.address));
    expect(await backendsSeen(lbPort, 6)).toEqual(new Set(['etcd-a', 'etcd-b']));
    cli.signal('SIGTERM');
    expect(await cli.waitForExit()).toMatchObject({ code: 0, signal: null });
  });
});
