// The package step of scripts/deploy/install.sh (install-package.sh), run for real on a copy
// of this checkout: it packs the checkout it is run from and installs that tarball
// globally (issue 16: it ran `npm install --global lb-native`, which fetches whatever a
// registry has under that name). The copy's version is marked, so the installed package can
// only have come from it; npm installs into a scratch prefix. Then a consumer imports the
// installed package as docs/deployment-ha.md does (issue 16: discovery was not exported).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { externalProgramEnv } from '../helpers/external-env.js';

const root = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'lb-install-package-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const copy = join(scratch, 'checkout');
const prefix = join(scratch, 'prefix');
const version = `0.0.0-checkout-test.${process.pid}`;
let installOutput = '';

/** The checkout's files as git sees them (tracked and new, not ignored), copied. */
function copyCheckout(): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    env: externalProgramEnv(),
  });
  expect(listed.status, listed.stderr).toBe(0);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(root, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    copyFileSync(join(root, file), join(copy, file));
  }
  // The checkout's `npm install`, which install.sh expects to have been run.
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  const pkg = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')) as { version: string };
  pkg.version = version;
  writeFileSync(join(copy, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
}

beforeAll(() => {
  copyCheckout();
  // Packing builds the TypeScript and the prebuild (a compile): minutes on a busy machine.
  const install = spawnSync('bash', [join(copy, 'scripts', 'deploy', 'install-package.sh')], {
    cwd: scratch,
    encoding: 'utf8',
    env: externalProgramEnv({ npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false' }),
    timeout: 540_000,
  });
  installOutput = `${install.stdout}${install.stderr}`;
  expect(install.status, installOutput).toBe(0);
}, 600_000);

describe('scripts/deploy/install-package.sh', () => {
  it('installs the checkout it is run from, packed with its prebuild, quietly', () => {
    const installed = join(prefix, 'lib', 'node_modules', 'lb-native');
    expect((JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string }).version).toBe(version);
    expect(installOutput).toContain(`install: packing ${copy}`);
    expect(installOutput).not.toMatch(/npm warn/i);
    // The prebuild was packed and used: nothing was compiled on install.
    expect(existsSync(join(installed, 'prebuilds', 'linux-x64'))).toBe(true);
    expect(existsSync(join(installed, 'build'))).toBe(false);
    const cli = spawnSync(join(prefix, 'bin', 'lb-native'), ['--version'], { encoding: 'utf8', env: externalProgramEnv() });
    expect(cli).toMatchObject({ status: 0, stdout: `${version}\n` });
  });

  it('a consumer imports what docs/deployment-ha.md imports, and the admin server and discovery run', () => {
    const docs = readFileSync(join(root, 'docs', 'deployment-ha.md'), 'utf8');
    const imported = [...docs.matchAll(/^import \{([^}]+)\} from 'lb-native';$/gm)].flatMap((m) =>
      m[1]!.split(',').map((name) => name.trim()),
    );
    expect(imported).toEqual(expect.arrayContaining(['createBalancer', 'startDnsDiscovery']));
    expect(docs).not.toMatch(/from '\.\/|from '\.\.\//);

    const app = join(scratch, 'app');
    mkdirSync(join(app, 'node_modules'), { recursive: true });
    writeFileSync(join(app, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
    // As `npm link lb-native` does: the globally installed package.
    symlinkSync(join(prefix, 'lib', 'node_modules', 'lb-native'), join(app, 'node_modules', 'lb-native'));
    writeFileSync(
      join(app, 'consumer.mjs'),
      `
import http from 'node:http';
import dgram from 'node:dgram';
import * as lb from 'lb-native';
import { createBalancer, startDnsDiscovery, startAdminServer, startEtcdDiscovery } from 'lb-native';

const missing = ${JSON.stringify(imported)}.filter((name) => typeof lb[name] !== 'function');
const backend = http.createServer((req, res) => res.end('ok'));
await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
const balancer = await createBalancer({ listen: '127.0.0.1:0', backends: ['127.0.0.1:' + backend.address().port], workers: 1 }).start();
const admin = await startAdminServer(balancer, { listen: '127.0.0.1:0' });
const stats = await (await fetch(admin.url + 'stats')).json();
// A DNS server that never answers: discovery reports the failure and keeps the pool.
const silent = dgram.createSocket('udp4');
await new Promise((resolve) => silent.bind(0, '127.0.0.1', resolve));
const dns = startDnsDiscovery(balancer, { name: 'api.test', type: 'A', port: 8080, resolver: '127.0.0.1:' + silent.address().port, timeoutMs: 100, tries: 1, owns: 'discovered' });
const error = await new Promise((resolve) => dns.on('error', resolve));
await dns.stop();
silent.close();
await admin.close();
await balancer.stop();
backend.close();
console.log(JSON.stringify({ missing, backends: stats.backends.length, source: error.source, etcd: typeof startEtcdDiscovery }));
`,
    );
    const run = spawnSync(process.execPath, ['consumer.mjs'], {
      cwd: app,
      encoding: 'utf8',
      env: externalProgramEnv(),
      timeout: 60_000,
    });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ missing: [], backends: 1, source: 'dns', etcd: 'function' });
  });
});
