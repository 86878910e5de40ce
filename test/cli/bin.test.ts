// The README's first command runs the balancer with `npx lb-native` from the project: npm
// runs the package's own bin (dist/cli/main.js) through its shebang, so the built file must
// be executable.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPath, ensureBuilt, packageRoot } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the lb-native bin', () => {
  it('is executable and runs through npx in the project', async () => {
    expect(statSync(cliPath).mode & 0o111, `${cliPath} is not executable`).not.toBe(0);
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'npm',
        ['exec', '--offline', '--', 'lb-native', '--version'],
        { cwd: packageRoot, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toContain(version);
  });
});
