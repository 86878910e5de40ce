// examples/lb.yaml is what scripts/deploy/install.sh installs as /etc/lb-native/lb.yaml:
// it must validate, and the sections it says show the defaults must show them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { loadConfigFile, parseConfigText } from '../../src/config/file.js';
import { defaults } from '../../src/config/defaults.js';
import { validateOptions } from '../../src/config/schema.js';
import { balancerConfigWith, settingsFrom } from '../../src/service/settings.js';

const root = join(import.meta.dirname, '..', '..');
const example = join(root, 'examples', 'lb.yaml');

describe('examples/lb.yaml', () => {
  it('validates, and gives the balancer valid options', async () => {
    const loaded = await loadConfigFile(example, { env: {} });
    expect(loaded.config.backends?.map((b) => b.address.text)).toEqual(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']);
    expect(loaded.config.admin).toEqual({ listen: '127.0.0.1:9100' });
    const options = balancerConfigWith(settingsFrom(loaded), []);
    const { admin: _admin, logging: _logging, ...shared } = loaded.raw;
    expect(options).toEqual(validateOptions(shared));
    expect(options.mode).toBe('http');
    expect(options.accessLogSampleRate).toBe(0);
  });

  it('shows the defaults in the sections it says do', async () => {
    const { config } = await loadConfigFile(example, { env: {} });
    expect(config.timeouts).toEqual(defaults.timeouts);
    expect(config.limits).toEqual(defaults.limits);
    expect(config.pool).toEqual(defaults.pool);
    expect(config.outlierDetection).toEqual(defaults.outlierDetection);
    expect(config.retries).toEqual(defaults.retries);
    expect(config.forwarded).toEqual(defaults.forwarded);
    expect(config.headers).toEqual(defaults.headers);
    expect(config.healthCheck).toEqual(defaults.healthCheck);
  });

  it("the README's example validates too", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /### A configuration file[^]*?```yaml\n([^]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const { config } = parseConfigText('README.md', block!, { env: { LB_ADMIN_TOKEN: 'abc' } });
    expect(config.backends?.map((b) => [b.address.text, b.weight])).toEqual([
      ['10.0.0.5:8080', 1],
      ['10.0.0.6:8080', 3],
    ]);
    expect(config.logging?.access?.sampleRate).toBe(0.01);
  });

  it('is the file the systemd unit and the install script use', () => {
    const unit = readFileSync(join(root, 'scripts', 'deploy', 'lb-native.service'), 'utf8');
    expect(unit).toContain('lb-native validate /etc/lb-native/lb.yaml');
    expect(unit).toContain('lb-native start --config /etc/lb-native/lb.yaml');
    const install = readFileSync(join(root, 'scripts', 'deploy', 'install.sh'), 'utf8');
    expect(install).toContain('examples/lb.yaml');
  });
});
