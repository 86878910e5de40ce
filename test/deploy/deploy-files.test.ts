// The deployment files in scripts/deploy are real artefacts: the unit must pass systemd's
// own checker, every sysctl key must exist on this kernel and carry a reason, and the
// install script must at least parse.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const deploy = join(import.meta.dirname, '..', '..', 'scripts', 'deploy');

describe('deployment files', () => {
  it('the systemd unit passes systemd-analyze verify and grants only CAP_NET_BIND_SERVICE', () => {
    const unit = readFileSync(join(deploy, 'lb-native.service'), 'utf8');
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
    expect(unit).toMatch(/^LimitNOFILE=\d+$/m);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).not.toMatch(/^User=root$/m);
    // systemd-analyze checks the executables exist: point them at /bin/true for the check.
    const dir = mkdtempSync(join(tmpdir(), 'lb-unit-'));
    const checked = join(dir, 'lb-native.service');
    writeFileSync(checked, unit.replaceAll('/usr/bin/env lb-native', '/bin/true'));
    expect(existsSync('/usr/bin/systemd-analyze'), 'systemd-analyze (Debian package systemd) is required').toBe(true);
    const result = spawnSync('systemd-analyze', ['verify', checked], { encoding: 'utf8' });
    const complaints = `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((line) => line.includes('lb-native.service') && !line.includes('User=') && !line.includes('Group='));
    expect(complaints, complaints.join('\n')).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('every sysctl setting exists on this kernel and has a comment saying why', () => {
    const lines = readFileSync(join(deploy, '99-lb-native.conf'), 'utf8').split('\n');
    const settings = lines
      .map((line, index) => ({ line, index }))
      .filter(({ line }) => /^[a-z]/.test(line));
    expect(settings.length).toBeGreaterThanOrEqual(6);
    for (const { line, index } of settings) {
      const key = line.split('=')[0]!.trim();
      expect(existsSync(join('/proc/sys', ...key.split('.'))), `${key} is not a sysctl here`).toBe(true);
      expect(lines[index - 1], `${key} needs a comment line above it`).toMatch(/^# /);
    }
    const keys = settings.map(({ line }) => line.split('=')[0]!.trim());
    for (const required of ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.ip_local_port_range',
      'net.ipv4.tcp_tw_reuse', 'net.core.netdev_max_backlog']) {
      expect(keys).toContain(required);
    }
  });

  it('the install script parses and refuses to run without root', () => {
    execFileSync('bash', ['-n', join(deploy, 'install.sh')]);
    if (process.getuid?.() === 0) {
      // As root it would really install: only the syntax is checked here.
      return;
    }
    const result = spawnSync('bash', [join(deploy, 'install.sh')], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('run as root');
  });
});
